//! The catalogue of fake-interpreter modes, in one place: each mode's name (what
//! `plugin.py` of a fake bundle names), what the fake does in it, and the options it
//! takes. The bundle builder, the fake interpreter's dispatch (an exhaustive match) and
//! the mutation catalogue all use [`FakeMode`], so they cannot drift apart.

use std::fmt;
use std::str::FromStr;

macro_rules! fake_modes {
    ($($variant:ident = $name:literal, [$($option:literal),*], $description:expr;)*) => {
        /// A fake-interpreter mode.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum FakeMode {
            $($variant,)*
        }

        impl FakeMode {
            /// Every mode, in catalogue order.
            pub const ALL: &'static [FakeMode] = &[$(FakeMode::$variant,)*];

            /// The name `plugin.py` carries, e.g. `stdout-noise-before-handshake`.
            pub fn name(self) -> &'static str {
                match self {
                    $(FakeMode::$variant => $name,)*
                }
            }

            /// What the fake does in this mode.
            pub fn description(self) -> &'static str {
                match self {
                    $(FakeMode::$variant => $description,)*
                }
            }

            /// The options this mode reads (`BundleBuilder::option`).
            pub fn options(self) -> &'static [&'static str] {
                match self {
                    $(FakeMode::$variant => &[$($option,)*],)*
                }
            }
        }
    };
}

