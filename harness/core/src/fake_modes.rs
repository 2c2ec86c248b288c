//! The catalogue of fake-interpreter modes (name and what the fake does in it), on its own
//! so that the mutation catalogue and the bundle builder both read it without depending on
//! each other.

/// Every fake-interpreter mode; the fake binary implements each.
pub const MODES: &[(&str, &str)] = &[
    (
        "healthy",
        "go-plugin-style plugin: health \"plugin\" SERVING, GRPCController/Shutdown exits",
    ),
    (
        "stdout-noise-before-handshake",
        "prints a banner line before the handshake",
    ),
    ("garbage-line", "prints a line that is not a handshake"),
    ("empty-line", "prints an empty first line"),
    (
        "no-newline",
        "prints the handshake without a newline and keeps stdout open",
    ),
    ("exit-before-handshake", "exits 1 without printing anything"),
    (
        "traceback-then-exit",
        "writes a Python traceback to stderr and exits 1",
    ),
    (
        "slow-start",
        "sleeps `delay_ms` before printing the handshake",
    ),
    ("bad-core-version", "core protocol version 2"),
    ("bad-app-version", "app protocol version 2"),
    (
        "non-integer-version",
        "core protocol version `x` (option `field=app` for the app version)",
    ),
    ("unknown-network", "network `udp`"),
    ("bad-address", "a tcp address with no port"),
    ("netrpc", "protocol `netrpc`"),
    ("missing-protocol-field", "four fields, no protocol"),
    ("unknown-protocol", "protocol `http`"),
    (
        "cert-without-tls",
        "a long certificate field although no PLUGIN_CLIENT_CERT was sent (option `cert=real`: a real \
         certificate it serves TLS with, connections recorded as `auto-mtls` does)",
    ),
    (
        "auto-mtls",
        "go-plugin's AutoMTLS server: with PLUGIN_CLIENT_CERT, a fresh certificate in field 6 and TLS that \
         requires exactly the host's certificate (option `announce=other`: field 6 holds another certificate); \
         without, plain gRPC and an empty field 6. Option `connections`: a file that gets one JSON line per \
         connection event (announced, accepted, tls-accepted, tls-refused)",
    ),
    (
        "non-loopback-address",
        "listens on all interfaces and announces a non-loopback address of this machine (192.0.2.1 if it has \
         none; option `announce=loopback`: 127.0.0.1); connections recorded to option `connections`",
    ),
    (
        "socket-outside-dir",
        "serves on a Unix socket in the bundle directory, not in PLUGIN_UNIX_SOCKET_DIR; connections recorded \
         to option `connections`",
    ),
    (
        "custom-handshake",
        "prints option `line`: {addr} becomes its tcp address, {port} its port, \\r a carriage return",
    ),
    (
        "unix-socket",
        "serves on a Unix socket (in PLUGIN_UNIX_SOCKET_DIR when set, else the bundle directory) and prints a \
         six-field unix handshake",
    ),
    (
        "no-health-service",
        "serves gRPC without grpc.health.v1.Health",
    ),
    (
        "no-plugin-hooks",
        "serves health but no PluginHooks, as go-plugin's Python example",
    ),
    (
        "fixed-port",
        "healthy, on the fixed address of option `listen` with SO_REUSEPORT, as grpcio lets copies share it (go-plugin's Python example: 127.0.0.1:1234)",
    ),
    (
        "health-wrong-name",
        "health knows only \"\", not \"plugin\"",
    ),
    ("health-not-serving", "health \"plugin\" NOT_SERVING"),
    ("health-hangs", "health Check never answers"),
    (
        "crash-after-handshake",
        "prints a valid handshake, then exits",
    ),
    (
        "ignores-shutdown",
        "answers Shutdown but keeps running, ignores SIGTERM",
    ),
    (
        "exits-on-shutdown",
        "on Shutdown probes the PluginAPI server, then exits 0",
    ),
    (
        "exits-on-sigterm-only",
        "no GRPCController; exits on SIGTERM (the Python SDK's behaviour)",
    ),
    (
        "spawns-grandchild",
        "starts a grandchild that holds stdout/stderr, then behaves like healthy",
    ),
    (
        "requires-magic-cookie",
        "refuses to run without the magic cookie, like go-plugin's Serve()",
    ),
    (
        "chatty",
        "healthy, plus hclog JSON and text lines on stderr and 1 MiB on stdout after the handshake",
    ),
    (
        "conformance-plugin",
        "healthy, and serves PluginHooks as fixtures/plugins/BEHAVIOUR.md says (options `hooks`, `fail_activate`)",
    ),
    (
        "api-exerciser",
        "healthy, and runs the API cases of option `cases` (a JSON file) against MATTERMOST_PLUGIN_API_TARGET",
    ),
    (
        "api-load",
        "conformance-plugin, plus, after the handshake (or once file `start_file` exists in the bundle), \
         `calls` PluginAPI calls (KVSet, KVGet, GetServerVersion in turn; `concurrency` at once, default 4), \
         then one `api_load` observation with the ok/error counts",
    ),
];
