//! Handshake: every start failure mode of SPEC §5 gives its own diagnosis (and the
//! child is killed), and every valid variant of §4 is accepted.

use std::time::Duration;

use conformance_core::fixtures::{BundleBuilder, FakeMode};
use conformance_core::handshake::{Address, Network};
use conformance_core::runner::{Case, Level};
use conformance_core::supervisor::{HealthOutcome, HostConfig};

use crate::support::{self, expect_refusal, quick_start, shutdown_checked, start_ok};

/// A start the host must refuse: (case, fake mode, options, expected kind, message fragment, clause).
struct Refusal {
    case: &'static str,
    mode: FakeMode,
    options: &'static [(&'static str, &'static str)],
    kind: &'static str,
    fragment: &'static str,
    clause: &'static str,
    summary: &'static str,
}

const REFUSALS: &[Refusal] = &[
    Refusal {
        case: "stdout-noise-before-handshake",
        mode: FakeMode::StdoutNoiseBeforeHandshake,
        options: &[],
        kind: "unrecognized",
        fragment: "Starting plugin",
        clause: "SPEC §4 (first line is the handshake)",
        summary: "a banner printed before the handshake line is refused as an unrecognized line",
    },
    Refusal {
        case: "garbage-line",
        mode: FakeMode::GarbageLine,
        options: &[],
        kind: "unrecognized",
        fragment: "hello from a python plugin",
        clause: "SPEC §5 (< 4 fields)",
        summary: "a first line that is not a handshake is refused and quoted",
    },
    Refusal {
        case: "empty-line",
        mode: FakeMode::EmptyLine,
        options: &[],
        kind: "unrecognized",
        fragment: "0 '|'-separated field",
        clause: "SPEC §20.4 item 2",
        summary: "an empty first line is refused",
    },
    Refusal {
        case: "exit-before-handshake",
        mode: FakeMode::ExitBeforeHandshake,
        options: &[],
        kind: "no-handshake",
        fragment: "(exit status: 1)",
        clause: "SPEC §5 (process exits before printing)",
        summary: "a plugin that exits silently is diagnosed with its exit status",
    },
    Refusal {
        case: "traceback-then-exit",
        mode: FakeMode::TracebackThenExit,
        options: &[],
        kind: "no-handshake",
        fragment: "ModuleNotFoundError",
        clause: "SPEC §20.4 item 6",
        summary: "a Python traceback on stderr is shown in the diagnosis of a plugin that exits before the handshake",
    },
    Refusal {
        case: "bad-core-version",
        mode: FakeMode::BadCoreVersion,
        options: &[],
        kind: "core-version-mismatch",
        fragment: "core protocol version 2",
        clause: "SPEC §4 field 1, §5",
        summary: "core protocol version 2 is refused",
    },
    Refusal {
        case: "bad-app-version",
        mode: FakeMode::BadAppVersion,
        options: &[],
        kind: "app-version-not-offered",
        fragment: "app protocol version 2",
        clause: "SPEC §4 field 2, §5",
        summary: "an app protocol version the host did not offer is refused",
    },
    Refusal {
        case: "non-integer-core-version",
        mode: FakeMode::NonIntegerVersion,
        options: &[],
        kind: "core-version-not-integer",
        fragment: "\"x\"",
        clause: "SPEC §5",
        summary: "a core version that is not an integer is refused",
    },
    Refusal {
        case: "non-integer-app-version",
        mode: FakeMode::NonIntegerVersion,
        options: &[("field", "app")],
        kind: "app-version-not-integer",
        fragment: "\"x\"",
        clause: "SPEC §5",
        summary: "an app version that is not an integer is refused",
    },
    Refusal {
        case: "padded-field",
        mode: FakeMode::CustomHandshake,
        options: &[("line", "1 |1|tcp|{addr}|grpc")],
        kind: "core-version-not-integer",
        fragment: "\"1 \"",
        clause: "SPEC §4 (fields are not trimmed)",
        summary: "spaces inside a field are not trimmed, so `1 ` is not a version",
    },
    Refusal {
        case: "unknown-network",
        mode: FakeMode::UnknownNetwork,
        options: &[],
        kind: "unknown-network",
        fragment: "\"udp\"",
        clause: "SPEC §4 field 3, §5",
        summary: "a network other than tcp or unix is refused",
    },
    Refusal {
        case: "bad-address",
        mode: FakeMode::BadAddress,
        options: &[],
        kind: "bad-tcp-address",
        fragment: "missing port",
        clause: "SPEC §4 field 4, §5",
        summary: "a tcp address without a port is refused",
    },
    Refusal {
        case: "netrpc",
        mode: FakeMode::Netrpc,
        options: &[],
        kind: "unsupported-protocol",
        fragment: "\"netrpc\"",
        clause: "SPEC §4 field 5, §5",
        summary: "netrpc is refused by a gRPC-only host",
    },
    Refusal {
        case: "missing-protocol-field",
        mode: FakeMode::MissingProtocolField,
        options: &[],
        kind: "missing-protocol",
        fragment: "netrpc",
        clause: "SPEC §4 (missing protocol means netrpc)",
        summary: "a four-field line means netrpc and is refused",
    },
    Refusal {
        case: "unknown-protocol",
        mode: FakeMode::UnknownProtocol,
        options: &[],
        kind: "unsupported-protocol",
        fragment: "\"http\"",
        clause: "SPEC §5",
        summary: "an unknown protocol word is refused",
    },
    Refusal {
        case: "cert-without-tls",
        mode: FakeMode::CertWithoutTls,
        options: &[],
        kind: "unexpected-server-cert",
        fragment: "PLUGIN_CLIENT_CERT",
        clause: "SPEC §5, §22 (cert only after PLUGIN_CLIENT_CERT)",
        summary: "a server certificate the host never asked for is refused (a go-plugin host would panic)",
    },
];

