//! The fake interpreter: placed at `venv/bin/python` in a generated bundle and run by a
//! host as `python plugin.py`. It reads its mode from `plugin.py` (see
//! `conformance_core::fixtures::FakeScript`) and behaves as that mode says: a healthy
//! go-plugin server, or one precise protocol violation. Everything it sees is appended to
//! the observation file named in the script.

mod hooks;
mod load;
mod mtls;
mod services;

use conformance_core::fake_modes::FakeMode;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use conformance_core::fixtures::FakeScript;
use conformance_core::observe::{self, Observed};
use conformance_core::supervisor::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use pluginapi_proto::goplugin::grpc_controller_server::GrpcControllerServer;
use services::{FakeController, FakeHealth, HealthBehaviour, ShutdownBehaviour};
use tokio::io::AsyncWriteExt;
use tokio::sync::Notify;
use tonic_health::pb::health_server::HealthServer;

/// Argument that turns the process into a grandchild that only holds the pipes open.
const GRANDCHILD_ARG: &str = "--fake-grandchild";

/// Whether a process started with `args` is the fake interpreter: run through a bundle's
/// interpreter link (`venv/bin/python`, `.venv/bin/python3`: a file name starting with
/// `python`), or as the grandchild of the `spawns-grandchild` mode. Lets another binary
/// (the `plugin-conformance` CLI) double as the fake interpreter.
pub fn is_invocation(args: &[String]) -> bool {
    let linked_as_python = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .is_some_and(|n| n.to_string_lossy().starts_with("python"));
    linked_as_python || args.get(1).map(String::as_str) == Some(GRANDCHILD_ARG)
}

/// Runs the fake interpreter with the process's `args` (`python <script>`) and exits.
pub fn main(args: Vec<String>) -> ! {
    if args.get(1).map(String::as_str) == Some(GRANDCHILD_ARG) {
        // Inherited stdout/stderr stay open as long as this sleeps.
        std::thread::sleep(Duration::from_secs(3600));
        std::process::exit(0);
    }
    let Some(script_path) = args.get(1) else {
        eprintln!("fake-interpreter: usage: python <script> (the script names the mode)");
        std::process::exit(2);
    };
    let script = match std::fs::read_to_string(script_path)
        .map_err(|e| e.to_string())
        .and_then(|text| FakeScript::parse(&text))
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fake-interpreter: cannot use {script_path}: {e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = runtime.block_on(run(script, args));
    std::process::exit(code);
}

fn observed_env() -> BTreeMap<String, String> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("MATTERMOST_") || k.starts_with("PLUGIN_") || k == "PATH")
        .collect()
}

/// Tries a TCP connection to `MATTERMOST_PLUGIN_API_TARGET` and records the result.
pub(crate) async fn probe_api(observe_path: &Path, phase: &str) {
    let target = std::env::var("MATTERMOST_PLUGIN_API_TARGET").unwrap_or_default();
    let (reachable, detail) = if target.is_empty() {
        (false, "MATTERMOST_PLUGIN_API_TARGET is not set".to_string())
    } else {
        match tokio::time::timeout(
            Duration::from_secs(2),
            tokio::net::TcpStream::connect(&target),
        )
        .await
        {
            Ok(Ok(_)) => (true, "connected".to_string()),
            Ok(Err(e)) => (false, e.to_string()),
            Err(_) => (false, "no connection within 2 s".to_string()),
        }
    };
    let _ = observe::record(
        observe_path,
        Observed::ApiProbe {
            phase: phase.to_string(),
            target,
            reachable,
            detail,
        },
    );
}

/// Writes the handshake line (with a newline unless told otherwise) and flushes. The
/// observation is recorded first: a host that refuses the line may kill the process the
/// moment it reads it.
async fn print_line(observe_path: &Path, line: &str, newline: bool) {
    let _ = observe::record(
        observe_path,
        Observed::Handshake {
            line: line.to_string(),
        },
    );
    let mut out = tokio::io::stdout();
    let mut bytes = line.as_bytes().to_vec();
    if newline {
        bytes.push(b'\n');
    }
    let _ = out.write_all(&bytes).await;
    let _ = out.flush().await;
}

fn exit_with(observe_path: &Path, code: i32, reason: &str) -> i32 {
    let _ = observe::record(
        observe_path,
        Observed::Exiting {
            code,
            reason: reason.to_string(),
        },
    );
    code
}

