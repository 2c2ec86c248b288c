//! The API suite against one shared store, as it would run against a live server behind a
//! driver: no sessions, no per-call plugin identity, every case in a plugin of its own, all
//! at once on a seeded store. Every case must pass or be skipped by a capability or
//! destructive gate, and the server's configuration (plugin configuration included), licence,
//! plugins and the seeded users' roles must be as they were before (SPEC §25.3, §25.4).

use conformance_core::api::handlers::{self, Cx};
use conformance_core::api::{ApiOptions, SharedStore};
use conformance_core::runner::{RunOptions, Status, run_cases};
use conformance_suites::api::{ApiPolicy, Launcher, batched_cases};
use conformance_suites::hooks::Plugin;
use pluginapi_proto::pluginapi::{
    GetLicenseRequest, GetPluginsRequest, GetUnsanitizedConfigRequest, GetUserRequest,
};

/// What a case may change only if it restores it.
#[derive(Debug, PartialEq)]
struct Shared {
    config: serde_json::Value,
    license: Vec<u8>,
    plugins: String,
    /// Each seeded user's roles and deactivation.
    users: Vec<(String, String, i64)>,
}

fn snapshot(store: &SharedStore, user_ids: &[String]) -> Shared {
    let mut guard = store.lock().unwrap();
    let mut cx = Cx {
        store: &mut guard,
        plugin_id: "com.mattermost.conformance.snapshot",
        now: handlers::common::now_ms(),
        rpc: "snapshot",
        effect: None,
    };
    let config = handlers::get_unsanitized_config(&mut cx, GetUnsanitizedConfigRequest {})
        .expect("config")
        .config_json;
    let license = handlers::get_license(&mut cx, GetLicenseRequest {})
        .expect("license")
        .license_json;
    // The run's own exerciser plugins (and this snapshot's caller) are the host's doing,
    // not the cases': the reference server lists a plugin as installed once it calls.
    let plugins = format!(
        "{:?}",
        handlers::get_plugins(&mut cx, GetPluginsRequest {}).map(|r| r
            .manifests
            .into_iter()
            .filter(|m| !m.id.starts_with("com.mattermost.conformance."))
            .collect::<Vec<_>>())
    );
    let users = user_ids
        .iter()
        .map(|id| {
            let user = handlers::get_user(
                &mut cx,
                GetUserRequest {
                    user_id: id.clone(),
                },
            )
            .expect("seeded user")
            .user
            .expect("user");
            (user.username, user.roles, user.delete_at)
        })
        .collect();
    Shared {
        config: serde_json::from_slice(&config).expect("config is JSON"),
        license,
        plugins,
        users,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_api_suite_leaves_a_shared_server_as_it_found_it() {
    conformance_core::fixtures::fake_interpreter().expect("fake interpreter");
    let store = SharedStore::default();
    let seeded = conformance_core::api::seed::seed(
        &mut store.lock().unwrap(),
        "com.mattermost.conformance.seed",
    )
    .expect("seed");
    let before = snapshot(&store, &seeded.user_ids);
    let launcher = Launcher::Reference(ApiOptions {
        store: Some(store.clone()),
        sessions: false,
        plugin_identity: false,
    });
    let cases = batched_cases(
        Plugin::Fake,
        &launcher,
        "live",
        ApiPolicy::default(),
        &|_| true,
    );
    let total = cases.len();
    let (outcomes, _) = run_cases(cases, &RunOptions { jobs: 16 }, None)
        .await
        .expect("the run");
    let failures: Vec<String> = outcomes
        .iter()
        .filter(|o| o.status.is_failure())
        .map(|o| {
            format!(
                "{} [{:?}]: {}",
                o.name,
                o.status,
                o.message.clone().unwrap_or_default()
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {total} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let odd_skips: Vec<String> = outcomes
        .iter()
        .filter(|o| o.status == Status::Skipped)
        .filter_map(|o| {
            let why = o.message.clone().unwrap_or_default();
            (!why.contains("does not declare") && !why.starts_with("destructive"))
                .then(|| format!("{}: {why}", o.name))
        })
        .collect();
    assert!(
        odd_skips.is_empty(),
        "skipped for other reasons:\n{}",
        odd_skips.join("\n")
    );
    let ran = outcomes
        .iter()
        .filter(|o| o.status == Status::Passed)
        .count();
    assert!(
        ran * 2 > total,
        "only {ran} of {total} cases ran on the shared store"
    );
    let after = snapshot(&store, &seeded.user_ids);
    assert_eq!(before, after, "the shared server's state changed");
}
