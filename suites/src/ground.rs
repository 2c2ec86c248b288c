//! Where the hook cases' expectations come from upstream: one line per source, as
//! `Case::provenance` carries them (repository path, function or test, commit read).

/// Mattermost's hook client: `server/public/plugin/hooks_grpc_client.go`, method or
/// conversion `func` (read at d6a7645f; 01643af6 is the same code).
pub fn client(func: &str) -> String {
    format!("mattermost server/public/plugin/hooks_grpc_client.go {func} @d6a7645f")
}

/// The upstream Python SDK's hook servicer, method `method`.
pub fn sdk(method: &str) -> String {
    format!(
        "mattermost python-sdk/src/mattermost_plugin/servicers/hooks_servicer.py {method} @00ec721e"
    )
}

/// The upstream SDK's hook runner: a raised exception becomes a non-OK status.
pub fn sdk_runner() -> String {
    "mattermost python-sdk/src/mattermost_plugin/_internal/hook_runner.py invoke_hook_safe, \
     convert_hook_error_to_grpc_status (tests/test_hook_runner.py @cf89dd1b)"
        .to_string()
}

/// Mattermost's plugin environment, function `func`.
pub fn environment(func: &str) -> String {
    format!("mattermost server/public/plugin/environment.go {func} @03714fd9")
}

/// Mattermost's application code: `path` (under server/channels/app), function `func`.
pub fn app(path: &str, func: &str) -> String {
    format!("mattermost server/channels/app/{path} {func}")
}

/// The behaviour the conformance plugins follow (`fixtures/plugins/BEHAVIOUR.md`), row `row`.
pub fn behaviour(row: &str) -> String {
    format!("fixtures/plugins/BEHAVIOUR.md {row}")
}

/// The conveyance tables (`fixtures/protocol/hook-*.tsv`), derived from the hook client.
pub fn conveyance() -> String {
    "fixtures/protocol/hook-request-conveyance.tsv, hook-answer-application.tsv (from \
     hooks_grpc_client.go @d6a7645f)"
        .to_string()
}

/// The client method of `hook` and the SDK servicer method of it.
pub fn hook(hook: &str) -> Vec<String> {
    vec![
        client(&format!("hooksGRPCClient.{hook}")),
        sdk(&format!("PluginHooksServicerImpl.{hook}")),
    ]
}

/// The upstream ground of a hook case by its name, for the cases built without one
/// (empty when the name is not a hook case's).
pub fn for_case(name: &str) -> Vec<String> {
    let parts: Vec<&str> = name.split('/').collect();
    let integration = |test: &str| {
        format!("mattermost server/public/pluginapi/grpc/server/integration_test.go {test}")
    };
    // The hook a case is about: `hooks/<Hook>/...`, `host/hooks/<Hook>/...`,
    // `plugin/hooks/<Hook>`, `plugin/behaviour/<Hook>/...`.
    let hook = match parts.as_slice() {
        ["hooks" | "hooks-python", hook, ..] => Some(*hook),
        ["host", "hooks", hook, ..] => Some(*hook),
        ["plugin", "hooks" | "behaviour", hook, ..] => Some(*hook),
        _ => None,
    }
    .filter(|h| h.chars().next().is_some_and(|c| c.is_ascii_uppercase()));
    let last = parts.last().copied().unwrap_or_default();
    match (hook, last) {
        (Some("ServeHTTP"), _) => vec![
            client("hooksGRPCClient.ServeHTTP, sendHTTPRequest, buildServeHTTPRequestInit"),
            sdk("PluginHooksServicerImpl.ServeHTTP"),
            behaviour("ServeHTTP"),
        ],
        (Some("OnActivate"), "refused") => vec![
            client("hooksGRPCClient.OnActivate, appErrorFromProto"),
            environment("Environment.Activate (an OnActivate error stops the plugin)"),
            sdk("PluginHooksServicerImpl.OnActivate"),
            integration("TestPythonPluginActivationFailure"),
        ],
        (Some("OnActivate"), "calls-the-api") => vec![
            client("newHooksGRPCClient (Implemented first), hooksGRPCClient.OnActivate"),
            integration("TestPythonPluginLifecycle"),
            behaviour("OnActivate"),
        ],
        (Some("OnDeactivate"), "before-shutdown") => vec![
            environment("Environment.Deactivate (OnDeactivate, then supervisor.Shutdown)"),
            "hashicorp/go-plugin client.go Client.Kill (GRPCController.Shutdown, then the wait)"
                .to_string(),
        ],
        (Some(hook), "intact") => vec![
            client(&format!("hooksGRPCClient.{hook}")),
            conveyance(),
            sdk(&format!("PluginHooksServicerImpl.{hook}")),
            behaviour(hook),
        ],
        (Some(hook), _) if parts[0] == "plugin" => vec![
            sdk(&format!("PluginHooksServicerImpl.{hook}")),
            sdk_runner(),
            client(&format!("hooksGRPCClient.{hook}")),
        ],
        (Some(hook), _) => hook_lines(hook),
        (None, "unlisted-never-called") => vec![
            client("newHooksGRPCClient, init (hookNameToId)"),
            environment("Environment.RunMultiPluginHook (plugins that do not implement a hook are skipped)"),
            "mattermost server/public/plugin/python_integration_test.go TestPythonPluginImplementsChecking"
                .to_string(),
        ],
        (None, "unknown-names-ignored") => {
            vec![client("newHooksGRPCClient (unknown hook names are logged and ignored)")]
        }
        (None, "deadline") => vec![client(
            "defaultGRPCTimeout; hooksGRPCClient.MessageWillBePosted (a failed call: the post unchanged)",
        )],
        (None, "concurrent") => vec![integration("TestIntegrationConcurrentHookCalls")],
        (None, "health-and-shutdown") => vec![
            "mattermost python-sdk/src/mattermost_plugin/server.py (health SERVING; no GRPCController)"
                .to_string(),
            "hashicorp/go-plugin client.go Client.Kill (GRPCController.Shutdown, then the wait)"
                .to_string(),
            behaviour("Configuration and reporting"),
        ],
        (None, "coverage") => vec![
            "mattermost server/public/pluginapi/grpc/proto/hooks.proto (service PluginHooks)"
                .to_string(),
        ],
        _ => Vec::new(),
    }
}

fn hook_lines(hook: &str) -> Vec<String> {
    self::hook(hook)
}

/// Fills the provenance of every case in `cases` that has none from its name.
pub fn fill(cases: &mut [conformance_core::runner::Case]) {
    for case in cases.iter_mut() {
        if case.provenance.is_empty() {
            case.provenance = for_case(&case.name);
        }
    }
}
