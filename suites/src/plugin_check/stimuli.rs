//! `plugin --stimuli FILE`: requests of the user's choosing (a message with the word the
//! plugin filters, a command only it knows), one case each (`plugin/stimuli/<name>`).
//! Each is sent as given, its answer shape-checked like `plugin/hooks/*` and recorded for
//! `diff`, so a behaviour change that only shows for a plugin-specific request is seen.
//!
//! The file is a JSON array; each entry names the hook and gives its request in proto3
//! JSON (proto or JSON field names), with an optional name:
//!
//! ```json
//! [{"name": "filtered-word", "hook": "MessageWillBePosted",
//!   "request": {"post": {"message": "this says reject-me"}}}]
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use conformance_core::behaviour::{message_of, to_json};
use conformance_core::runner::{Case, Ctx, Level};
use prost_reflect::DynamicMessage;
use serde::Deserialize;

use super::{activated, case, clip, finish, record_answer};

/// One user-supplied request.
#[derive(Debug, Clone)]
pub struct Stimulus {
    /// The case is `plugin/stimuli/<name>`.
    pub name: String,
    pub hook: String,
    pub request: DynamicMessage,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    #[serde(default)]
    name: Option<String>,
    hook: String,
    #[serde(default)]
    request: serde_json::Value,
}

/// Why a stimuli file cannot be used; names the file and the entry.
#[derive(Debug, thiserror::Error)]
pub enum StimuliError {
    #[error("cannot read the stimuli file {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error(
        "the stimuli file {path} is not a JSON array of {{\"hook\", \"request\", \"name\"?}} entries: {error}"
    )]
    Shape {
        path: String,
        error: serde_json::Error,
    },
    #[error("{path}: entry {index}: {problem}")]
    Entry {
        path: String,
        index: usize,
        problem: String,
    },
}

/// Reads and checks a stimuli file: every hook is a unary `PluginHooks` rpc, every request
/// decodes as its request message, every name is unique and fit for a case name.
pub fn load(path: &Path) -> Result<Vec<Stimulus>, StimuliError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| StimuliError::Read {
        path: shown.clone(),
        error,
    })?;
    let entries: Vec<Entry> = serde_json::from_str(&text).map_err(|error| StimuliError::Shape {
        path: shown.clone(),
        error,
    })?;
    let mut stimuli: Vec<Stimulus> = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let index = i + 1;
        let fail = |problem: String| StimuliError::Entry {
            path: shown.clone(),
            index,
            problem,
        };
        let stimulus = parse(entry, index).map_err(fail)?;
        if stimuli.iter().any(|s| s.name == stimulus.name) {
            return Err(fail(format!(
                "the name {:?} is used twice; give each entry its own",
                stimulus.name
            )));
        }
        stimuli.push(stimulus);
    }
    Ok(stimuli)
}

fn parse(entry: Entry, index: usize) -> Result<Stimulus, String> {
    let hook = entry.hook.trim();
    match hook {
        "Implemented" => return Err("Implemented takes no request; every run calls it".into()),
        "ServeHTTP" => {
            return Err("ServeHTTP is a stream, not a request; stimuli are unary hooks".into());
        }
        _ => {}
    }
    let known = pluginapi_proto::hooks::HOOK_RPCS
        .iter()
        .any(|(name, _)| *name == hook);
    let desc = message_of(hook, "Request")
        .filter(|_| known)
        .ok_or_else(|| format!("{hook:?} is not a PluginHooks rpc (e.g. MessageWillBePosted)"))?;
    let request = if entry.request.is_null() {
        DynamicMessage::new(desc)
    } else {
        DynamicMessage::deserialize(desc, entry.request)
            .map_err(|e| format!("the request is not a {hook}Request in proto3 JSON: {e}"))?
    };
    let name = entry.name.unwrap_or_else(|| format!("{index}-{hook}"));
    let fit = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !fit {
        return Err(format!(
            "the name {name:?} must be letters, digits, '-', '_' or '.' (it becomes the case plugin/stimuli/NAME)"
        ));
    }
    Ok(Stimulus {
        name,
        hook: hook.to_string(),
        request,
    })
}

