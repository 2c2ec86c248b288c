//! `fixtures/plugins/BEHAVIOUR.md` for a plugin that declares it implements it
//! (`"props": {"conformance_behaviour": "v2"}` in `plugin.json`, [`super::BEHAVIOUR_PROP`]).
//!
//! BEHAVIOUR.md has the runner write `conformance.json` next to the plugin's script
//! (`observe`, `hooks`, `fail_activate`). The user's bundle is never written to: each case
//! mirrors it into its scratch directory (the script's directory chain as real
//! directories with their files copied, every other directory and large file linked) and
//! writes the runner's `conformance.json` there, with `hooks` = `"all"` and the
//! observation file in the scratch directory. The expected answers come from the same
//! model the hooks suite uses ([`conformance_core::behaviour`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use conformance_core::behaviour::{self, listed_hooks, message_of, to_json};
use conformance_core::manifest::{Manifest, script_path};
use conformance_core::observe::{Observed, read_all};
use conformance_core::requestgen::differences;
use conformance_core::runner::{Case, Ctx, Level};
use conformance_core::supervisor::hooks::{Activation, HookOutcome, apply};
use conformance_core::supervisor::{ControllerOutcome, HealthOutcome, HostConfig, RunningPlugin};
use pluginapi_proto::pluginapi::{HttpHeader, ServeHttpRequest};
use prost_reflect::DynamicMessage;
use serde_json::{Value as Json, json};

use super::http::{self, Raw};
use super::{case, clip, finish, start};

/// Files up to this size are copied into the scratch bundle; larger ones are linked.
const COPY_LIMIT: u64 = 1 << 20;
const CONFIG_FILE: &str = "conformance.json";
const CLAUSE: &str =
    "SPEC §25.6; fixtures/plugins/BEHAVIOUR.md (declared by props.conformance_behaviour)";

pub(super) fn cases(bundle: &Arc<PathBuf>) -> Vec<Case> {
    let mut cases: Vec<Case> = pluginapi_proto::hooks::HOOK_RPCS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| *name != "ServeHTTP")
        .map(|hook| {
            case(
                bundle,
                &format!("behaviour/{hook}/answers"),
                Level::Must,
                CLAUSE,
                &format!(
                    "{hook} answers fully populated requests (no marker, modify-me, reject-me, fail-me) as BEHAVIOUR.md says, and reports each request intact"
                ),
                move |ctx, bundle| answers(ctx, bundle, hook),
            )
            .timeout(super::HOOK_CASE_TIMEOUT)
        })
        .collect();
    cases.extend([
        case(
            bundle,
            "behaviour/OnActivate/calls-the-api",
            Level::Must,
            CLAUSE,
            "OnActivate calls GetServerVersion, then KVSet(\"conformance-activated\", \"1\") on the PluginAPI",
            calls_the_api,
        )
        .timeout(super::HOOK_CASE_TIMEOUT),
        case(
            bundle,
            "behaviour/ServeHTTP/intact",
            Level::Must,
            CLAUSE,
            "a ServeHTTP stream's first message is reported intact (multi-value headers included) and /echo streams the body back",
            serve_http_intact,
        )
        .timeout(super::HOOK_CASE_TIMEOUT),
        case(
            bundle,
            "behaviour/ServeHTTP/routes",
            Level::Must,
            CLAUSE,
            "every route of BEHAVIOUR.md answers as specified through the reference host's HTTP bridge",
            serve_http_routes,
        )
        .timeout(super::HOOK_CASE_TIMEOUT),
        case(
            bundle,
            "behaviour/health-and-shutdown",
            Level::Must,
            CLAUSE,
            "health \"plugin\" and \"\" answer SERVING; a plugin that serves Shutdown answers it and exits 0 within the grace (serving it is optional)",
            health_and_shutdown,
        ),
    ]);
    cases
}

