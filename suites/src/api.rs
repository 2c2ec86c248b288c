//! The API suite: the declarative cases of `suites/api/*.json`, each run from inside a
//! plugin process (the fake interpreter's `api-exerciser` mode) against the PluginAPI
//! server of the reference host, plus a coverage case computed from the descriptors.

use std::collections::BTreeSet;
use std::time::Duration;

use conformance_core::apicase::{ApiCase, ApiCaseFile};
use conformance_core::fixtures::BundleBuilder;
use conformance_core::observe::Observed;
use conformance_core::runner::{Case, Ctx, Level};
use conformance_core::supervisor::HostConfig;

use crate::support::{observed, start_ok, wait_for};

/// The case files, embedded so the binary carries its specification.
pub const CASE_FILES: &[(&str, &str)] = &[
    ("kv.json", include_str!("../api/kv.json")),
    ("server.json", include_str!("../api/server.json")),
    ("users.json", include_str!("../api/users.json")),
    ("teams.json", include_str!("../api/teams.json")),
    ("channels.json", include_str!("../api/channels.json")),
    ("posts.json", include_str!("../api/posts.json")),
    ("files.json", include_str!("../api/files.json")),
    ("bots.json", include_str!("../api/bots.json")),
    ("commands.json", include_str!("../api/commands.json")),
    ("config.json", include_str!("../api/config.json")),
    ("plugins.json", include_str!("../api/plugins.json")),
    ("misc.json", include_str!("../api/misc.json")),
    ("groups.json", include_str!("../api/groups.json")),
    ("properties.json", include_str!("../api/properties.json")),
    (
        "shared_channels.json",
        include_str!("../api/shared_channels.json"),
    ),
];

/// Every API case of every file; panics on a malformed file (a unit test parses them all).
pub fn api_cases() -> Vec<ApiCase> {
    CASE_FILES
        .iter()
        .flat_map(|(name, text)| {
            ApiCaseFile::parse(text)
                .unwrap_or_else(|e| panic!("suites/api/{name} is malformed: {e}"))
                .cases
        })
        .collect()
}

/// PluginAPI rpcs that no case covers (by the cases' `rpc` field).
pub fn uncovered(cases: &[ApiCase]) -> Vec<String> {
    let covered: BTreeSet<&str> = cases.iter().map(|c| c.rpc.as_str()).collect();
    pluginapi_proto::descriptor_pool()
        .get_service_by_name(pluginapi_proto::service_names::PLUGIN_API)
        .expect("PluginAPI is compiled in")
        .methods()
        .map(|m| m.name().to_string())
        .filter(|m| !covered.contains(m.as_str()))
        .collect()
}

/// How long the exerciser may take for one case (expiry cases wait on the clock).
const CASE_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs one API case from inside a fake plugin and replays its checks.
async fn run_api_case(ctx: Ctx, case: ApiCase) -> anyhow::Result<()> {
    let file = ctx.scratch.join("case.json");
    std::fs::write(
        &file,
        serde_json::to_string(&ApiCaseFile {
            cases: vec![case.clone()],
        })?,
    )?;
    let (bundle, plugin) = start_ok(
        &ctx,
        BundleBuilder::new("api-exerciser")
            .option("cases", file.display())
            .plugin_id(&format!(
                "com.mattermost.conformance.api-{}",
                &conformance_core::api::handlers::common::new_id()[..10]
            )),
        HostConfig::default(),
    )
    .await?;
    let done = wait_for(CASE_TIMEOUT - Duration::from_secs(2), || {
        observed(&bundle, |e| match e {
            Observed::ApiCaseDone { error, .. } => Some(error.clone()),
            _ => None,
        })
        .into_iter()
        .next()
    })
    .await;
    match done {
        None => {
            ctx.check("the case ran to its end", "done", "no end reported", false);
        }
        Some(Some(error)) => {
            ctx.check("the case could run", "a PluginAPI connection", error, false);
        }
        Some(None) => {
            for report in observed(&bundle, |e| match e {
                Observed::ApiStep { report, .. } => Some(report.clone()),
                _ => None,
            }) {
                for a in report.assertions {
                    ctx.check(&a.name, a.expected, a.seen, a.passed);
                }
            }
        }
    }
    for call in plugin.api_calls() {
        ctx.note(format!("api call {} -> {}", call.rpc, call.outcome));
    }
    for line in plugin.api_log_lines() {
        ctx.note(format!("plugin log {line}"));
    }
    plugin.shutdown().await;
    Ok(())
}

fn clause_of(case: &ApiCase) -> String {
    case.clause.clone().unwrap_or_else(|| {
        format!(
            "api-methods.tsv {} ({}), PROTOCOL.md §10.1",
            case.rpc,
            conformance_core::api::regime::api_methods()
                .get(&case.rpc)
                .map_or("unknown rpc", |m| m.note.as_str())
        )
    })
}

pub fn cases() -> Vec<Case> {
    let all = api_cases();
    let mut out: Vec<Case> = all
        .iter()
        .map(|case| {
            let body_case = case.clone();
            Case::new(
                &format!("api/{}", case.name),
                case.level,
                &clause_of(case),
                &case.summary,
                move |ctx| run_api_case(ctx, body_case.clone()),
            )
            .timeout(CASE_TIMEOUT)
        })
        .collect();
    out.push(Case::new(
        "api/coverage",
        Level::Must,
        "contract: every PluginAPI rpc",
        "every rpc of mattermost.pluginapi.v1.PluginAPI, as compiled, has at least one API case",
        move |ctx| {
            let missing = uncovered(&all);
            async move {
                ctx.eq("rpcs without a case", Vec::<String>::new(), missing);
                Ok(())
            }
        },
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_files_parse_and_name_real_rpcs() {
        let rpcs: BTreeSet<&str> = pluginapi_proto::api::API_RPCS
            .iter()
            .map(|(n, _)| *n)
            .collect();
        let cases = api_cases();
        for c in &cases {
            assert!(
                rpcs.contains(c.rpc.as_str()),
                "{}: unknown rpc {}",
                c.name,
                c.rpc
            );
            assert!(
                c.name.starts_with(&format!("{}/", c.rpc)),
                "{} should start with {}/",
                c.name,
                c.rpc
            );
            for s in &c.steps {
                assert!(
                    rpcs.contains(s.call.as_str()),
                    "{}: unknown call {}",
                    c.name,
                    s.call
                );
            }
            assert!(
                c.steps.iter().any(|s| s.call == c.rpc),
                "{} never calls {}",
                c.name,
                c.rpc
            );
        }
    }

    #[test]
    fn removing_the_cases_of_one_rpc_fails_coverage() {
        let mut cases = api_cases();
        let victim = cases[0].rpc.clone();
        let before = uncovered(&cases);
        assert!(!before.contains(&victim));
        cases.retain(|c| c.rpc != victim);
        let after = uncovered(&cases);
        assert!(after.contains(&victim), "{victim} should now be uncovered");
        assert_eq!(after.len(), before.len() + 1);
    }
}
