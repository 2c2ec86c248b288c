//! Whose socket the announced address is (Linux, from `/proc`). Before trusting a
//! connection the reference host checks that every socket listening on the announced TCP
//! address belongs to the plugin's own process group. With `SO_REUSEPORT`, which grpcio
//! sets by default, two plugins can listen on one fixed port and the kernel hands each new
//! connection to either of them, so a call meant for one plugin (even its Shutdown) could
//! reach the other. go-plugin does not check this (the README's departures table): the
//! harness starts many copies of one bundle at once, where it matters.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// `st` of a listening socket in `/proc/net/tcp*` (`TCP_LISTEN`).
const TCP_LISTEN: u8 = 0x0A;

/// One row of `/proc/net/tcp` or `/proc/net/tcp6`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SocketRow {
    local: SocketAddr,
    state: u8,
    inode: u64,
}

/// An address as the kernel prints it: each 32-bit word in hex, in the machine's order.
fn parse_ip(hex: &str) -> Option<IpAddr> {
    let word = |i: usize| -> Option<[u8; 4]> {
        Some(
            u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16)
                .ok()?
                .to_ne_bytes(),
        )
    };
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(0)?))),
        32 => {
            let mut octets = [0u8; 16];
            for i in 0..4 {
                octets[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(octets)))
        }
        _ => None,
    }
}

fn parse_row(line: &str) -> Option<SocketRow> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (ip, port) = fields.get(1)?.split_once(':')?;
    Some(SocketRow {
        local: SocketAddr::new(parse_ip(ip)?, u16::from_str_radix(port, 16).ok()?),
        state: u8::from_str_radix(fields.get(3)?, 16).ok()?,
        inode: fields.get(9)?.parse().ok()?,
    })
}