/// Mirrors `src` into `dst`: real directories along `keep` (the script's directory
/// chain), files up to [`COPY_LIMIT`] and the script copied, everything else linked to
/// its resolved target. Leaves out `conformance.json` in the script's directory.
fn mirror(src: &Path, dst: &Path, keep: &[OsString], script: &OsString) -> std::io::Result<()> {
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let name = entry.file_name();
        let (from, to) = (entry.path(), dst.join(&name));
        let here = keep.is_empty();
        if here && name == CONFIG_FILE {
            continue;
        }
        let Ok(meta) = std::fs::metadata(&from) else {
            // A dangling link: keep it as it is.
            if let Ok(target) = std::fs::read_link(&from) {
                std::os::unix::fs::symlink(target, &to)?;
            }
            continue;
        };
        if meta.is_dir() && keep.first() == Some(&name) {
            mirror(&from, &to, &keep[1..], script)?;
        } else if meta.is_file() && (meta.len() <= COPY_LIMIT || (here && name == *script)) {
            std::fs::copy(&from, &to)?;
        } else {
            std::os::unix::fs::symlink(std::fs::canonicalize(&from)?, &to)?;
        }
    }
    Ok(())
}

/// Writes the scratch bundle of `src` into `dst` with the runner's `conformance.json`.
fn scratch_bundle(src: &Path, dst: &Path, observe: &Path) -> Result<(), String> {
    let manifest = Manifest::load(src).map_err(|e| e.to_string())?;
    let executable = manifest.executable().map_err(|e| e.to_string())?;
    let script = script_path(src, executable).map_err(|e| e.to_string())?;
    let script_dir = script.parent().unwrap_or(Path::new("")).to_path_buf();
    let keep: Vec<OsString> = script_dir
        .components()
        .map(|c| c.as_os_str().to_os_string())
        .collect();
    let script_name = script.file_name().unwrap_or_default().to_os_string();
    mirror(src, dst, &keep, &script_name)
        .map_err(|e| format!("copying the bundle into the scratch directory: {e}"))?;
    // The plugin's own settings stay; the runner's keys are the runner's.
    let mut config = std::fs::read_to_string(src.join(&script_dir).join(CONFIG_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<Json>(&t).ok())
        .filter(Json::is_object)
        .unwrap_or_else(|| json!({}));
    config["observe"] = json!(observe);
    config["hooks"] = json!("all");
    config["fail_activate"] = json!(false);
    config["fail_hooks"] = json!([]);
    config["hang_hooks"] = json!([]);
    std::fs::write(
        dst.join(&script_dir).join(CONFIG_FILE),
        serde_json::to_string_pretty(&config).expect("JSON serialises"),
    )
    .map_err(|e| format!("writing {CONFIG_FILE}: {e}"))
}

/// The started scratch copy and its observation file.
struct Declared {
    plugin: RunningPlugin,
    observations: PathBuf,
}

impl Declared {
    fn hook_calls(&self, hook: &str) -> Vec<Json> {
        read_all(&self.observations)
            .into_iter()
            .filter_map(|o| match o.event {
                Observed::HookCall { hook: h, request } if h == hook => Some(request),
                _ => None,
            })
            .collect()
    }
}

async fn start_declared(ctx: &Ctx, bundle: &Path) -> anyhow::Result<Declared> {
    let dir = ctx.scratch.join("bundle");
    let observations = ctx.scratch.join("observations.jsonl");
    let (src, dst, obs) = (bundle.to_path_buf(), dir.clone(), observations.clone());
    tokio::task::spawn_blocking(move || scratch_bundle(&src, &dst, &obs))
        .await?
        .map_err(anyhow::Error::msg)?;
    let plugin = start(ctx, &dir, HostConfig::default()).await?;
    Ok(Declared {
        plugin,
        observations,
    })
}

async fn activated_declared(ctx: &Ctx, bundle: &Path) -> anyhow::Result<(Declared, Activation)> {
    let mut declared = start_declared(ctx, bundle).await?;
    match declared.plugin.activate().await {
        Ok(activation) => {
            ctx.check(
                "activated",
                "Implemented, then OnActivate",
                "activated",
                true,
            );
            Ok((declared, activation))
        }
        Err(e) => {
            ctx.check(
                "activated",
                "Implemented, then OnActivate",
                e.to_string(),
                false,
            );
            finish(ctx, declared.plugin).await;
            anyhow::bail!("activation failed: {e}")
        }
    }
}

/// Requests beyond the populated ones, for answers that need a particular value.
fn specific_requests(hook: &str) -> Vec<(&'static str, Json)> {
    match hook {
        "ExecuteCommand" => vec![
            ("/echo", json!({"args": {"command": "/echo hello there"}})),
            ("unknown command", json!({"args": {"command": "/nosuch"}})),
        ],
        "UserWillLogIn" => vec![("user blocked", json!({"user": {"username": "blocked"}}))],
        "RunDataRetention" => vec![
            (
                "batch of 50",
                json!({"now_time": 1_700_000_000_000i64, "batch_size": 50}),
            ),
            (
                "negative batch",
                json!({"now_time": 1_700_000_000_000i64, "batch_size": -1}),
            ),
        ],
        "MessagesWillBeConsumed" => vec![(
            "two posts",
            json!({"posts": [{"message": "a"}, {"message": "b"}]}),
        )],
        _ => Vec::new(),
    }
}

/// The markers `hook` answers to (BEHAVIOUR.md's triggers).
fn markers(hook: &str) -> Vec<&'static str> {
    if hook == "Implemented" || behaviour::CONFIGURED_HOOKS.contains(&hook) {
        return Vec::new();
    }
    let mut out = vec![
        behaviour::MODIFY,
        behaviour::REJECT,
        behaviour::FAIL,
        behaviour::RAISE,
    ];
    match hook {
        "MessageWillBePosted" | "MessageWillBeUpdated" => out.push(behaviour::DISMISS),
        "MessagesWillBeConsumed" => out.push(behaviour::DROP),
        _ => {}
    }
    out
}

