//! Security: what the reference host exposes and what it dials.
//!
//! * Its own servers (PluginAPI, ServeHTTP bridge) listen on loopback by default.
//! * It dials only loopback addresses and Unix sockets inside the directory it made for the
//!   plugin (`PLUGIN_UNIX_SOCKET_DIR`); anything else is refused before any connection,
//!   which the fake plugin proves by recording every connection it accepts.
//! * Optional AutoMTLS (SPEC §8.6), off by default as in Mattermost: host and fake
//!   plugin each pin the other's one-off certificate.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use conformance_core::fixtures::{Bundle, BundleBuilder, FakeMode};
use conformance_core::handshake::Address;
use conformance_core::observe::Observed;
use conformance_core::runner::{Case, Ctx, Level, Subject};
use conformance_core::supervisor::mtls::{self, Client, Identity};
use conformance_core::supervisor::{HealthOutcome, HostConfig, LaunchFailure, RunningPlugin};
use serde_json::Value as Json;

use crate::support::{
    check_failed_start_cleanup, observed, shutdown_checked, start_fake, start_ok, wait_for,
};

/// Where the fake records its connections (option `connections`), made absolute.
pub(crate) fn connections_file(ctx: &Ctx, name: &str) -> PathBuf {
    let path = ctx.scratch.join(name);
    std::path::absolute(&path).unwrap_or(path)
}