/// How a serving fake behaves.
struct Serve {
    health: Option<HealthBehaviour>,
    controller: Option<ShutdownBehaviour>,
    /// Builds the handshake line from the listening address.
    line: Box<dyn Fn(&str) -> String + Send>,
    unix: bool,
    exit_after_handshake: bool,
    ignore_sigterm: bool,
    /// Write logs to stderr and a flood to stdout after the handshake.
    chatty: bool,
    /// Run the exercises of this file against the host's PluginAPI server after the
    /// handshake.
    api_cases: Option<PathBuf>,
    /// Serve `PluginHooks` as the conformance behaviour says.
    hooks: Option<hooks::ConformanceHooks>,
    /// Make this PluginAPI load after the handshake (`api-load`).
    api_load: Option<load::Load>,
    /// Serve no `PluginHooks` at all (`no-plugin-hooks`, as go-plugin's Python example).
    no_hooks: bool,
    /// Listen on this fixed address with `SO_REUSEPORT`, as grpcio does (`fixed-port`).
    fixed: Option<std::net::SocketAddr>,
}

impl Serve {
    fn healthy() -> Self {
        Self {
            health: Some(HealthBehaviour::Serving),
            controller: Some(ShutdownBehaviour::Exit),
            line: Box::new(|addr| format!("1|1|tcp|{addr}|grpc")),
            unix: false,
            exit_after_handshake: false,
            ignore_sigterm: false,
            chatty: false,
            api_cases: None,
            hooks: None,
            api_load: None,
            no_hooks: false,
            fixed: None,
        }
    }

    fn with_line(line: impl Fn(&str) -> String + Send + 'static) -> Self {
        Self {
            line: Box::new(line),
            ..Self::healthy()
        }
    }
}