fake_modes! {
    Healthy = "healthy", [],
        "go-plugin-style plugin: health \"plugin\" SERVING, GRPCController/Shutdown exits";
    StdoutNoiseBeforeHandshake = "stdout-noise-before-handshake", [],
        "prints a banner line before the handshake";
    GarbageLine = "garbage-line", [],
        "prints a line that is not a handshake";
    EmptyLine = "empty-line", [],
        "prints an empty first line";
    NoNewline = "no-newline", [],
        "prints the handshake without a newline and keeps stdout open";
    ExitBeforeHandshake = "exit-before-handshake", [],
        "exits 1 without printing anything";
    TracebackThenExit = "traceback-then-exit", [],
        "writes a Python traceback to stderr and exits 1";
    SlowStart = "slow-start", ["delay_ms"],
        "sleeps `delay_ms` before printing the handshake";
    BadCoreVersion = "bad-core-version", [],
        "core protocol version 2";
    BadAppVersion = "bad-app-version", [],
        "app protocol version 2";
    NonIntegerVersion = "non-integer-version", ["field"],
        "core protocol version `x` (option `field=app` for the app version)";
    UnknownNetwork = "unknown-network", [],
        "network `udp`";
    BadAddress = "bad-address", [],
        "a tcp address with no port";
    Netrpc = "netrpc", [],
        "protocol `netrpc`";
    MissingProtocolField = "missing-protocol-field", [],
        "four fields, no protocol";
    UnknownProtocol = "unknown-protocol", [],
        "protocol `http`";
    CertWithoutTls = "cert-without-tls", ["cert", "connections"],
        "a long certificate field although no PLUGIN_CLIENT_CERT was sent (option `cert=real`: a real \
         certificate it serves TLS with, connections recorded as `auto-mtls` does)";
    AutoMtls = "auto-mtls", ["announce", "connections"],
        "go-plugin's AutoMTLS server: with PLUGIN_CLIENT_CERT, a fresh certificate in field 6 and TLS that \
         requires exactly the host's certificate (option `announce=other`: field 6 holds another certificate); \
         without, plain gRPC and an empty field 6. Option `connections`: a file that gets one JSON line per \
         connection event (announced, accepted, tls-accepted, tls-refused)";
    NonLoopbackAddress = "non-loopback-address", ["announce", "connections"],
        "listens on all interfaces and announces a non-loopback address of this machine (192.0.2.1 if it has \
         none; option `announce=loopback`: 127.0.0.1); connections recorded to option `connections`";
    SocketOutsideDir = "socket-outside-dir", ["connections"],
        "serves on a Unix socket in the bundle directory, not in PLUGIN_UNIX_SOCKET_DIR; connections recorded \
         to option `connections`";
    CustomHandshake = "custom-handshake", ["line"],
        "prints option `line`: {addr} becomes its tcp address, {port} its port, \\r a carriage return";
    UnixSocket = "unix-socket", [],
        "serves on a Unix socket (in PLUGIN_UNIX_SOCKET_DIR when set, else the bundle directory) and prints a \
         six-field unix handshake";
    NoHealthService = "no-health-service", [],
        "serves gRPC without grpc.health.v1.Health";
    NoPluginHooks = "no-plugin-hooks", [],
        "serves health but no PluginHooks, as go-plugin's Python example";
    FixedPort = "fixed-port", ["listen"],
        "healthy, on the fixed address of option `listen` with SO_REUSEPORT, as grpcio lets copies share it (go-plugin's Python example: 127.0.0.1:1234)";
    HealthWrongName = "health-wrong-name", [],
        "health knows only \"\", not \"plugin\"";
    HealthNotServing = "health-not-serving", [],
        "health \"plugin\" NOT_SERVING";
    HealthHangs = "health-hangs", [],
        "health Check never answers";
    CrashAfterHandshake = "crash-after-handshake", [],
        "prints a valid handshake, then exits";
    IgnoresShutdown = "ignores-shutdown", [],
        "answers Shutdown but keeps running, ignores SIGTERM";
    ExitsOnShutdown = "exits-on-shutdown", [],
        "on Shutdown probes the PluginAPI server, then exits 0";
    ExitsOnSigtermOnly = "exits-on-sigterm-only", [],
        "no GRPCController; exits on SIGTERM (the Python SDK's behaviour)";
    SpawnsGrandchild = "spawns-grandchild", [],
        "starts a grandchild that holds stdout/stderr, then behaves like healthy";
    RequiresMagicCookie = "requires-magic-cookie", [],
        "refuses to run without the magic cookie, like go-plugin's Serve()";
    Chatty = "chatty", [],
        "healthy, plus hclog JSON and text lines on stderr and 1 MiB on stdout after the handshake";
    ConformancePlugin = "conformance-plugin", ["hooks", "fail_activate", "fail_hooks", "hang_hooks", "implemented_error"],
        "healthy, and serves PluginHooks as fixtures/plugins/BEHAVIOUR.md says (options `hooks`, `fail_activate`)";
    ApiExerciser = "api-exerciser", ["cases"],
        "healthy, and runs the API cases of option `cases` (a JSON file) against MATTERMOST_PLUGIN_API_TARGET";
    ApiLoad = "api-load", ["hooks", "fail_activate", "fail_hooks", "hang_hooks", "implemented_error", "calls", "concurrency", "start_file"],
        "conformance-plugin, plus, after the handshake (or once file `start_file` exists in the bundle), \
         `calls` PluginAPI calls (KVSet, KVGet, GetServerVersion in turn; `concurrency` at once, default 4), \
         then one `api_load` observation with the ok/error counts";
}

impl FakeMode {
    /// The mode named `name`, if the catalogue has it.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|m| m.name() == name)
    }
}

impl fmt::Display for FakeMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FakeMode {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Self::parse(name).ok_or_else(|| format!("no fake-interpreter mode {name:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parse_back() {
        let names: std::collections::BTreeSet<&str> =
            FakeMode::ALL.iter().map(|m| m.name()).collect();
        assert_eq!(names.len(), FakeMode::ALL.len());
        for mode in FakeMode::ALL {
            assert_eq!(FakeMode::parse(mode.name()), Some(*mode));
            assert!(!mode.description().is_empty());
        }
        assert_eq!("fixed-port".parse(), Ok(FakeMode::FixedPort));
        assert!("no-such-mode".parse::<FakeMode>().is_err());
    }
}
