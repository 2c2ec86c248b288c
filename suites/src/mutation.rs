//! Which cases each mutant (`conformance_core::mutants`) is run against: the suite that
//! covers what the mutant breaks. A mutant is caught when at least one of these cases fails
//! against it; the cases are named in the score.

use std::collections::BTreeSet;

use conformance_core::mutants::{self, Mutant, Protocol};

use crate::api::api_cases;

/// One mutant and its selection (globs over case names, as `run --run/--skip` take them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MutantRun {
    pub mutant: Mutant,
    pub run: Vec<String>,
    pub skip: Vec<String>,
}

/// Cases of the ServeHTTP suite that measure memory and wait out timers; they check the
/// bridge's buffering, which no ServeHTTP mutant touches, and would add seconds each.
const SERVE_HTTP_HEAVY: &[&str] = &["serve-http/256mib-each-way", "serve-http/slow-reader"];

fn globs(patterns: &[&str]) -> Vec<String> {
    patterns.iter().map(|p| p.to_string()).collect()
}

/// Every API case (`api/<name>`) with a step that calls `rpc`.
fn api_cases_calling(rpc: &str) -> Vec<String> {
    api_cases()
        .into_iter()
        .filter(|c| c.steps.iter().any(|s| s.call == rpc))
        .map(|c| format!("api/{}", c.name))
        .collect()
}

/// The selection for `mutant`.
pub fn selection(mutant: &Mutant) -> MutantRun {
    let (run, skip): (Vec<String>, Vec<String>) = match mutant {
        Mutant::ApiDefault(rpc) | Mutant::ApiDropField(rpc, _) => (api_cases_calling(rpc), vec![]),
        Mutant::HookZeroField(hook) | Mutant::HookIgnoreAnswer(hook) if hook == "ServeHTTP" => (
            globs(&["hooks/ServeHTTP/*", "serve-http/*"]),
            globs(SERVE_HTTP_HEAVY),
        ),
        Mutant::HookZeroField(hook) | Mutant::HookIgnoreAnswer(hook) => {
            (vec![format!("hooks/{hook}/*")], vec![])
        }
        Mutant::Protocol(p) => protocol_selection(*p),
        // The plugin suite's lifecycle cases (the clauses these modes break), against a
        // bundle of the broken plugin: its hook and ServeHTTP cases only fail for want of
        // a started plugin, after the start timeout.
        Mutant::PluginMode(_) => (
            globs(&["plugin/handshake/*", "plugin/health/*", "plugin/shutdown/*"]),
            vec![],
        ),
    };
    MutantRun {
        mutant: mutant.clone(),
        run,
        skip,
    }
}

fn protocol_selection(p: Protocol) -> (Vec<String>, Vec<String>) {
    use Protocol::*;
    let run = match p {
        NoMagicCookie | NoProtocolVersions | ApiTargetNowhere | ApiServerAfterPlugin
        | SharedProcessGroup => globs(&["environment/*"]),
        HandshakeFromStderr | HandshakeSecondLine => globs(&["handshake/*"]),
        HealthWrongService => globs(&["health/*"]),
        ImplementedIgnored | HookDeadlineIgnored => globs(&["hooks/*"]),
        ChunkOver64k | FlushIgnored | HeadersCollapsed | NoBodyComplete => globs(&["serve-http/*"]),
        ApiStoppedBeforePlugin | NoKillAfterGrace | KillLeaderOnly => globs(&["shutdown/*"]),
        DialsAnyAddress => globs(&["security/*"]),
        NoRestart => globs(&["restart/*"]),
        OverLimitOutOfRange => globs(&["faults/*"]),
        KvNotNamespaced => globs(&["api/KV*"]),
        AppErrorWrongChannel | NotFoundWrongCode => globs(&["api/*"]),
        ManifestPathUnchecked | InterpreterPathFirst => globs(&["manifest/*"]),
        StdoutNotDrained => globs(&["logs/*"]),
    };
    let skip = if run.iter().any(|g| g == "serve-http/*") {
        globs(SERVE_HTTP_HEAVY)
    } else {
        vec![]
    };
    (run, skip)
}

/// Every mutant with its selection: the generated ones, then the catalogue.
pub fn plan() -> Vec<MutantRun> {
    mutants::generated()
        .iter()
        .chain(mutants::catalogue().iter())
        .map(selection)
        .collect()
}

/// The union of the host mutants' selections (for the unmutated baseline run).
pub fn baseline(plan: &[MutantRun]) -> Vec<String> {
    let all: BTreeSet<&String> = plan
        .iter()
        .filter(|r| !matches!(r.mutant, Mutant::PluginMode(_)))
        .flat_map(|r| r.run.iter())
        .collect();
    all.into_iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mutant_selects_existing_cases() {
        let names: Vec<String> = crate::all().into_iter().map(|c| c.name).collect();
        for run in plan()
            .into_iter()
            .filter(|r| !matches!(r.mutant, Mutant::PluginMode(_)))
        {
            let filter = conformance_core::runner::Filter::new(&run.run, &run.skip)
                .unwrap_or_else(|e| panic!("{}: {e}", run.mutant));
            let selected = names.iter().filter(|n| filter.selects(n)).count();
            assert!(selected > 0, "{} selects no case", run.mutant);
        }
    }

    #[test]
    fn an_api_mutant_runs_the_cases_that_call_its_rpc() {
        let run = selection(&Mutant::ApiDefault("KVGet".into()));
        assert!(
            run.run
                .contains(&"api/KVGet/missing-key-is-empty".to_string())
        );
        assert!(run.run.contains(&"api/KVSet/round-trip".to_string()));
        assert!(run.run.iter().all(|n| n.starts_with("api/")));
    }
}
