//! Fuzzing the handshake parser beyond the unit properties in `src/handshake.rs` (which
//! feed it printable lines of at most 300 characters and at most 9 printable fields):
//! * arbitrary bytes made into the first stdout line as the launcher does (up to the first
//!   `\n`, a trailing `\r` dropped, `String::from_utf8_lossy`), under arbitrary host
//!   expectations: no panic; a refusal has a known kind and a message that cites go-plugin
//!   and quotes the offending field; an accepted line is consistent with its fields and
//!   survives `to_line` → `parse` unchanged;
//! * lines of up to 1 MiB and up to 5000 fields: extra fields are ignored, a huge field is
//!   refused with the right kind;
//! * the version and port fields against Go's `strconv.Atoi` and the port range.
//!
//! `PROPTEST_CASES` overrides the case counts (by default 2048 arbitrary lines, 64 long
//! lines, 512 number fields).

use conformance_core::handshake::{Address, Handshake, HostExpectations, Network, Protocol, parse};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// `default` cases, or `PROPTEST_CASES`.
fn config(default: u32) -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
        failure_persistence: None,
        ..Config::default()
    }
}

const KINDS: &[&str] = &[
    "unrecognized",
    "core-version-not-integer",
    "core-version-mismatch",
    "app-version-not-integer",
    "app-version-not-offered",
    "unknown-network",
    "bad-tcp-address",
    "empty-unix-path",
    "missing-protocol",
    "unsupported-protocol",
    "unexpected-server-cert",
    "bad-server-cert",
    "multiplex-not-supported",
    "multiplex-not-bool",
];

fn host() -> impl Strategy<Value = HostExpectations> {
    let protocols = prop_oneof![
        3 => Just(vec![Protocol::Grpc]),
        2 => Just(vec![Protocol::Grpc, Protocol::NetRpc]),
        1 => Just(vec![Protocol::NetRpc]),
        1 => Just(vec![]),
    ];
    let app_versions = prop_oneof![3 => Just(vec![1]), 1 => vec(-2i64..4, 0..3)];
    (
        any::<bool>(),
        proptest::bool::weighted(0.3),
        app_versions,
        protocols,
    )
        .prop_map(
            |(tls, multiplex, app_versions, allowed_protocols)| HostExpectations {
                app_versions,
                allowed_protocols,
                tls,
                multiplex,
                ..HostExpectations::default()
            },
        )
}

/// Bytes biased towards handshake material: separators, digits, keywords, line ends and
/// invalid UTF-8.
fn line_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        4 => proptest::sample::select(vec![
            "|", "|", "|", "1", "1", "2", "0", "-", "+", "tcp", "unix", "grpc", "netrpc",
            "127.0.0.1", ":", "[", "]", "::1", "1234", "65536", "/tmp/s", " ", "\t", "\r",
            "\n", "true", "false", "MIIB", "=",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => vec(any::<u8>(), 1..8),
        1 => proptest::sample::select(vec![
            vec![0xFFu8], vec![0xC3], vec![0xE2, 0x82], vec![0xED, 0xA0, 0x80], vec![0],
            "é".as_bytes().to_vec(), "\u{2028}".as_bytes().to_vec(), "\u{a0}".as_bytes().to_vec(),
        ]),
    ];
    // A well-formed line, then a few edits.
    let cert = format!("MII{}", "B".repeat(70));
    let valid = (
        proptest::sample::select(vec!["tcp|127.0.0.1:1234", "tcp|[::1]:80", "unix|/tmp/plug"]),
        proptest::sample::select(vec!["|grpc", "|netrpc", ""]),
        proptest::sample::select(vec![
            "",
            "|",
            "|short",
            "|!!!not-base64-but-long-enough-to-be-read-as-a-certificate!!!",
        ]),
        proptest::sample::select(vec!["", "|true", "|false", "|x"]),
        any::<bool>(),
    )
        .prop_map(move |(address, protocol, cert_field, mux, good_cert)| {
            let cert_field = if good_cert && !cert_field.is_empty() {
                format!("|{cert}")
            } else {
                cert_field.to_string()
            };
            let cert_field = if mux.is_empty() || !cert_field.is_empty() {
                cert_field
            } else {
                "|".to_string()
            };
            format!("1|1|{address}{protocol}{cert_field}{mux}").into_bytes()
        });
    let edits = vec(
        (any::<proptest::sample::Index>(), 0u8..3, token.clone()),
        0..2,
    );
    let edited = (valid, edits).prop_map(|(mut line, edits)| {
        for (at, how, token) in edits {
            let i = at.index(line.len() + 1);
            match how {
                0 => {
                    line.splice(i..i, token);
                }
                1 if i < line.len() => {
                    line.remove(i);
                }
                _ => line
                    .splice(i..(i + 1).min(line.len()), token)
                    .for_each(drop),
            }
        }
        line
    });
    prop_oneof![
        4 => edited,
        1 => vec(token, 0..60).prop_map(|t| t.concat()),
        1 => vec(any::<u8>(), 0..2048),
    ]
}