async fn answers(ctx: Ctx, bundle: Arc<PathBuf>, hook: &'static str) -> anyhow::Result<()> {
    let (declared, activation) = activated_declared(&ctx, &bundle).await?;
    let missing: Vec<String> = listed_hooks()
        .into_iter()
        .filter(|h| !activation.implemented.contains(h))
        .collect();
    ctx.eq(
        "hooks not listed (conformance.json says \"all\": every hook but Implemented)",
        Vec::<String>::new(),
        missing,
    );
    let desc = message_of(hook, "Request").expect("every hook has a request message");
    let mut sent: Vec<(String, DynamicMessage)> = std::iter::once("plain")
        .chain(markers(hook))
        .filter_map(|tag| Some((tag.to_string(), behaviour::populated(hook, tag)?)))
        .collect();
    for (label, json) in specific_requests(hook) {
        sent.push((
            label.to_string(),
            DynamicMessage::deserialize(desc.clone(), json)?,
        ));
    }
    for (label, request) in &sent {
        let outcome = declared.plugin.call_hook(hook, request.clone()).await;
        super::record_answer(&ctx, hook, label, request, &outcome);
        let answer = match &outcome {
            HookOutcome::Answered(answer) => Ok(answer),
            other => Err(other.describe()),
        };
        crate::hooks::check_answer_as(
            &ctx,
            &format!("answer to the {label} request"),
            hook,
            request,
            answer.as_ref().map(|a| *a).map_err(String::as_str),
        );
        ctx.note(clip(format!(
            "{label}: the host applies {}",
            apply(hook, request, &outcome)
        )));
    }
    // Every request reported before it was answered, in order, with every field the host
    // conveys intact. Implemented is reported when the plugin can see it (an SDK-built
    // plugin cannot); OnActivate was called once more at activation, first.
    let seen = declared.hook_calls(hook);
    let before = usize::from(hook == "OnActivate" || (hook == "Implemented" && !seen.is_empty()));
    if hook == "Implemented" && seen.is_empty() {
        ctx.note("the plugin does not report Implemented calls (BEHAVIOUR.md makes that optional)");
    } else {
        ctx.eq(
            "hook_call lines in the observe file of conformance.json",
            sent.len() + before,
            seen.len(),
        );
        for ((label, request), json) in sent.iter().zip(seen.iter().skip(before)) {
            crate::hooks::check_seen_intact_as(
                &ctx,
                &format!("the {label} request"),
                hook,
                request,
                json,
            );
        }
    }
    finish(&ctx, declared.plugin).await;
    Ok(())
}