/// The fake's connection events (`announced`, `accepted`, `tls-accepted`, `tls-refused`).
pub(crate) fn connection_events(path: &Path) -> Vec<Json> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The events of one kind, as `peer detail` strings.
pub(crate) fn events_of(path: &Path, event: &str) -> Vec<String> {
    connection_events(path)
        .iter()
        .filter(|e| e["event"] == event)
        .map(|e| {
            format!(
                "{} {}",
                e["peer"].as_str().unwrap_or(""),
                e["detail"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// What the fake saw in its environment at start.
fn started_env(bundle: &Bundle, key: &str) -> Option<String> {
    observed(bundle, |e| match e {
        Observed::Started { env, .. } => Some(env.get(key).cloned()),
        _ => None,
    })
    .into_iter()
    .next()
    .flatten()
}

/// Deadline of one probe by a client other than the host.
const PROBE: Duration = Duration::from_secs(5);

fn auto_mtls() -> HostConfig {
    HostConfig {
        auto_mtls: true,
        ..HostConfig::default()
    }
}

/// Checks a start the host had to refuse with `kind`, before connecting to anything.
fn check_refused_without_connecting(
    ctx: &Ctx,
    started: Result<RunningPlugin, LaunchFailure>,
    kind: &str,
    fragments: &[&str],
) -> Option<LaunchFailure> {
    match started {
        Ok(plugin) => {
            ctx.check(
                "start refused",
                format!("refused with {kind}"),
                format!("started with handshake {:?}", plugin.handshake_line),
                false,
            );
            // Dropping the plugin kills its process group.
            drop(plugin);
            None
        }
        Err(failure) => {
            ctx.eq("diagnosis", kind, failure.error.kind());
            for fragment in fragments {
                ctx.contains("message", &failure.to_string(), fragment);
            }
            let names = failure.timeline.names();
            ctx.check(
                "refusal recorded in the timeline",
                "handshake_refused, start_failed, no connected",
                format!("{names:?}"),
                names.contains(&"handshake_refused")
                    && names.contains(&"start_failed")
                    && !names.contains(&"connected"),
            );
            let refused_kind = failure
                .timeline
                .entries()
                .into_iter()
                .find_map(|e| match e.step {
                    conformance_core::supervisor::Step::HandshakeRefused { kind, .. } => Some(kind),
                    _ => None,
                });
            ctx.eq(
                "refusal kind on the timeline",
                Some(kind.to_string()),
                refused_kind,
            );
            Some(failure)
        }
    }
}

fn loopback_cases() -> Vec<Case> {
    vec![Case::new(
        "security/loopback/default-listen-addresses",
        Level::Must,
        "SPEC §6 (MATTERMOST_PLUGIN_API_TARGET), §13 (loopback unless told otherwise)",
        "by default the PluginAPI server and the ServeHTTP bridge listen on loopback, and the plugin is told a loopback API address",
        |ctx| async move {
            let config = HostConfig::default();
            ctx.check(
                "default PluginAPI listen address",
                "loopback",
                config.api_listen,
                config.api_listen.ip().is_loopback(),
            );
            let (bundle, plugin) =
                start_ok(&ctx, BundleBuilder::new(FakeMode::Healthy), config).await?;
            ctx.check(
                "PluginAPI server address",
                "loopback",
                plugin.api_address,
                plugin.api_address.ip().is_loopback(),
            );
            let target = started_env(&bundle, "MATTERMOST_PLUGIN_API_TARGET").unwrap_or_default();
            ctx.check(
                "MATTERMOST_PLUGIN_API_TARGET the plugin got",
                "a loopback address",
                &target,
                target
                    .parse::<SocketAddr>()
                    .is_ok_and(|a| a.ip().is_loopback()),
            );
            match plugin.start_http_bridge().await {
                Ok(bridge) => {
                    ctx.check(
                        "ServeHTTP bridge address",
                        "loopback",
                        bridge.address(),
                        bridge.address().ip().is_loopback(),
                    );
                }
                Err(e) => {
                    ctx.check("ServeHTTP bridge started", "listening", e, false);
                }
            }
            shutdown_checked(&ctx, plugin).await;
            Ok(())
        },
    )]
}

fn address_cases() -> Vec<Case> {
    let mut out = Vec::new();
    out.push(Case::new(
        "security/address/non-loopback-not-dialed",
        Level::Must,
        "SPEC §4 field 4 (go-plugin dials whatever address is printed)",
        "a plugin announcing a non-loopback address of this machine is refused with a fix, and nothing connects to it; the same fake announcing 127.0.0.1 is dialled (control)",
        |ctx| async move {
            let conns = connections_file(&ctx, "connections.jsonl");
            let builder = BundleBuilder::new(FakeMode::NonLoopbackAddress).option("connections", conns.display());
            let (bundle, started) = start_fake(&ctx, builder, HostConfig::default()).await?;
            let announced = events_of(&conns, "announced");
            ctx.note(format!("announced: {announced:?}"));
            let announced_ip = connection_events(&conns)
                .iter()
                .find(|e| e["event"] == "announced")
                .and_then(|e| e["peer"].as_str().and_then(|p| p.parse::<SocketAddr>().ok()));
            ctx.check(
                "the fake announced a non-loopback address",
                "a non-loopback ip:port",
                format!("{announced_ip:?}"),
                announced_ip.is_some_and(|a| !a.ip().is_loopback()),
            );
            let ip = announced_ip.map(|a| a.ip().to_string()).unwrap_or_default();
            if let Some(failure) = check_refused_without_connecting(
                &ctx,
                started,
                "address-not-loopback",
                &[&ip, "127.0.0.1", "not a loopback address"],
            ) {
                check_failed_start_cleanup(&ctx, &failure, &bundle);
            }
            let accepted = events_of(&conns, "accepted");
            ctx.check("nothing connected to the plugin", "no connection", format!("{accepted:?}"), accepted.is_empty());

            // Control: the same mode announcing loopback is dialled, and that is recorded.
            let control_conns = connections_file(&ctx, "control-connections.jsonl");
            let control = BundleBuilder::new(FakeMode::NonLoopbackAddress)
                .option("announce", "loopback")
                .option("connections", control_conns.display())
                .write(&ctx.scratch.join("control"))
                .map_err(anyhow::Error::msg)?;
            match conformance_core::supervisor::start(&control.dir, HostConfig::default()).await {
                Ok(plugin) => {
                    let seen = wait_for(Duration::from_secs(5), || {
                        let a = events_of(&control_conns, "accepted");
                        (!a.is_empty()).then_some(a)
                    })
                    .await;
                    ctx.check(
                        "control: the loopback announcement was dialled and recorded",
                        "an accepted connection",
                        format!("{seen:?}"),
                        seen.is_some(),
                    );
                    shutdown_checked(&ctx, plugin).await;
                }
                Err(failure) => {
                    ctx.check("control: the loopback announcement started", "started", failure.to_string(), false);
                }
            }
            Ok(())
        },
    ));
    out.push(Case::new(
        "security/address/socket-outside-dir-not-dialed",
        Level::Must,
        "SPEC §4 field 4, §6 (PLUGIN_UNIX_SOCKET_DIR)",
        "a plugin announcing a Unix socket outside the directory the host made for it is refused with a fix, and nothing connects to it",
        |ctx| async move {
            let conns = connections_file(&ctx, "connections.jsonl");
            let builder = BundleBuilder::new(FakeMode::SocketOutsideDir).option("connections", conns.display());
            let (bundle, started) = start_fake(&ctx, builder, HostConfig::default()).await?;
            let announced = events_of(&conns, "announced");
            ctx.check(
                "the fake announced a socket",
                "one announcement",
                format!("{announced:?}"),
                announced.len() == 1,
            );
            if let Some(failure) = check_refused_without_connecting(
                &ctx,
                started,
                "socket-outside-dir",
                &["outside.sock", "PLUGIN_UNIX_SOCKET_DIR"],
            ) {
                check_failed_start_cleanup(&ctx, &failure, &bundle);
            }
            let accepted = events_of(&conns, "accepted");
            ctx.check("nothing connected to the plugin", "no connection", format!("{accepted:?}"), accepted.is_empty());
            Ok(())
        },
    ));
    out.push(Case::new(
        "security/address/socket-dir-offered",
        Level::Must,
        "SPEC §6 (PLUGIN_UNIX_SOCKET_DIR)",
        "the host makes a private directory for the plugin's socket, names it in PLUGIN_UNIX_SOCKET_DIR, dials a socket there, and removes it after shutdown",
        |ctx| async move {
            let (bundle, plugin) = start_ok(&ctx, BundleBuilder::new(FakeMode::UnixSocket), HostConfig::default()).await?;
            let dir = started_env(&bundle, "PLUGIN_UNIX_SOCKET_DIR").unwrap_or_default();
            ctx.check("PLUGIN_UNIX_SOCKET_DIR is an absolute path", "absolute path", &dir, dir.starts_with('/'));
            let mode = std::fs::metadata(&dir).map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777);
            ctx.check(
                "only the host's user may enter it",
                "mode 0700",
                match &mode {
                    Ok(m) => format!("mode {m:o}"),
                    Err(e) => e.to_string(),
                },
                matches!(mode, Ok(m) if m & 0o077 == 0),
            );
            let socket = match &plugin.handshake.address {
                Address::Unix(path) => path.clone(),
                other => other.to_string(),
            };
            ctx.check(
                "the socket lies in it",
                format!("{dir}/..."),
                &socket,
                !dir.is_empty() && Path::new(&socket).starts_with(&dir),
            );
            ctx.eq("ping", HealthOutcome::Serving, plugin.ping().await);
            shutdown_checked(&ctx, plugin).await;
            ctx.check(
                "the directory is removed after shutdown",
                "gone",
                &dir,
                !dir.is_empty() && !Path::new(&dir).exists(),
            );
            Ok(())
        },
    ));
    out
}

fn mtls_cases() -> Vec<Case> {
    let mut out = Vec::new();
    out.push(Case::new(
        "security/auto-mtls/off-by-default",
        Level::Must,
        "SPEC §6 (PLUGIN_CLIENT_CERT: not set by Mattermost), §8.6",
        "without being asked, the host sends no PLUGIN_CLIENT_CERT and dials in the clear, as Mattermost does",
        |ctx| async move {
            ctx.eq("HostConfig::default().auto_mtls", false, HostConfig::default().auto_mtls);
            let (bundle, plugin) = start_ok(&ctx, BundleBuilder::new(FakeMode::Healthy), HostConfig::default()).await?;
            ctx.eq("PLUGIN_CLIENT_CERT", None, started_env(&bundle, mtls::CLIENT_CERT_ENV));
            ctx.eq("ping", HealthOutcome::Serving, plugin.ping().await);
            shutdown_checked(&ctx, plugin).await;
            Ok(())
        },
    ));
    out.push(Case::new(
        "security/auto-mtls/host-connects",
        Level::Must,
        "SPEC §8.6, §6 (PLUGIN_CLIENT_CERT), §4 field 6",
        "with AutoMTLS on, the host sends its certificate as PEM, reads the plugin's from field 6, and health and a hook call work over mutual TLS",
        |ctx| async move {
            let conns = connections_file(&ctx, "connections.jsonl");
            let builder = BundleBuilder::new(FakeMode::AutoMtls).option("connections", conns.display());
            let (bundle, mut plugin) = start_ok(&ctx, builder, auto_mtls()).await?;
            let pem = started_env(&bundle, mtls::CLIENT_CERT_ENV).unwrap_or_default();
            ctx.check(
                "PLUGIN_CLIENT_CERT is a PEM certificate",
                "-----BEGIN CERTIFICATE-----...",
                pem.lines().next().unwrap_or(""),
                mtls::parse_client_pem(&pem).is_ok(),
            );
            ctx.eq("field count", 6, plugin.handshake.field_count);
            ctx.check(
                "server certificate read from field 6",
                "a certificate",
                format!("{:?}", plugin.handshake.server_cert.as_ref().map(String::len)),
                plugin.handshake.server_cert.as_deref().is_some_and(|c| mtls::decode_handshake_field(c).is_ok()),
            );
            ctx.eq("ping over TLS", HealthOutcome::Serving, plugin.ping().await);
            match plugin.activate().await {
                Ok(activation) => {
                    ctx.check("Implemented over TLS", "hooks listed", activation.implemented.len(), !activation.implemented.is_empty());
                    ctx.check("OnActivate over TLS", "answered", activation.on_activate.describe(), matches!(activation.on_activate, conformance_core::supervisor::hooks::HookOutcome::Answered(_)));
                }
                Err(e) => {
                    ctx.check("activation over TLS", "activated", e, false);
                }
            }
            let hook_seen = wait_for(Duration::from_secs(5), || {
                observed(&bundle, |e| matches!(e, Observed::HookCall { hook, .. } if hook == "OnActivate").then_some(()))
                    .into_iter()
                    .next()
            })
            .await;
            ctx.check("the plugin received OnActivate", "OnActivate observed", format!("{hook_seen:?}"), hook_seen.is_some());
            let accepted = events_of(&conns, "tls-accepted");
            let refused = events_of(&conns, "tls-refused");
            ctx.check("the host's connection passed the plugin's TLS check", "tls-accepted", format!("{accepted:?}"), !accepted.is_empty());
            ctx.check("no TLS handshake refused", "none", format!("{refused:?}"), refused.is_empty());
            shutdown_checked(&ctx, plugin).await;
            Ok(())
        },
    ));
    out.push(
        Case::new(
            "security/auto-mtls/plugin-requires-client-cert",
            Level::Must,
            "SPEC §8.6 (RequireAndVerifyClientCert, trusting exactly the host's certificate)",
            "an AutoMTLS plugin refuses clients without the host's certificate: none, another one, or plain HTTP/2",
            |ctx| async move {
                let conns = connections_file(&ctx, "connections.jsonl");
                let builder = BundleBuilder::new(FakeMode::AutoMtls).option("connections", conns.display());
                let (_bundle, plugin) = start_ok(&ctx, builder, auto_mtls()).await?;
                ctx.eq("control: the host's own client is served", HealthOutcome::Serving, plugin.ping().await);
                let cert = plugin.handshake.server_cert.clone().unwrap_or_default();
                let address = plugin.handshake.address.clone();
                let stranger = Identity::generate().map_err(anyhow::Error::msg)?;
                for (label, identity) in [("no client certificate", None), ("another certificate", Some(&stranger))] {
                    let client = Client::Tls { server_cert_field: &cert, identity };
                    let outcome = mtls::health_check_as(&address, client, PROBE).await;
                    ctx.check(&format!("a client with {label} is refused"), "refused", format!("{outcome:?}"), outcome.is_err());
                }
                let plain = mtls::health_check_as(&address, Client::Plain, PROBE).await;
                ctx.check("a plain HTTP/2 client is refused", "refused", format!("{plain:?}"), plain.is_err());
                let refused = wait_for(Duration::from_secs(5), || {
                    let r = events_of(&conns, "tls-refused");
                    (r.len() >= 3).then_some(r)
                })
                .await;
                ctx.check(
                    "the plugin refused the three TLS handshakes",
                    "3 tls-refused",
                    format!("{:?}", refused.clone().unwrap_or_else(|| events_of(&conns, "tls-refused"))),
                    refused.is_some(),
                );
                let accepted = events_of(&conns, "tls-accepted");
                ctx.eq("only the host's connection was accepted", 1, accepted.len());
                shutdown_checked(&ctx, plugin).await;
                Ok(())
            },
        )
        .subject(Subject::Plugin),
    );
    out.push(Case::new(
        "security/auto-mtls/cert-without-request-refused",
        Level::Must,
        "SPEC §5, §22 (a certificate only after PLUGIN_CLIENT_CERT)",
        "a real certificate in field 6 that the host never asked for is refused (go-plugin would panic), and the host connects to nothing",
        |ctx| async move {
            let conns = connections_file(&ctx, "connections.jsonl");
            let builder = BundleBuilder::new(FakeMode::CertWithoutTls)
                .option("cert", "real")
                .option("connections", conns.display());
            let (bundle, started) = start_fake(&ctx, builder, HostConfig::default()).await?;
            ctx.eq("PLUGIN_CLIENT_CERT", None, started_env(&bundle, mtls::CLIENT_CERT_ENV));
            let line = observed(&bundle, |e| match e {
                Observed::Handshake { line } => Some(line.clone()),
                _ => None,
            })
            .into_iter()
            .next()
            .unwrap_or_default();
            let field = line.split('|').nth(5).unwrap_or("");
            ctx.check(
                "the certificate is real (so only the missing request refuses it)",
                "a DER certificate in base64 without padding",
                format!("{} characters", field.len()),
                field.len() > 50 && mtls::decode_handshake_field(field).is_ok(),
            );
            match started {
                Ok(plugin) => {
                    ctx.check("start refused", "refused with unexpected-server-cert", plugin.handshake_line.clone(), false);
                    drop(plugin);
                }
                Err(failure) => {
                    ctx.eq("diagnosis", "unexpected-server-cert", failure.error.kind());
                    ctx.contains("message", &failure.to_string(), "PLUGIN_CLIENT_CERT");
                    let names = failure.timeline.names();
                    ctx.check("not connected", "no connected step", format!("{names:?}"), !names.contains(&"connected"));
                    check_failed_start_cleanup(&ctx, &failure, &bundle);
                }
            }
            let accepted = events_of(&conns, "accepted");
            ctx.check("nothing connected to the plugin", "no connection", format!("{accepted:?}"), accepted.is_empty());
            Ok(())
        },
    ));
    out.push(Case::new(
        "security/auto-mtls/no-server-cert-refused",
        Level::Must,
        "SPEC §8.6, §4 field 6",
        "with AutoMTLS on, a plugin that ignores PLUGIN_CLIENT_CERT and prints no certificate is refused with a fix instead of being dialled in the clear",
        |ctx| async move {
            let (bundle, started) = start_fake(&ctx, BundleBuilder::new(FakeMode::Healthy), auto_mtls()).await?;
            ctx.check(
                "PLUGIN_CLIENT_CERT was sent",
                "a PEM certificate",
                started_env(&bundle, mtls::CLIENT_CERT_ENV).map(|p| p.len()).unwrap_or(0),
                started_env(&bundle, mtls::CLIENT_CERT_ENV).is_some_and(|p| mtls::parse_client_pem(&p).is_ok()),
            );
            if let Some(failure) = check_refused_without_connecting(&ctx, started, "auto-mtls-no-server-cert", &["field 6", "PLUGIN_CLIENT_CERT"]) {
                check_failed_start_cleanup(&ctx, &failure, &bundle);
            }
            Ok(())
        },
    ));
    out.push(Case::new(
        "security/auto-mtls/server-cert-pinned",
        Level::Must,
        "SPEC §8.6 (the host trusts exactly the certificate of field 6)",
        "with AutoMTLS on, a plugin that serves another certificate than the one it printed is not connected to",
        |ctx| async move {
            let conns = connections_file(&ctx, "connections.jsonl");
            let builder = BundleBuilder::new(FakeMode::AutoMtls)
                .option("announce", "other")
                .option("connections", conns.display());
            let (bundle, started) = start_fake(&ctx, builder, auto_mtls()).await?;
            match started {
                Ok(plugin) => {
                    ctx.check("start refused", "refused with connect", plugin.handshake_line.clone(), false);
                    drop(plugin);
                }
                Err(failure) => {
                    ctx.eq("diagnosis", "connect", failure.error.kind());
                    ctx.contains("message", &failure.to_string(), "AutoMTLS");
                    check_failed_start_cleanup(&ctx, &failure, &bundle);
                }
            }
            let accepted = events_of(&conns, "tls-accepted");
            ctx.check("no TLS session was established", "no tls-accepted", format!("{accepted:?}"), accepted.is_empty());
            Ok(())
        },
    ));
    out
}

pub fn cases() -> Vec<Case> {
    let mut out = loopback_cases();
    out.extend(address_cases());
    out.extend(mtls_cases());
    out
}