/// The launcher's first line: up to the first `\n`, without a trailing `\r`, lossily decoded.
fn first_line(bytes: &[u8]) -> String {
    let mut line = match bytes.iter().position(|&b| b == b'\n') {
        Some(pos) => &bytes[..pos],
        None => bytes,
    };
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    String::from_utf8_lossy(line).into_owned()
}

fn same_but_field_count(a: &Handshake, b: &Handshake) -> bool {
    Handshake {
        field_count: 0,
        ..a.clone()
    } == Handshake {
        field_count: 0,
        ..b.clone()
    }
}

/// Parses `line` and checks the properties every outcome must have.
fn check(line: &str, host: &HostExpectations) -> Result<Option<Handshake>, TestCaseError> {
    let result = std::panic::catch_unwind(|| parse(line, host))
        .map_err(|_| TestCaseError::fail(format!("parse panicked on {line:?}")))?;
    let fields: Vec<&str> = line.trim().split('|').collect();
    match result {
        Err(e) => {
            let message = e.to_string();
            prop_assert!(KINDS.contains(&e.kind()), "unknown kind {}", e.kind());
            prop_assert!(
                message.contains("go-plugin") && message.len() > 40,
                "the {} message does not say what go-plugin does: {}",
                e.kind(),
                message
            );
            // A field the message is about is quoted in it.
            let quoted = match e.kind() {
                "core-version-not-integer" => Some(fields[0]),
                "app-version-not-integer" => Some(fields[1]),
                "unknown-network" => Some(fields[2]),
                "unsupported-protocol" if fields.len() > 4 => Some(fields[4]),
                "bad-tcp-address" => Some(fields[3]),
                "multiplex-not-bool" => Some(fields[6]),
                _ => None,
            };
            if let Some(field) = quoted {
                prop_assert!(
                    message.contains(&format!("{field:?}")),
                    "the {} message does not quote {:?}: {}",
                    e.kind(),
                    field,
                    message
                );
            }
            Ok(None)
        }
        Ok(h) => {
            prop_assert_eq!(h.field_count, fields.len());
            prop_assert_eq!(h.core_version, host.core_version);
            prop_assert!(host.app_versions.contains(&h.app_version));
            prop_assert!(host.allowed_protocols.contains(&h.protocol));
            prop_assert_eq!(h.network.as_str(), fields[2]);
            match &h.address {
                Address::Unix(path) => prop_assert_eq!(path.as_str(), fields[3]),
                Address::Tcp { port, .. } => prop_assert_eq!(
                    fields[3].rsplit_once(':').map(|(_, p)| p.parse::<u16>()),
                    Some(Ok(*port))
                ),
            }
            prop_assert_eq!(h.multiplex.is_some(), host.multiplex);
            prop_assert!(h.server_cert.is_none() || host.tls);
            // What the host accepted, printed back, is accepted as the same handshake.
            let again = parse(&h.to_line(), host)
                .map_err(|e| TestCaseError::fail(format!("{:?} re-parsed: {e}", h.to_line())))?;
            prop_assert!(
                same_but_field_count(&h, &again),
                "{:?} → {:?} → {:?}",
                line,
                h,
                again
            );
            Ok(Some(h))
        }
    }
}

#[test]
fn arbitrary_bytes_as_the_first_line() {
    let mut runner = TestRunner::new(config(2048));
    let accepted = std::cell::Cell::new(0usize);
    runner
        .run(&(line_bytes(), host()), |(bytes, host)| {
            let outcome = check(&first_line(&bytes), &host)?;
            accepted.set(accepted.get() + usize::from(outcome.is_some()));
            Ok(())
        })
        .unwrap();
    eprintln!(
        "accepted {} of {} lines",
        accepted.get(),
        runner.config().cases
    );
    // Enough lines are accepted for the accepted-line properties to be exercised.
    assert!(
        accepted.get() * 50 >= runner.config().cases as usize,
        "{}",
        accepted.get()
    );
}