async fn calls_the_api(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    let (declared, _activation) = activated_declared(&ctx, &bundle).await?;
    let calls: Vec<String> = declared
        .plugin
        .api_calls()
        .into_iter()
        .map(|c| format!("{} {}", c.rpc, c.outcome))
        .collect();
    ctx.eq(
        "PluginAPI calls made by OnActivate",
        vec!["GetServerVersion ok".to_string(), "KVSet ok".to_string()],
        calls,
    );
    finish(&ctx, declared.plugin).await;
    Ok(())
}

async fn serve_http_intact(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    let (declared, _activation) = activated_declared(&ctx, &bundle).await?;
    let headers = vec![
        HttpHeader {
            key: "Content-Type".into(),
            values: vec!["text/plain".into()],
        },
        HttpHeader {
            key: "X-Multi".into(),
            values: vec!["a".into(), "b".into()],
        },
    ];
    let mut init = http::init("POST", "/echo?x=1", headers, 11);
    init.request_uri = "/plugins/p/echo?x=1".into();
    let first = ServeHttpRequest {
        init: Some(init),
        body_chunk: b"hello ".to_vec(),
        body_complete: false,
    };
    let last = ServeHttpRequest {
        init: None,
        body_chunk: b"world".to_vec(),
        body_complete: true,
    };
    let outcome = http::raw(&declared.plugin, vec![first.clone(), last]).await;
    match &outcome {
        Raw::Answered { messages, end, .. } => {
            let status = messages
                .first()
                .and_then(|m| m.init.as_ref())
                .map(|i| i.status_code);
            ctx.eq("status", Some(200), status);
            let body: Vec<u8> = messages.iter().flat_map(|m| m.body_chunk.clone()).collect();
            ctx.eq(
                "echoed body",
                "hello world".to_string(),
                String::from_utf8_lossy(&body).into_owned(),
            );
            ctx.eq(
                "body_complete",
                true,
                messages.iter().any(|m| m.body_complete),
            );
            ctx.eq("stream end", Ok(()), end.clone());
        }
        Raw::NotOpened(e) => {
            ctx.check("stream opened", "opened", e, false);
        }
        Raw::TimedOut => {
            ctx.check("answered", "an answer", "no answer", false);
        }
    }
    let desc = message_of("ServeHTTP", "Request").expect("descriptor");
    let sent = behaviour::dynamic_of(&first, desc.clone());
    match declared.hook_calls("ServeHTTP").into_iter().next() {
        Some(json) => {
            let diffs = match DynamicMessage::deserialize(desc, json) {
                Ok(parsed) => differences(&to_json(&sent), &to_json(&parsed)),
                Err(e) => vec![format!("the reported message does not parse: {e}")],
            };
            ctx.check(
                "first message reported intact",
                "as sent",
                diffs.join("; "),
                diffs.is_empty(),
            );
        }
        None => {
            ctx.check("first message reported", "reported", "nothing", false);
        }
    }
    finish(&ctx, declared.plugin).await;
    Ok(())
}

