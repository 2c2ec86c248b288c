//! `plugin-conformance plugin --bundle DIR`: any plugin bundle (a third-party plugin, an
//! SDK release's example) checked through the reference host. Every case starts the
//! user's bundle as it is, judges the plugin (not the host) and says what to fix.
//!
//! * [`lifecycle`]: the bundle's launch plan, the handshake line (format, first line,
//!   loopback address, timing), health, `Implemented`, activation (with the PluginAPI
//!   calls the plugin makes as notes), and shutdown manners (GRPCController, the grace,
//!   SIGTERM, nothing left in the process group).
//! * [`hooks`]: one case per unary `PluginHooks` rpc of the contract: called with a fully
//!   populated request when the plugin lists it, skipped otherwise; the answer's shape is
//!   checked (decodes, AppErrors carry an id and an HTTP status, rejections a reason).
//! * [`http`]: `ServeHTTP`, when listed: a GET through the reference host's HTTP bridge
//!   and on the raw stream, a chunked request body, the response stream's shape.
//! * [`behaviour`]: `fixtures/plugins/BEHAVIOUR.md`, only for a plugin that declares it
//!   implements it, with `"props": {"conformance_behaviour": "v2"}` in its `plugin.json`
//!   (see [`BEHAVIOUR_PROP`]). Those cases start a scratch copy of the bundle with the
//!   runner's `conformance.json`; the user's bundle is never written to.
//! * [`stimuli`]: the user's own requests (`--stimuli FILE`), one case each.
//!
//! Every hook answer is recorded in the case's answer snapshots, for `diff`.
//!
//! Levels follow docs/SPEC.md: what a Mattermost host needs to run the plugin is MUST; what
//! the host tolerates but a well-behaved plugin does (a GRPCController, exiting on SIGTERM,
//! a loopback address) is SHOULD; what only matches the SDK is MAY.

mod behaviour;
pub mod gate;
mod hooks;
mod http;
mod lifecycle;
pub mod stimuli;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use conformance_core::behaviour::canonical_json;
use conformance_core::runner::{AnswerSnapshot, Case, Ctx, Level, Subject};
use conformance_core::supervisor::hooks::{Activation, HookOutcome};
use conformance_core::supervisor::{self, HostConfig, RunningPlugin};
use prost_reflect::DynamicMessage;

/// The manifest `props` key by which a plugin declares it implements
/// `fixtures/plugins/BEHAVIOUR.md`, and the version of the behaviour this harness checks.
pub const BEHAVIOUR_PROP: &str = "conformance_behaviour";
pub const BEHAVIOUR_VERSION: &str = "v2";

/// The case name prefix.
pub const SUITE: &str = "plugin";

/// Every case for the bundle in `bundle`, in a stable order. The behaviour cases are
/// listed only when the bundle's manifest declares the behaviour (read now, so that the
/// list is known before anything runs).
pub fn cases(bundle: &Path) -> Vec<Case> {
    cases_with_stimuli(bundle, Vec::new())
}

/// [`cases`], then one case per user-supplied request (`plugin/stimuli/<name>`).
pub fn cases_with_stimuli(bundle: &Path, user_stimuli: Vec<stimuli::Stimulus>) -> Vec<Case> {
    let bundle = Arc::new(bundle.to_path_buf());
    let mut cases = lifecycle::cases(&bundle);
    cases.extend(hooks::cases(&bundle));
    cases.extend(http::cases(&bundle));
    if declared_behaviour(&bundle).as_deref() == Some(BEHAVIOUR_VERSION) {
        cases.extend(behaviour::cases(&bundle));
    }
    cases.extend(stimuli::cases(&bundle, user_stimuli));
    crate::ground::fill(&mut cases);
    for case in &mut cases {
        case.needs = needs(&case.name);
    }
    cases
}

/// The case every other needs: a bundle the host can launch at all.
pub const LAUNCH_PLAN: &str = "plugin/bundle/launch-plan";
/// The case hook, HTTP, activation and behaviour cases need: `Implemented` answers.
pub const IMPLEMENTED: &str = "plugin/implemented/answers";