/// A line the host must accept: (case, fake mode, options, expected field count, network).
struct Accepted {
    case: &'static str,
    mode: FakeMode,
    options: &'static [(&'static str, &'static str)],
    fields: usize,
    network: Network,
    summary: &'static str,
}

const ACCEPTED: &[Accepted] = &[
    Accepted {
        case: "python-sdk-five-fields",
        mode: FakeMode::Healthy,
        options: &[],
        fields: 5,
        network: Network::Tcp,
        summary: "the Python SDK's `1|1|tcp|127.0.0.1:PORT|grpc` is accepted",
    },
    Accepted {
        case: "go-six-fields",
        mode: FakeMode::CustomHandshake,
        options: &[("line", "1|1|tcp|{addr}|grpc|")],
        fields: 6,
        network: Network::Tcp,
        summary: "a Go server's six fields with an empty certificate are accepted",
    },
    Accepted {
        case: "seven-fields-without-mux",
        mode: FakeMode::CustomHandshake,
        options: &[("line", "1|1|tcp|{addr}|grpc||true")],
        fields: 7,
        network: Network::Tcp,
        summary: "a mux field is ignored when the host did not ask for multiplexing",
    },
    Accepted {
        case: "extra-fields-ignored",
        mode: FakeMode::CustomHandshake,
        options: &[("line", "1|1|tcp|{addr}|grpc|||x|y")],
        fields: 9,
        network: Network::Tcp,
        summary: "fields past the seventh are ignored",
    },
    Accepted {
        case: "crlf-and-outer-spaces",
        mode: FakeMode::CustomHandshake,
        options: &[("line", "  1|1|tcp|{addr}|grpc  \\r")],
        fields: 5,
        network: Network::Tcp,
        summary: "surrounding spaces and a CRLF line end are trimmed",
    },
    Accepted {
        case: "short-cert-field-ignored",
        mode: FakeMode::CustomHandshake,
        options: &[("line", "1|1|tcp|{addr}|grpc|c2hvcnQ")],
        fields: 6,
        network: Network::Tcp,
        summary: "a certificate field of 50 characters or fewer is ignored",
    },
    Accepted {
        case: "bare-port",
        mode: FakeMode::CustomHandshake,
        options: &[("line", "1|1|tcp|:{port}|grpc")],
        fields: 5,
        network: Network::Tcp,
        summary: "`:PORT` resolves to the local machine",
    },
    Accepted {
        case: "localhost-name",
        mode: FakeMode::CustomHandshake,
        options: &[("line", "1|1|tcp|localhost:{port}|grpc")],
        fields: 5,
        network: Network::Tcp,
        summary: "`localhost:PORT` resolves",
    },
    Accepted {
        case: "unix-socket",
        mode: FakeMode::UnixSocket,
        options: &[],
        fields: 6,
        network: Network::Unix,
        summary: "a Unix-socket handshake as real Go servers print it is dialled",
    },
    Accepted {
        case: "slow-start-within-timeout",
        mode: FakeMode::SlowStart,
        options: &[("delay_ms", "300")],
        fields: 5,
        network: Network::Tcp,
        summary: "a plugin that takes 300 ms to print its line is accepted within the 10 s start timeout",
    },
];