pub(super) fn cases(bundle: &Arc<PathBuf>, stimuli: Vec<Stimulus>) -> Vec<Case> {
    stimuli
        .into_iter()
        .map(|stimulus| {
            let stimulus = Arc::new(stimulus);
            let summary = format!(
                "the user's stimulus {}: if listed, {} answers it with a well-formed {}Response, or fails it with a non-OK status, never UNIMPLEMENTED; the answer is recorded for diff",
                stimulus.name, stimulus.hook, stimulus.hook
            );
            case(
                bundle,
                &format!("stimuli/{}", stimulus.name),
                Level::Must,
                "SPEC §10.2, §11, hooks.tsv",
                &summary,
                move |ctx, bundle| send(ctx, bundle, stimulus.clone()),
            )
            .timeout(super::HOOK_CASE_TIMEOUT)
        })
        .collect()
}

async fn send(ctx: Ctx, bundle: Arc<PathBuf>, stimulus: Arc<Stimulus>) -> anyhow::Result<()> {
    let (plugin, activation) = activated(&ctx, &bundle).await?;
    let hook = stimulus.hook.as_str();
    if !activation.implemented.contains(hook) {
        ctx.skip(&format!(
            "{hook} is not implemented by the plugin (not listed by Implemented)"
        ));
        finish(&ctx, plugin).await;
        return Ok(());
    }
    ctx.note(clip(format!(
        "{hook} with the stimulus request: {}",
        to_json(&stimulus.request)
    )));
    let outcome = if hook == "OnActivate" {
        // A second OnActivate is not what a host does; the one at activation is judged.
        ctx.note("OnActivate as called by the host at activation (the stimulus is not sent twice)");
        activation.on_activate.clone()
    } else {
        plugin.call_hook(hook, stimulus.request.clone()).await
    };
    record_answer(
        &ctx,
        hook,
        &format!("stimulus {}", stimulus.name),
        &stimulus.request,
        &outcome,
    );
    super::hooks::check_answer(&ctx, hook, &outcome);
    finish(&ctx, plugin).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Vec<Stimulus>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stimuli.json");
        std::fs::write(&path, text).unwrap();
        load(&path).map_err(|e| e.to_string())
    }

    #[test]
    fn entries_decode_with_default_names() {
        let stimuli = load_text(
            r#"[{"name": "filtered", "hook": "MessageWillBePosted",
                 "request": {"post": {"message": "reject-me"}}},
                {"hook": "ExecuteCommand", "request": {"args": {"command": "/hello"}}},
                {"hook": "OnDeactivate"}]"#,
        )
        .unwrap();
        let names: Vec<&str> = stimuli.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["filtered", "2-ExecuteCommand", "3-OnDeactivate"]);
        assert_eq!(to_json(&stimuli[0].request)["post"]["message"], "reject-me");
    }

    #[test]
    fn bad_entries_are_named() {
        for (text, expected) in [
            ("{}", "is not a JSON array"),
            (
                r#"[{"hook": "NoSuchHook"}]"#,
                "entry 1: \"NoSuchHook\" is not a PluginHooks rpc",
            ),
            (r#"[{"hook": "ServeHTTP"}]"#, "ServeHTTP is a stream"),
            (
                r#"[{"hook": "MessageWillBePosted", "request": {"post": {"nope": 1}}}]"#,
                "entry 1: the request is not a MessageWillBePostedRequest",
            ),
            (
                r#"[{"hook": "OnDeactivate", "name": "a"}, {"hook": "OnDeactivate", "name": "a"}]"#,
                "entry 2: the name \"a\" is used twice",
            ),
            (
                r#"[{"hook": "OnDeactivate", "name": "a/b"}]"#,
                "must be letters",
            ),
            (r#"[{"hook": "OnDeactivate", "extra": 1}]"#, "unknown field"),
        ] {
            let err = load_text(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }
}