/// Listens on `addr` with `SO_REUSEPORT`, as grpcio's servers do: copies of the plugin on
/// one fixed port all bind it, and the kernel shares connections among them.
fn listen_shared(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

async fn run(script: FakeScript, args: Vec<String>) -> i32 {
    let obs = script.observe.clone();
    let _ = observe::record(
        &obs,
        Observed::Started {
            argv: args,
            cwd: std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            env: observed_env(),
            // SAFETY: getpgrp has no preconditions.
            pgid: unsafe { libc::getpgrp() },
        },
    );
    probe_api(&obs, "start").await;
    let opt = |k: &str| script.options.get(k).cloned();
    let Some(mode) = FakeMode::parse(&script.mode) else {
        eprintln!("fake-interpreter: unknown mode {:?}", script.mode);
        return exit_with(&obs, 2, "unknown mode");
    };
    let spec = match mode {
        FakeMode::Healthy => Serve::healthy(),
        FakeMode::StdoutNoiseBeforeHandshake => {
            print_line(&obs, "Starting plugin com.example.noisy ...", true).await;
            Serve::healthy()
        }
        FakeMode::GarbageLine | FakeMode::EmptyLine | FakeMode::NoNewline => {
            let (line, newline) = match mode {
                FakeMode::GarbageLine => ("hello from a python plugin".to_string(), true),
                FakeMode::EmptyLine => (String::new(), true),
                _ => ("1|1|tcp|127.0.0.1:1|grpc".to_string(), false),
            };
            return announce(&obs, &line, newline).await.wait(&obs, false).await;
        }
        FakeMode::ExitBeforeHandshake => return exit_with(&obs, 1, "exit before handshake"),
        FakeMode::TracebackThenExit => {
            eprintln!("Traceback (most recent call last):");
            eprintln!("  File \"plugin.py\", line 3, in <module>");
            eprintln!("    import mattermost_plugin");
            eprintln!("ModuleNotFoundError: No module named 'mattermost_plugin'");
            return exit_with(&obs, 1, "traceback");
        }
        FakeMode::SlowStart => {
            let ms = opt("delay_ms").and_then(|v| v.parse().ok()).unwrap_or(3000);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Serve::healthy()
        }
        FakeMode::BadCoreVersion => Serve::with_line(|a| format!("2|1|tcp|{a}|grpc")),
        FakeMode::BadAppVersion => Serve::with_line(|a| format!("1|2|tcp|{a}|grpc")),
        FakeMode::NonIntegerVersion => match opt("field").as_deref() {
            Some("app") => Serve::with_line(|a| format!("1|x|tcp|{a}|grpc")),
            _ => Serve::with_line(|a| format!("x|1|tcp|{a}|grpc")),
        },
        FakeMode::UnknownNetwork => Serve::with_line(|a| format!("1|1|udp|{a}|grpc")),
        FakeMode::BadAddress => Serve::with_line(|_| "1|1|tcp|127.0.0.1|grpc".to_string()),
        FakeMode::Netrpc => Serve::with_line(|a| format!("1|1|tcp|{a}|netrpc")),
        FakeMode::MissingProtocolField => Serve::with_line(|a| format!("1|1|tcp|{a}")),
        FakeMode::UnknownProtocol => Serve::with_line(|a| format!("1|1|tcp|{a}|http")),
        FakeMode::CertWithoutTls if opt("cert").as_deref() == Some("real") => {
            return mtls::auto_mtls(&obs, &script.options, true).await;
        }
        FakeMode::AutoMtls => return mtls::auto_mtls(&obs, &script.options, false).await,
        FakeMode::NonLoopbackAddress => return mtls::non_loopback(&obs, &script.options).await,
        FakeMode::SocketOutsideDir => return mtls::socket_outside_dir(&obs, &script.options).await,
        FakeMode::CertWithoutTls => Serve::with_line(|a| {
            let mut der = vec![0x30u8, 0x82, 0x01, 0x00];
            der.extend((0..96u8).map(|i| i.wrapping_mul(37)));
            let cert = base64::engine::general_purpose::STANDARD_NO_PAD.encode(der);
            format!("1|1|tcp|{a}|grpc|{cert}")
        }),
        FakeMode::CustomHandshake => {
            let template = opt("line").unwrap_or_default();
            Serve::with_line(move |a| {
                let port = a.rsplit_once(':').map_or("", |(_, p)| p);
                template
                    .replace("{addr}", a)
                    .replace("{port}", port)
                    .replace("\\r", "\r")
            })
        }
        FakeMode::UnixSocket => Serve {
            unix: true,
            line: Box::new(|a| format!("1|1|unix|{a}|grpc|")),
            ..Serve::healthy()
        },
        FakeMode::NoHealthService => Serve {
            health: None,
            ..Serve::healthy()
        },
        FakeMode::NoPluginHooks => Serve {
            no_hooks: true,
            ..Serve::healthy()
        },
        FakeMode::FixedPort => Serve {
            fixed: opt("listen").and_then(|a| a.parse().ok()),
            ..Serve::healthy()
        },
        FakeMode::HealthWrongName => Serve {
            health: Some(HealthBehaviour::WrongName),
            ..Serve::healthy()
        },
        FakeMode::HealthNotServing => Serve {
            health: Some(HealthBehaviour::NotServing),
            ..Serve::healthy()
        },
        FakeMode::HealthHangs => Serve {
            health: Some(HealthBehaviour::Hangs),
            ..Serve::healthy()
        },
        FakeMode::CrashAfterHandshake => Serve {
            exit_after_handshake: true,
            ..Serve::healthy()
        },
        FakeMode::IgnoresShutdown => Serve {
            controller: Some(ShutdownBehaviour::Ignore),
            ignore_sigterm: true,
            ..Serve::healthy()
        },
        FakeMode::ExitsOnShutdown => Serve {
            controller: Some(ShutdownBehaviour::ProbeApiThenExit),
            ..Serve::healthy()
        },
        FakeMode::ExitsOnSigtermOnly => Serve {
            controller: None,
            ..Serve::healthy()
        },
        FakeMode::SpawnsGrandchild => {
            match std::process::Command::new(std::env::current_exe().expect("own path"))
                .arg(GRANDCHILD_ARG)
                .spawn()
            {
                Ok(child) => {
                    let _ = observe::record(
                        &obs,
                        Observed::Grandchild {
                            child_pid: child.id(),
                        },
                    );
                }
                Err(e) => eprintln!("fake-interpreter: cannot start a grandchild: {e}"),
            }
            Serve::healthy()
        }
        FakeMode::Chatty => Serve {
            chatty: true,
            ..Serve::healthy()
        },
        FakeMode::ConformancePlugin | FakeMode::ApiLoad => {
            let list = |value: Option<String>| -> Vec<String> {
                value
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .map(str::to_string)
                    .collect()
            };
            let hooks = match opt("hooks").as_deref() {
                None | Some("all") => conformance_core::behaviour::listed_hooks(),
                Some(names) => list(Some(names.to_string())),
            };
            Serve {
                hooks: Some(hooks::ConformanceHooks {
                    observe: obs.clone(),
                    settings: conformance_core::behaviour::Settings {
                        hooks,
                        fail_activate: opt("fail_activate").as_deref() == Some("true"),
                        fail_hooks: list(opt("fail_hooks")),
                        hang_hooks: list(opt("hang_hooks")),
                        implemented_error: opt("implemented_error").as_deref() == Some("true"),
                    },
                }),
                api_load: (mode == FakeMode::ApiLoad)
                    .then(|| load::Load::from_options(&script.options)),
                ..Serve::healthy()
            }
        }
        FakeMode::ApiExerciser => Serve {
            api_cases: Some(PathBuf::from(opt("cases").unwrap_or_default())),
            ..Serve::healthy()
        },
        FakeMode::RequiresMagicCookie => {
            if std::env::var(MAGIC_COOKIE_KEY).as_deref() != Ok(MAGIC_COOKIE_VALUE) {
                eprintln!(
                    "This binary is a plugin. These are not meant to be executed directly. \
                     Please execute the program that consumes these plugins, which will load \
                     any plugins automatically"
                );
                return exit_with(&obs, 1, "magic cookie missing");
            }
            Serve::healthy()
        }
    };
    serve(&obs, spec).await
}

/// Stderr in the three shapes a host must read (hclog JSON, `[LEVEL]` text, plain text),
/// then 1 MiB of stdout, which only completes if the host keeps draining stdout.
async fn chatter(obs: PathBuf) {
    let mut err = tokio::io::stderr();
    let lines = concat!(
        r#"{"@level":"warn","@message":"disk almost full","@timestamp":"2026-11-23T10:00:00.000000Z","free_mb":"12"}"#,
        "\n[ERROR] could not reach the upstream service\n",
        "a plain line without a level\n",
    );
    let _ = err.write_all(lines.as_bytes()).await;
    let _ = err.flush().await;
    let mut out = tokio::io::stdout();
    let chunk = vec![b'.'; 64 * 1024];
    let mut written = 0u64;
    for _ in 0..16 {
        if out.write_all(&chunk).await.is_err() {
            return;
        }
        written += chunk.len() as u64;
    }
    let _ = out.flush().await;
    let _ = observe::record(&obs, Observed::StdoutFlood { bytes: written });
}

/// Runs the exercises of `file` against `MATTERMOST_PLUGIN_API_TARGET`, all at once (each
/// case's steps in order), recording every step's outcome and the end of every case.
async fn exercise_api(obs: PathBuf, file: PathBuf) {
    use conformance_core::apicase::{DynamicClient, ExerciseFile, execute};
    let done = |case: &str, steps: usize, error: Option<String>| {
        let _ = observe::record(
            &obs,
            Observed::ApiCaseDone {
                case: case.to_string(),
                steps,
                error,
            },
        );
    };
    let exercises = match std::fs::read_to_string(&file)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str::<ExerciseFile>(&t).map_err(|e| e.to_string()))
    {
        Ok(f) => f.exercises,
        Err(e) => {
            return done("*", 0, Some(format!("cannot read {}: {e}", file.display())));
        }
    };
    let target = std::env::var("MATTERMOST_PLUGIN_API_TARGET").unwrap_or_default();
    let channel = match tonic::transport::Endpoint::from_shared(format!("http://{target}")) {
        Ok(endpoint) => endpoint
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .map_err(|e| format!("cannot connect to the PluginAPI at {target:?}: {e}")),
        Err(e) => Err(format!("bad MATTERMOST_PLUGIN_API_TARGET {target:?}: {e}")),
    };
    let channel = match channel {
        Ok(c) => c,
        Err(e) => {
            for exercise in &exercises {
                done(&exercise.case.name, 0, Some(e.clone()));
            }
            return;
        }
    };
    let client = DynamicClient::new(channel);
    let mut running = tokio::task::JoinSet::new();
    for exercise in exercises {
        let mut client = client.clone();
        let obs = obs.clone();
        running.spawn(async move {
            let outcomes = execute(&mut client, &exercise).await;
            let steps = outcomes.len();
            for outcome in outcomes {
                let _ = observe::record(&obs, Observed::ApiOutcome { outcome });
            }
            (exercise.case.name, steps)
        });
    }
    while let Some(finished) = running.join_next().await {
        match finished {
            Ok((case, steps)) => done(&case, steps, None),
            Err(e) => eprintln!("fake-interpreter: an exercise failed: {e}"),
        }
    }
}