/// What the case `name` needs to have passed: when a root cause fails (a manifest
/// Mattermost could not launch, a plugin without `PluginHooks`), the cases that depend
/// on it are reported blocked by it instead of repeating its failure.
fn needs(name: &str) -> Vec<String> {
    let calls_hooks = [
        "plugin/hooks/",
        "plugin/serve-http/",
        "plugin/behaviour/",
        "plugin/stimuli/",
    ]
    .iter()
    .any(|p| name.starts_with(p))
        || name == "plugin/activation"
        || name == "plugin/activation/no-error-logs";
    match name {
        LAUNCH_PLAN => Vec::new(),
        _ if calls_hooks => vec![LAUNCH_PLAN.to_string(), IMPLEMENTED.to_string()],
        IMPLEMENTED => vec![LAUNCH_PLAN.to_string()],
        _ => vec![LAUNCH_PLAN.to_string()],
    }
}

/// The value of `props.conformance_behaviour` in the bundle's `plugin.json`, if any.
pub fn declared_behaviour(bundle: &Path) -> Option<String> {
    let text =
        std::fs::read_to_string(bundle.join(conformance_core::manifest::MANIFEST_FILE)).ok()?;
    let manifest: serde_json::Value = serde_json::from_str(&text).ok()?;
    manifest["props"][BEHAVIOUR_PROP]
        .as_str()
        .map(str::to_string)
}

/// A case of this suite: `plugin/<name>`, judging the plugin.
fn case<F, Fut>(
    bundle: &Arc<PathBuf>,
    name: &str,
    level: Level,
    clause: &str,
    summary: &str,
    body: F,
) -> Case
where
    F: Fn(Ctx, Arc<PathBuf>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let bundle = bundle.clone();
    let gate = gate::gate_for(&bundle);
    Case::new(
        &format!("{SUITE}/{name}"),
        level,
        clause,
        summary,
        move |ctx| gate::within(gate.clone(), ctx.clone(), body(ctx, bundle.clone())),
    )
    .subject(Subject::Plugin)
}

/// Starts the bundle through the reference host. A start that collided with another
/// copy of the bundle on a fixed address is made again once the case runs alone
/// ([`gate`]).
async fn launch(
    ctx: &Ctx,
    bundle: &Path,
    config: HostConfig,
) -> Result<RunningPlugin, supervisor::LaunchFailure> {
    let started = supervisor::start(bundle, config.clone()).await;
    if let Err(failure) = &started
        && gate::collided(failure)
        && gate::wait_alone_after_collision().await
    {
        ctx.note(format!(
            "a start collided with another copy of the bundle ({failure}); started again alone"
        ));
        return supervisor::start(bundle, config).await;
    }
    started
}

/// Starts the bundle ([`launch`]); records the assertion, and on failure the host's
/// diagnosis and the plugin's last stderr lines.
async fn start(ctx: &Ctx, bundle: &Path, config: HostConfig) -> anyhow::Result<RunningPlugin> {
    let started = launch(ctx, bundle, config).await;
    match started {
        Ok(plugin) => {
            ctx.check("plugin started", "started", "started", true);
            Ok(plugin)
        }
        Err(failure) => {
            ctx.check(
                "plugin started",
                "started through the reference host",
                failure.to_string(),
                false,
            );
            note_logs(ctx, &failure.logs);
            anyhow::bail!("the plugin did not start: {failure}")
        }
    }
}

/// Starts and activates the bundle (`Implemented`, then `OnActivate` if listed).
async fn activated(ctx: &Ctx, bundle: &Path) -> anyhow::Result<(RunningPlugin, Activation)> {
    let mut plugin = start(ctx, bundle, HostConfig::default()).await?;
    match plugin.activate().await {
        Ok(activation) => {
            ctx.check(
                "activated",
                "Implemented, then OnActivate",
                "activated",
                true,
            );
            Ok((plugin, activation))
        }
        Err(e) => {
            ctx.check(
                "activated",
                "Implemented, then OnActivate",
                e.to_string(),
                false,
            );
            finish(ctx, plugin).await;
            anyhow::bail!("activation failed: {e}")
        }
    }
}