async fn serve_http_routes(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    use http::{empty, full, read_body, request, send};
    let (declared, _activation) = activated_declared(&ctx, &bundle).await?;
    let plugin = &declared.plugin;
    let result = async {
        let bridge = plugin.start_http_bridge().await?;
        let url = bridge.base_url(&plugin.plan.manifest.id);
        let at = bridge.address();
        let content_type = |r: &hyper::Response<hyper::body::Incoming>| {
            r.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };

        let r = send(at, request("GET", &format!("{url}/hello"), empty())).await?;
        ctx.eq("GET /hello: status", 200, r.status().as_u16());
        ctx.eq(
            "GET /hello: content type",
            Some("text/plain".to_string()),
            content_type(&r),
        );
        let (body, _) = read_body(r.into_body()).await?;
        ctx.eq(
            "GET /hello: body",
            "Hello, world!".to_string(),
            String::from_utf8_lossy(&body).into_owned(),
        );
        let url_seen = declared
            .hook_calls("ServeHTTP")
            .first()
            .and_then(|r| {
                DynamicMessage::deserialize(message_of("ServeHTTP", "Request")?, r.clone()).ok()
            })
            .map(|m| to_json(&m)["init"]["url"].clone());
        ctx.eq(
            "GET /hello: the plugin saw the path without /plugins/{id}",
            Some(json!("/hello")),
            url_seen,
        );

        let mut req = request(
            "POST",
            &format!("{url}/echo"),
            full(b"{\"ping\":true}".to_vec()),
        );
        req.headers_mut()
            .insert("content-type", "application/json".parse()?);
        let r = send(at, req).await?;
        ctx.eq("POST /echo: status", 200, r.status().as_u16());
        ctx.eq(
            "POST /echo: content type",
            Some("application/json".to_string()),
            content_type(&r),
        );
        let (body, _) = read_body(r.into_body()).await?;
        ctx.eq(
            "POST /echo: body",
            "{\"ping\":true}".to_string(),
            String::from_utf8_lossy(&body).into_owned(),
        );

        let mut req = request("GET", &format!("{url}/headers"), empty());
        req.headers_mut().append("x-multi", "a".parse()?);
        req.headers_mut().append("x-multi", "b".parse()?);
        let r = send(at, req).await?;
        let (body, _) = read_body(r.into_body()).await?;
        let headers: Json = serde_json::from_slice(&body).unwrap_or(Json::Null);
        ctx.eq(
            "GET /headers: x-multi",
            json!(["a", "b"]),
            headers["x-multi"].clone(),
        );

        let r = send(
            at,
            request("GET", &format!("{url}/stream?bytes=102400"), empty()),
        )
        .await?;
        let (body, largest) = read_body(r.into_body()).await?;
        let expected: Vec<u8> = (0..102400).map(|i| b'a' + (i % 26) as u8).collect();
        ctx.eq("GET /stream?bytes=102400: bytes", 102400, body.len());
        ctx.eq("GET /stream?bytes=102400: content", true, body == expected);
        ctx.check(
            "GET /stream?bytes=102400: largest chunk",
            "<= 65536",
            largest,
            largest <= http::CHUNK,
        );

        let r = send(
            at,
            request(
                "POST",
                &format!("{url}/count"),
                full(vec![b'x'; 300 * 1024]),
            ),
        )
        .await?;
        let (body, _) = read_body(r.into_body()).await?;
        ctx.eq(
            "POST /count: bytes counted",
            (300 * 1024).to_string(),
            String::from_utf8_lossy(&body).into_owned(),
        );

        let r = send(at, request("GET", &format!("{url}/status/418"), empty())).await?;
        ctx.eq("GET /status/418: status", 418, r.status().as_u16());

        let r = send(
            at,
            request("POST", &format!("{url}/early"), full(vec![b'x'; 2 << 20])),
        )
        .await?;
        ctx.eq("POST /early: status", 200, r.status().as_u16());
        let (body, _) = read_body(r.into_body()).await?;
        ctx.eq(
            "POST /early: body",
            "early".to_string(),
            String::from_utf8_lossy(&body).into_owned(),
        );

        let r = send(at, request("GET", &format!("{url}/no-such-route"), empty())).await?;
        ctx.eq("GET /no-such-route: status", 404, r.status().as_u16());
        let (body, _) = read_body(r.into_body()).await?;
        ctx.eq(
            "GET /no-such-route: body",
            "Not Found".to_string(),
            String::from_utf8_lossy(&body).into_owned(),
        );
        anyhow::Ok(())
    }
    .await;
    finish(&ctx, declared.plugin).await;
    result
}