fn builder(mode: FakeMode, options: &[(&str, &str)]) -> BundleBuilder {
    options
        .iter()
        .fold(BundleBuilder::new(mode), |b, (k, v)| b.option(k, v))
}

pub fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for r in REFUSALS {
        let (mode, options, kind, fragment) = (r.mode, r.options, r.kind, r.fragment);
        cases.push(Case::new(
            &format!("handshake/{}", r.case),
            Level::Must,
            r.clause,
            r.summary,
            move |ctx| async move {
                expect_refusal(
                    &ctx,
                    builder(mode, options),
                    HostConfig::default(),
                    kind,
                    fragment,
                )
                .await
            },
        ));
    }
    for a in ACCEPTED {
        let (mode, options, fields, network) = (a.mode, a.options, a.fields, a.network);
        cases.push(Case::new(
            &format!("handshake/{}", a.case),
            Level::Must,
            "SPEC §4",
            a.summary,
            move |ctx| async move {
                let (_bundle, plugin) =
                    start_ok(&ctx, builder(mode, options), HostConfig::default()).await?;
                ctx.eq("field count", fields, plugin.handshake.field_count);
                ctx.eq("network", network, plugin.handshake.network);
                if let Address::Unix(path) = &plugin.handshake.address {
                    ctx.check(
                        "socket path is absolute",
                        "absolute path",
                        path,
                        path.starts_with('/'),
                    );
                }
                ctx.eq("ping", HealthOutcome::Serving, plugin.ping().await);
                shutdown_checked(&ctx, plugin).await;
                Ok(())
            },
        ));
    }
    cases.push(
        Case::new(
            "handshake/no-newline",
            Level::Must,
            "SPEC §4 (a line is delivered only at its newline)",
            "a handshake without a newline runs into the start timeout, and the diagnosis says so",
            |ctx| async move {
                expect_refusal(
                    &ctx,
                    BundleBuilder::new(FakeMode::NoNewline),
                    quick_start(Duration::from_secs(1)),
                    "start-timeout",
                    "without a newline",
                )
                .await
            },
        )
        .timeout(Duration::from_secs(20)),
    );
    cases.push(
        Case::new(
            "handshake/start-timeout",
            Level::Must,
            "SPEC §5.1",
            "a plugin silent past the start timeout is killed, no earlier than the timeout",
            |ctx| async move {
                let timeout = Duration::from_secs(1);
                let (bundle, started) = support::start_fake(
                    &ctx,
                    BundleBuilder::new(FakeMode::SlowStart).option("delay_ms", 60_000),
                    quick_start(timeout),
                )
                .await?;
                let Err(failure) = started else {
                    ctx.check("start refused", "start-timeout", "started", false);
                    return Ok(());
                };
                ctx.eq("diagnosis", "start-timeout", failure.error.kind());
                ctx.contains("message", &failure.to_string(), "flush stdout");
                let t = failure.timeline.entries();
                let waited = support::gap_us(&t, "spawned", "kill_sent").unwrap_or(0);
                ctx.check(
                    "killed only after the start timeout",
                    format!(">= {} us", timeout.as_micros()),
                    format!("{waited} us"),
                    waited >= timeout.as_micros() as u64,
                );
                support::check_failed_start_cleanup(&ctx, &failure, &bundle);
                Ok(())
            },
        )
        .timeout(Duration::from_secs(20)),
    );
    cases
}