/// A valid line with one field replaced by something long or with many extra fields.
#[test]
fn long_lines_and_many_fields() {
    let huge = prop_oneof![
        (1usize..1 << 20).prop_map(|n| "9".repeat(n)),
        (1usize..1 << 20).prop_map(|n| "é|".repeat(n / 3)),
        (1usize..1 << 16).prop_map(|n| "\u{fffd}".repeat(n)),
        (51usize..1 << 18).prop_map(|n| "A".repeat(n)),
    ];
    let strategy = (0usize..9, huge, 0usize..5000, any::<bool>(), any::<bool>());
    let mut runner = TestRunner::new(config(64));
    runner
        .run(&strategy, |(position, huge, extra, tls, multiplex)| {
            let host = HostExpectations {
                tls,
                multiplex,
                ..HostExpectations::default()
            };
            let mut fields: Vec<String> = ["1", "1", "tcp", "127.0.0.1:1234", "grpc", "", "true"]
                .map(String::from)
                .to_vec();
            fields.extend((0..extra).map(|i| format!("x{i}")));
            let at = position.min(fields.len() - 1);
            fields[at] = huge.clone();
            let line = fields.join("|");
            let outcome = check(&line, &host)?;
            // Only the first seven fields are looked at; a replaced one decides the outcome.
            let expected_kind = match (at, huge.contains('|')) {
                (_, true) if at < 7 => None, // the field split in several: any diagnosis
                (0, _) if atoi(&huge).is_some() => Some("core-version-mismatch"),
                (0, _) => Some("core-version-not-integer"),
                (1, _) if atoi(&huge).is_some() => Some("app-version-not-offered"),
                (1, _) => Some("app-version-not-integer"),
                (2, _) => Some("unknown-network"),
                (3, _) => Some("bad-tcp-address"),
                (4, _) => Some("unsupported-protocol"),
                (5, _) if huge.len() <= 50 => Some("ok"),
                (5, _) if !tls => Some("unexpected-server-cert"),
                (5, _) => Some("bad-server-cert"),
                (6, _) if multiplex => Some("multiplex-not-bool"),
                _ => Some("ok"),
            };
            if let Some(kind) = expected_kind {
                let got = match parse(&line, &host) {
                    Ok(_) => "ok",
                    Err(e) => e.kind(),
                };
                prop_assert_eq!(got, kind, "field {} of {} replaced", at, fields.len());
            }
            if let Some(h) = outcome {
                prop_assert_eq!(h.field_count, fields.len() + huge.matches('|').count());
            }
            Ok(())
        })
        .unwrap();
}

/// Go's `strconv.Atoi` on a 64-bit host: an optional sign, ASCII digits, in range.
fn atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[test]
fn version_and_port_fields_follow_go() {
    let number = prop_oneof![
        "[+-]{0,2}[0-9]{0,22}",
        proptest::sample::select(vec![
            "1",
            "+1",
            "-1",
            "01",
            "1 ",
            " 1",
            "１",
            "٣",
            "1e0",
            "0x1",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
        ])
        .prop_map(String::from),
    ];
    let port = prop_oneof![
        "[0-9]{0,7}",
        proptest::sample::select(vec!["+80", "-1", "0x50", "８０", "http", "65535", "65536"])
            .prop_map(String::from),
    ];
    let strategy = (number.clone(), number, port);
    let mut runner = TestRunner::new(config(512));
    runner
        .run(&strategy, |(core, app, port)| {
            let host = HostExpectations::default();
            let line = format!("{core}|{app}|tcp|127.0.0.1:{port}|grpc");
            check(&line, &host)?;
            let got = match parse(&line, &host) {
                Ok(_) => "ok",
                Err(e) => e.kind(),
            };
            // The line is trimmed as a whole, so only the first and last field lose spaces.
            let core_value = atoi(core.trim_start());
            let port_ok = !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u16>().is_ok();
            let expected = match (core_value, atoi(&app)) {
                (None, _) => "core-version-not-integer",
                (Some(c), _) if c != 1 => "core-version-mismatch",
                (_, None) => "app-version-not-integer",
                (_, Some(a)) if a != 1 => "app-version-not-offered",
                _ if !port_ok => "bad-tcp-address",
                _ => "ok",
            };
            prop_assert_eq!(got, expected, "{:?}", line);
            if let Ok(h) = parse(&line, &host) {
                prop_assert_eq!(h.network, Network::Tcp);
                prop_assert_eq!(
                    h.address,
                    Address::Tcp {
                        host: "127.0.0.1".into(),
                        port: port.parse().unwrap()
                    }
                );
            }
            Ok(())
        })
        .unwrap();
}