/// Notes what the plugin did through the host (PluginAPI calls, API log lines), stops it
/// in upstream order, then notes every line it wrote to stderr (shutdown included).
async fn finish(ctx: &Ctx, plugin: RunningPlugin) -> supervisor::ShutdownReport {
    note_api_calls(ctx, &plugin);
    let logs = plugin.logs.clone();
    let report = plugin.shutdown().await;
    note_logs(ctx, &logs);
    report
}

/// The plugin's stderr lines as notes, each with the level go-plugin's `logStderr` gives
/// it (SPEC §8.4), and how many were dropped when the plugin wrote more than is kept.
fn note_logs(ctx: &Ctx, logs: &supervisor::PluginLogs) {
    for line in logs.lines() {
        ctx.note(line.note());
    }
    if logs.dropped() > 0 {
        ctx.note(format!(
            "{}: {} earlier line(s) not kept",
            conformance_core::report::PLUGIN_LOG_NOTE.trim_end(),
            logs.dropped()
        ));
    }
}

/// Records what the plugin answered to `request` (labelled `label`, stable across runs)
/// in the case's answer snapshots, for `diff` to compare behaviour.
fn record_answer(
    ctx: &Ctx,
    hook: &str,
    label: &str,
    request: &DynamicMessage,
    outcome: &HookOutcome,
) {
    let (answer, error) = match outcome {
        HookOutcome::NotCalled => return,
        HookOutcome::Answered(answer) => (Some(canonical_json(answer)), None),
        HookOutcome::Failed { code, message } => (None, Some(format!("{code:?}: {message}"))),
        HookOutcome::TimedOut(after) => (None, Some(format!("no answer within {after:?}"))),
    };
    ctx.record_answer(AnswerSnapshot {
        hook: hook.to_string(),
        request_label: label.to_string(),
        request: canonical_json(request),
        answer,
        error,
    });
}

/// Every PluginAPI call the plugin made so far, as notes.
fn note_api_calls(ctx: &Ctx, plugin: &RunningPlugin) {
    for call in plugin.api_calls() {
        ctx.note(format!("PluginAPI call: {} → {}", call.rpc, call.outcome));
    }
    for line in plugin.api_log_lines() {
        ctx.note(format!("PluginAPI log: {line}"));
    }
}

/// Case timeout for cases that may wait on a hook deadline (30 s) after a start and an
/// activation, so that a hanging plugin is diagnosed by the deadline, not the case timeout.
const HOOK_CASE_TIMEOUT: Duration = Duration::from_secs(120);

use crate::support::clip;

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn names(manifest: &str) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("plugin.json"), manifest).unwrap();
        cases(dir.path()).into_iter().map(|c| c.name).collect()
    }

    #[test]
    fn behaviour_cases_only_when_declared_every_hook_covered_names_unique() {
        let plain = r#"{"id": "com.example.x", "server": {"executable": "plugin.py"}}"#;
        let declared = r#"{"id": "com.example.x", "server": {"executable": "plugin.py"},
            "props": {"conformance_behaviour": "v2"}}"#;
        let other = r#"{"id": "com.example.x", "props": {"conformance_behaviour": "v1"}}"#;
        let behaviour = |n: &Vec<String>| {
            n.iter()
                .filter(|n| n.starts_with("plugin/behaviour/"))
                .count()
        };

        let listed = names(plain);
        assert_eq!(behaviour(&listed), 0);
        assert_eq!(behaviour(&names(other)), 0);
        let with = names(declared);
        assert!(behaviour(&with) > 40, "{with:?}");
        for n in [&listed, &with] {
            let unique: BTreeSet<&String> = n.iter().collect();
            assert_eq!(unique.len(), n.len(), "duplicate names");
            assert!(n.iter().all(|n| n.starts_with("plugin/")));
        }
        for (hook, _) in pluginapi_proto::hooks::HOOK_RPCS {
            let covered = match *hook {
                "Implemented" => "plugin/implemented/answers".to_string(),
                "ServeHTTP" => "plugin/serve-http/get".to_string(),
                h => format!("plugin/hooks/{h}"),
            };
            assert!(listed.contains(&covered), "{hook} has no case");
            if *hook != "ServeHTTP" {
                assert!(
                    with.contains(&format!("plugin/behaviour/{hook}/answers")),
                    "{hook}"
                );
            }
        }
    }
}