fn rows() -> Vec<SocketRow> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .flat_map(|text| {
            text.lines()
                .skip(1)
                .filter_map(parse_row)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The inodes of the sockets that take connections to `addr`: those listening on exactly
/// its address and port, or, when there is none, on the wildcard address and its port.
fn listening(addr: SocketAddr, rows: &[SocketRow]) -> Vec<u64> {
    let listening: Vec<&SocketRow> = rows
        .iter()
        .filter(|r| r.state == TCP_LISTEN && r.local.port() == addr.port())
        .collect();
    let exact: Vec<u64> = listening
        .iter()
        .filter(|r| r.local.ip().to_canonical() == addr.ip().to_canonical())
        .map(|r| r.inode)
        .collect();
    if !exact.is_empty() {
        return exact;
    }
    listening
        .iter()
        .filter(|r| r.local.ip().is_unspecified())
        .map(|r| r.inode)
        .collect()
}

fn pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The process group of `pid` (field 5 of `/proc/PID/stat`).
fn pgid_of(pid: u32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(2)?.parse().ok()
}

/// The socket inodes `pid` holds open (empty when its descriptors cannot be read).
fn socket_inodes(pid: u32) -> BTreeSet<u64> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return BTreeSet::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|target| {
            target
                .to_str()?
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect()
}

fn describe(pid: u32) -> String {
    let command = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| {
            raw.split(|b| *b == 0)
                .filter(|part| !part.is_empty())
                .map(|part| String::from_utf8_lossy(part).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let group = pgid_of(pid).map_or(String::new(), |g| format!(", process group {g}"));
    format!("pid {pid} ({command}{group})")
}

/// How long a foreign listener may take to go before it counts: a plugin killed a moment
/// ago (another case's copy, ended by SIGKILL) still holds its socket while it exits.
const SETTLE: Duration = Duration::from_secs(1);
const SETTLE_POLL: Duration = Duration::from_millis(20);

/// The listeners of `addr` outside process group `pgid`, each described (owner's pid,
/// command line and group, or that it could not be inspected), once they have been there
/// for [`SETTLE`]. Empty when every listener is the group's, and when nothing is found
/// listening (the dial then diagnoses it), or off Linux.
pub(crate) async fn foreign_listeners(addr: SocketAddr, pgid: i32) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let found = foreign_listeners_now(addr, pgid);
        if found.is_empty() || tokio::time::Instant::now() >= deadline {
            return found;
        }
        tokio::time::sleep(SETTLE_POLL).await;
    }
}

/// [`foreign_listeners`] as `/proc` shows them now.
fn foreign_listeners_now(addr: SocketAddr, pgid: i32) -> Vec<String> {
    let inodes = listening(addr, &rows());
    if inodes.is_empty() {
        return Vec::new();
    }
    // The group's leader (the plugin the host spawned) usually holds them all: no scan.
    let leader = u32::try_from(pgid)
        .ok()
        .map(socket_inodes)
        .unwrap_or_default();
    if inodes.iter().all(|i| leader.contains(i)) {
        return Vec::new();
    }
    let all = pids();
    let ours: BTreeSet<u64> = all
        .iter()
        .filter(|pid| pgid_of(**pid) == Some(pgid))
        .flat_map(|pid| socket_inodes(*pid))
        .collect();
    let foreign: Vec<u64> = inodes.into_iter().filter(|i| !ours.contains(i)).collect();
    if foreign.is_empty() {
        return Vec::new();
    }
    let mut owners: Vec<String> = Vec::new();
    for inode in &foreign {
        let owner = all
            .iter()
            .find(|pid| socket_inodes(**pid).contains(inode))
            .map_or_else(
                || format!("socket {inode}, held by a process this user cannot inspect"),
                |pid| describe(*pid),
            );
        if !owners.contains(&owner) {
            owners.push(owner);
        }
    }
    owners
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_rows_parse_in_the_machines_word_order() {
        // 127.0.0.1:1234 listening, as a little-endian kernel prints it.
        let v4 = "   0: 0100007F:04D2 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0";
        let row = parse_row(v4).unwrap();
        if cfg!(target_endian = "little") {
            assert_eq!(row.local, "127.0.0.1:1234".parse().unwrap());
        }
        assert_eq!((row.state, row.inode), (TCP_LISTEN, 4242));
        let v6 = "   1: 00000000000000000000000000000000:04D2 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 77 1 0000000000000000 100 0 0 10 0";
        assert_eq!(parse_row(v6).unwrap().local, "[::]:1234".parse().unwrap());
        assert_eq!(parse_row("garbage"), None);
    }

    #[test]
    fn exact_listeners_take_the_connection_before_wildcard_ones() {
        let row = |local: &str, inode| SocketRow {
            local: local.parse().unwrap(),
            state: TCP_LISTEN,
            inode,
        };
        let rows = [
            row("0.0.0.0:1234", 1),
            row("127.0.0.1:1234", 2),
            row("127.0.0.1:1234", 3),
            row("127.0.0.1:999", 4),
        ];
        let addr = "127.0.0.1:1234".parse().unwrap();
        assert_eq!(listening(addr, &rows), [2, 3]);
        assert_eq!(listening(addr, &rows[..1]), [1]);
        assert!(listening("127.0.0.1:5".parse().unwrap(), &rows).is_empty());
    }

    #[test]
    fn a_listener_of_this_process_is_ours_and_foreign_to_another_group() {
        if !std::path::Path::new("/proc/net/tcp").exists() {
            return;
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let own = pgid_of(std::process::id()).unwrap();
        assert_eq!(foreign_listeners_now(addr, own), Vec::<String>::new());
        let other = foreign_listeners_now(addr, own + 1);
        assert_eq!(other.len(), 1, "{other:?}");
        assert!(
            other[0].starts_with(&format!("pid {} (", std::process::id())),
            "{other:?}"
        );
        drop(listener);
        assert_eq!(foreign_listeners_now(addr, own + 1), Vec::<String>::new());
    }
}