/// The SIGTERM and SIGINT handlers of a mode. Installed before the handshake line is
/// printed: a host may signal the moment it has read the line, and until then the default
/// disposition would kill a mode that is meant to ignore SIGTERM.
pub(crate) struct TerminationSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl TerminationSignals {
    fn install() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        TerminationSignals {
            term: signal(SignalKind::terminate()).expect("SIGTERM handler"),
            int: signal(SignalKind::interrupt()).expect("SIGINT handler"),
        }
    }

    /// Waits for SIGTERM/SIGINT (recording it); with `ignore`, records and keeps waiting.
    pub(crate) async fn wait(mut self, obs: &Path, ignore: bool) -> i32 {
        loop {
            let name = tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            };
            let _ = observe::record(
                obs,
                Observed::Signal {
                    name: name.to_string(),
                },
            );
            if !ignore {
                return exit_with(obs, 0, name);
            }
        }
    }
}

/// Installs the termination handlers, then prints the handshake `line`: the order that
/// keeps a signal sent right after the line from meeting the default disposition.
pub(crate) async fn announce(obs: &Path, line: &str, newline: bool) -> TerminationSignals {
    let signals = TerminationSignals::install();
    print_line(obs, line, newline).await;
    signals
}

async fn serve(obs: &Path, spec: Serve) -> i32 {
    let signals = TerminationSignals::install();
    let stop = Arc::new(Notify::new());
    let health = spec.health.map(|behaviour| {
        HealthServer::new(FakeHealth {
            behaviour,
            observe: obs.to_path_buf(),
        })
    });
    let controller = spec.controller.map(|behaviour| {
        GrpcControllerServer::new(FakeController {
            behaviour,
            observe: obs.to_path_buf(),
            stop: stop.clone(),
        })
    });
    // Every serving mode but `no-plugin-hooks` answers `Implemented` (with no hook unless
    // the mode lists some): a host asks it before it considers a plugin started.
    let hooks = spec.hooks.unwrap_or_else(|| hooks::ConformanceHooks {
        observe: obs.to_path_buf(),
        settings: conformance_core::behaviour::Settings::default(),
    });
    let hooks = (!spec.no_hooks).then(|| {
        pluginapi_proto::pluginapi::plugin_hooks_server::PluginHooksServer::new(hooks)
            .max_decoding_message_size(64 << 20)
            .max_encoding_message_size(64 << 20)
    });
    let router = tonic::transport::Server::builder()
        .add_optional_service(health)
        .add_optional_service(controller)
        .add_optional_service(hooks);
    let stopped = {
        let stop = stop.clone();
        async move { stop.notified().await }
    };
    let server = if spec.unix {
        // In the host's socket directory when it offers one (as go-plugin servers do).
        let path: PathBuf = std::env::var_os("PLUGIN_UNIX_SOCKET_DIR")
            .map(PathBuf::from)
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from("."))
            .join("p.sock");
        let _ = std::fs::remove_file(&path);
        let listener = match tokio::net::UnixListener::bind(&path) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("fake-interpreter: cannot listen on {}: {e}", path.display());
                return exit_with(obs, 1, "unix listen failed");
            }
        };
        print_line(obs, &(spec.line)(&path.display().to_string()), true).await;
        let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
        tokio::spawn(router.serve_with_incoming_shutdown(incoming, stopped))
    } else {
        let bound = match spec.fixed {
            Some(addr) => listen_shared(addr),
            None => tokio::net::TcpListener::bind("127.0.0.1:0").await,
        };
        let listener = match bound {
            Ok(l) => l,
            Err(e) => {
                eprintln!("fake-interpreter: cannot listen: {e}");
                return exit_with(obs, 1, "tcp listen failed");
            }
        };
        let addr = listener.local_addr().expect("bound address").to_string();
        print_line(obs, &(spec.line)(&addr), true).await;
        if spec.exit_after_handshake {
            return exit_with(obs, 3, "crash after handshake");
        }
        if spec.chatty {
            tokio::spawn(chatter(obs.to_path_buf()));
        }
        if let Some(cases) = spec.api_cases.clone() {
            tokio::spawn(exercise_api(obs.to_path_buf(), cases));
        }
        if let Some(load) = spec.api_load.clone() {
            tokio::spawn(load::run(obs.to_path_buf(), load));
        }
        let incoming =
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        tokio::spawn(router.serve_with_incoming_shutdown(incoming, stopped))
    };
    tokio::select! {
        result = server => match result {
            Ok(Ok(())) => exit_with(obs, 0, "shutdown rpc"),
            Ok(Err(e)) => {
                eprintln!("fake-interpreter: server failed: {e}");
                exit_with(obs, 1, "server failed")
            }
            Err(e) => {
                eprintln!("fake-interpreter: server task failed: {e}");
                exit_with(obs, 1, "server task failed")
            }
        },
        code = signals.wait(obs, spec.ignore_sigterm) => code,
    }
}
