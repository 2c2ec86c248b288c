//! Every conformance case as its own `cargo test` test (libtest-mimic), so
//! `cargo test -p conformance-suites --test conformance -- handshake/` and nextest filters
//! work. The fake interpreter is built once per process, before the first case.

use std::sync::OnceLock;

use conformance_core::runner::{Status, run_case};
use libtest_mimic::{Arguments, Failed, Trial};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

fn main() {
    let mut args = Arguments::from_args();
    // Cases mostly wait on child processes and timers, not on the CPU: run several per
    // core unless told otherwise (`--test-threads`).
    if args.test_threads.is_none() {
        args.test_threads = Some(conformance_core::runner::default_jobs());
    }
    conformance_core::scratch::sweep_stale();
    let scratch = conformance_core::scratch::dir("test").expect("scratch directory");
    let root = scratch.path().to_path_buf();
    // Cases of the Python reference plugin need its venv; when it cannot be prepared they
    // are ignored with the reason (libtest-mimic cannot skip a test once it has started).
    let all = conformance_suites::all();
    let python_unavailable = if all
        .iter()
        .any(|c| conformance_suites::needs_python(&c.name))
    {
        conformance_core::python_reference::prepare().err()
    } else {
        None
    };
    if let Some(reason) = &python_unavailable {
        eprintln!(
            "Python reference plugin cases ignored: the Python reference plugin cannot be prepared: {reason}"
        );
    }
    let trials = all
        .into_iter()
        .enumerate()
        .map(|(i, case)| {
            let ignored =
                python_unavailable.is_some() && conformance_suites::needs_python(&case.name);
            let root = root.clone();
            let name = case.name.clone();
            let kind = format!("{}", case.level);
            Trial::test(name, move || {
                conformance_core::fixtures::fake_interpreter().map_err(Failed::from)?;
                let outcome = runtime().block_on(run_case(&case, &root, &format!("c{i}")));
                let checklist: Vec<String> = outcome
                    .assertions
                    .iter()
                    .map(|a| {
                        format!(
                            "  {} {}: expected {}, saw {}",
                            if a.passed { "ok  " } else { "FAIL" },
                            a.name,
                            a.expected,
                            a.seen
                        )
                    })
                    .collect();
                match outcome.status {
                    Status::Passed => Ok(()),
                    // A skip is not a pass: libtest-mimic cannot mark a test ignored at run
                    // time, so a skipped case fails here with its reason. No case of the
                    // self-test run is expected to skip.
                    status => Err(Failed::from(format!(
                        "{status:?}: {}\n{}",
                        outcome.message.unwrap_or_default(),
                        checklist.join("\n")
                    ))),
                }
            })
            .with_kind(kind)
            .with_ignored_flag(ignored)
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    drop(scratch);
    conclusion.exit();
}