async fn health_and_shutdown(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    let declared = start_declared(&ctx, &bundle).await?;
    for service in ["plugin", ""] {
        let outcome = declared.plugin.health_check(service).await;
        ctx.check(
            &format!("Health/Check({service:?})"),
            "SERVING",
            outcome.describe(),
            outcome == HealthOutcome::Serving,
        );
    }
    let report = finish(&ctx, declared.plugin).await;
    match &report.controller {
        // Serving the controller is optional (the upstream SDK does not): go-plugin then
        // ends the process itself.
        ControllerOutcome::Status { code, .. } if code == "Unimplemented" => {
            ctx.note("plugin.GRPCController/Shutdown is not served (optional in BEHAVIOUR.md v2); the host ended the process");
        }
        other => {
            ctx.eq("Shutdown answered", &ControllerOutcome::Ok, other);
            ctx.eq("exited by itself within the grace", true, report.graceful);
            ctx.eq(
                "exit status",
                "exit status: 0".to_string(),
                report.exit_status.clone(),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scratch_bundle_copies_the_script_chain_links_the_rest_and_leaves_the_source_alone() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        let s = src.path();
        std::fs::write(
            s.join("plugin.json"),
            r#"{"id": "com.example.x", "server": {"runtime": "python", "executable": "server/main.py"}}"#,
        )
        .unwrap();
        std::fs::create_dir_all(s.join("server/lib")).unwrap();
        std::fs::create_dir_all(s.join("venv/bin")).unwrap();
        std::fs::write(s.join("server/main.py"), "print()").unwrap();
        std::fs::write(s.join("server/helper.py"), "x = 1").unwrap();
        std::fs::write(
            s.join("server/conformance.json"),
            r#"{"stubs": "gen", "hooks": ["OnActivate"]}"#,
        )
        .unwrap();
        let before = std::fs::read_to_string(s.join("server/conformance.json")).unwrap();

        let out = dst.path().join("b");
        let obs = dst.path().join("obs.jsonl");
        scratch_bundle(s, &out, &obs).unwrap();

        assert!(!out.join("server").is_symlink());
        assert!(!out.join("server/main.py").is_symlink());
        assert!(!out.join("server/helper.py").is_symlink());
        assert!(out.join("server/lib").is_symlink());
        assert!(out.join("venv").is_symlink());
        assert_eq!(
            std::fs::canonicalize(out.join("venv")).unwrap(),
            std::fs::canonicalize(s.join("venv")).unwrap()
        );
        let config: Json = serde_json::from_str(
            &std::fs::read_to_string(out.join("server/conformance.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(config["hooks"], "all");
        assert_eq!(config["stubs"], "gen");
        assert_eq!(config["observe"], json!(obs));
        assert_eq!(
            std::fs::read_to_string(s.join("server/conformance.json")).unwrap(),
            before
        );
        let plan = conformance_core::manifest::LaunchPlan::for_bundle(
            &out,
            std::env::var_os("PATH").as_deref(),
        );
        assert!(
            !matches!(
                plan,
                Err(conformance_core::manifest::ManifestError::SymlinkEscape { .. })
            ),
            "{plan:?}"
        );
    }
}
