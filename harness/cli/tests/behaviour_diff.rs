//! An SDK-release check end to end: copies of the Python reference plugin whose answers
//! all stay well-formed (every case passes on each), some changed in behaviour. `diff` of
//! their JSON reports names the hook and the request whose answer changed and exits 1; a
//! change that shows only for a plugin-specific request is found with `--stimuli`; a
//! change accepted with its reason exits 0.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use support::{Work, diff, explain};

/// Only the cases that send hook requests: the rest cannot show an answer change.
const HOOK_CASES: &[&str] = &["--run", "plugin/hooks/*"];

/// A copy of the reference plugin presented as a third-party plugin would be (no declared
/// behaviour, so BEHAVIOUR.md is not checked and a behaviour change fails no case), with
/// `from` replaced by `to` in its hooks module.
fn copy(work: &Work, name: &str, edit: Option<(&str, &str)>) -> Option<PathBuf> {
    let bundle = work.python_reference_at(name)?;
    let manifest_path = bundle.join("plugin.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    manifest.as_object_mut().unwrap().remove("props");
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    if let Some((from, to)) = edit {
        let hooks = bundle.join("conformance_hooks.py");
        let text = std::fs::read_to_string(&hooks).unwrap();
        assert!(
            text.contains(from),
            "the reference plugin changed: {from:?}"
        );
        std::fs::write(&hooks, text.replacen(from, to, 1)).unwrap();
    }
    Some(bundle)
}

/// Runs the hook cases of `bundle` into `out`; every case must pass.
fn run(work: &Work, bundle: &Path, out: &str, stimuli: Option<&Path>) -> PathBuf {
    let mut args = HOOK_CASES.to_vec();
    let stimuli = stimuli.map(|p| p.to_str().unwrap().to_string());
    if let Some(path) = &stimuli {
        args.extend(["--stimuli", path, "--run", "plugin/stimuli/*"]);
    }
    let output = work.plugin_to(bundle, &args, out);
    assert!(output.status.success(), "{out}: {}", explain(&output));
    work.path().join(out).join("conformance.json")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn diff_names_the_hook_and_request_whose_answer_changed_and_stimuli_reach_plugin_specific_ones() {
    let work = Work::new();
    let Some(base) = copy(&work, "base", None) else {
        return;
    };
    // Well-formed either way: consumed posts get another suffix (shows for any request).
    let consumed = copy(
        &work,
        "consumed",
        Some((
            "_append_message(p, \" [consumed]\")",
            "_append_message(p, \" [read]\")",
        )),
    )
    .unwrap();
    // The filter no longer rejects its trigger word (shows only for a message with it).
    let filter = copy(
        &work,
        "filter",
        Some((
            "def _post_will_change(self, hook, post, text):\n        if REJECT in text:",
            "def _post_will_change(self, hook, post, text):\n        if False and REJECT in text:",
        )),
    )
    .unwrap();
    let stimuli = work.path().join("stimuli.json");
    std::fs::write(
        &stimuli,
        r#"[{"name": "filtered-word", "hook": "MessageWillBePosted",
             "request": {"post": {"message": "this says reject-me"}}}]"#,
    )
    .unwrap();

    let base_report = run(&work, &base, "base", Some(&stimuli));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&base_report).unwrap()).unwrap();
    let stimulus = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "plugin/stimuli/filtered-word")
        .expect("the stimulus case");
    assert_eq!(stimulus["status"], "passed", "{stimulus:#}");
    assert_eq!(
        stimulus["answers"][0]["answer"]["rejectionReason"], "rejected by the conformance plugin",
        "{stimulus:#}"
    );
    assert_eq!(
        stimulus["answers"][0]["request_label"],
        "stimulus filtered-word"
    );

    // A change any fully populated request shows: found without stimuli.
    let out = diff(&base_report, &run(&work, &consumed, "consumed", None), &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    assert!(text.contains("0 regressions"), "{text}");
    assert!(text.contains("1 answer change (0 accepted)"), "{text}");
    assert!(
        text.contains(
            "Answer changes (1):\n  [MUST] plugin/hooks/MessagesWillBeConsumed: MessagesWillBeConsumed, request \"fully populated\" {"
        ),
        "{text}"
    );
    assert!(text.contains(" [consumed]\" -> \""), "{text}");

    // A change only the plugin's own trigger word shows: invisible to the generated
    // requests, found by the stimulus.
    let out = diff(&base_report, &run(&work, &filter, "filter", None), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    assert!(
        stdout(&out).contains("0 answer changes"),
        "{}",
        stdout(&out)
    );
    let filter_report = run(&work, &filter, "filter-stimuli", Some(&stimuli));
    let out = diff(&base_report, &filter_report, &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    assert!(
        text.contains(
            "[MUST] plugin/stimuli/filtered-word: MessageWillBePosted, request \"stimulus filtered-word\" {\"post\":{\"message\":\"this says reject-me\"}}\n      rejectionReason: \"rejected by the conformance plugin\" -> absent\n"
        ),
        "{text}"
    );

    // Told it is expected, with the reason: exit 0, the change still shown.
    let markdown = work.path().join("diff.md");
    let out = diff(
        &base_report,
        &filter_report,
        &[
            "--accept-answer-changes",
            "MessageWillBePosted=the filter moved server-side",
            "--markdown",
            markdown.to_str().unwrap(),
        ],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    assert!(text.contains("Accepted answer changes (1):"), "{text}");
    assert!(
        text.contains("accepted by \"MessageWillBePosted\": the filter moved server-side"),
        "{text}"
    );
    let md = std::fs::read_to_string(&markdown).unwrap();
    assert!(md.contains("**NO REGRESSION**"), "{md}");
    assert!(md.contains("### Accepted answer changes (1)"), "{md}");

    // A reason is required.
    let out = diff(
        &base_report,
        &filter_report,
        &["--accept-answer-changes", "MessageWillBePosted"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("GLOB=REASON"),
        "{}",
        explain(&out)
    );
    work.assert_clean();
}
