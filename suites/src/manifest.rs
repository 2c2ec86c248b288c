//! Bundles: manifest errors, runtime detection, interpreter discovery order and the
//! script path rule (SPEC §3.1, §16, §17).

use conformance_core::fixtures::{BundleBuilder, FakeMode};
use conformance_core::manifest::platform_key;
use conformance_core::runner::{Case, Ctx, Level};
use conformance_core::supervisor::{self, HealthOutcome, HostConfig, Step};

use crate::support::{bundle, shutdown_checked, start_ok};

/// A host that finds no `python3`/`python` on `PATH`, so only the bundle's venvs count.
fn no_system_python(ctx: &Ctx) -> HostConfig {
    HostConfig {
        interpreter_search_path: Some(ctx.scratch.join("empty-path").into_os_string()),
        ..HostConfig::default()
    }
}

/// Expects the bundle to be refused before anything is spawned.
async fn expect_manifest_error(
    ctx: &Ctx,
    builder: BundleBuilder,
    prepare: impl FnOnce(&std::path::Path) -> std::io::Result<()>,
    fragment: &str,
) -> anyhow::Result<()> {
    let b = bundle(ctx, builder)?;
    prepare(&b.dir)?;
    match supervisor::start(&b.dir, no_system_python(ctx)).await {
        Ok(plugin) => {
            ctx.check("refused", "a manifest error", "started", false);
            plugin.shutdown().await;
        }
        Err(failure) => {
            ctx.eq("diagnosis", "manifest", failure.error.kind());
            ctx.contains("message", &failure.to_string(), fragment);
            ctx.eq("nothing spawned", None, failure.pid);
        }
    }
    Ok(())
}

/// Starts the bundle and reports which interpreter the host ran.
/// A host whose `PATH` holds decoy `python3` and `python` scripts that exit 7: a host that
/// looked on `PATH` before the bundle's venvs would run one and fail the start.
fn decoy_python_on_path(ctx: &Ctx) -> std::io::Result<HostConfig> {
    use std::os::unix::fs::PermissionsExt;
    let dir = ctx.scratch.join("decoy-path");
    std::fs::create_dir_all(&dir)?;
    for name in ["python3", "python"] {
        std::fs::write(dir.join(name), "#!/bin/sh\nexit 7\n")?;
        std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(HostConfig {
        interpreter_search_path: Some(dir.into_os_string()),
        ..HostConfig::default()
    })
}

/// Starts a bundle whose interpreter the host must find in the bundle (not on `PATH`,
/// which holds decoys) and checks which one it ran.
async fn start_and_report_interpreter(
    ctx: &Ctx,
    builder: BundleBuilder,
    expected_suffix: &str,
) -> anyhow::Result<()> {
    let (_b, plugin) = start_ok(ctx, builder, decoy_python_on_path(ctx)?).await?;
    let command = plugin
        .timeline
        .entries()
        .into_iter()
        .find_map(|e| match e.step {
            Step::Spawned { command, .. } => Some(command),
            _ => None,
        })
        .unwrap_or_default();
    let interpreter = command.first().cloned().unwrap_or_default();
    ctx.check(
        "interpreter",
        format!("…/{expected_suffix}"),
        &interpreter,
        interpreter.ends_with(expected_suffix) && interpreter.starts_with('/'),
    );
    ctx.eq("ping", HealthOutcome::Serving, plugin.ping().await);
    shutdown_checked(ctx, plugin).await;
    Ok(())
}

fn manifest_json(server: serde_json::Value) -> String {
    serde_json::json!({"id": "com.mattermost.conformance.fake", "server": server}).to_string()
}

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "manifest/missing",
            Level::Must,
            "SPEC §17",
            "a bundle without plugin.json is refused with a clear error",
            |ctx| async move {
                expect_manifest_error(
                    &ctx,
                    BundleBuilder::new(FakeMode::Healthy),
                    |dir| std::fs::remove_file(dir.join("plugin.json")),
                    "no plugin.json",
                )
                .await
            },
        ),
        Case::new(
            "manifest/malformed",
            Level::Must,
            "SPEC §17",
            "a plugin.json that is not JSON is refused with the parse error",
            |ctx| async move {
                expect_manifest_error(
                    &ctx,
                    BundleBuilder::new(FakeMode::Healthy).manifest("{\"id\": \"com.example\", "),
                    |_| Ok(()),
                    "not a valid manifest",
                )
                .await
            },
        ),
        Case::new(
            "manifest/path-traversal",
            Level::Must,
            "SPEC §16 (sanitizePythonScriptPath)",
            "an executable that climbs out of the bundle with .. is refused",
            |ctx| async move {
                expect_manifest_error(
                    &ctx,
                    BundleBuilder::new(FakeMode::Healthy).manifest(&manifest_json(
                        serde_json::json!({"runtime": "python", "executable": "../plugin.py"}),
                    )),
                    |_| Ok(()),
                    "path traversal",
                )
                .await
            },
        ),
        Case::new(
            "manifest/absolute-path-rerooted",
            Level::Must,
            "SPEC §16 (absolute paths are re-rooted inside the bundle)",
            "an absolute executable path is looked up inside the bundle, never outside",
            |ctx| async move {
                expect_manifest_error(
                    &ctx,
                    BundleBuilder::new(FakeMode::Healthy).manifest(&manifest_json(
                        serde_json::json!({"runtime": "python", "executable": "/etc/passwd"}),
                    )),
                    |_| Ok(()),
                    "/b/etc/passwd)",
                )
                .await
            },
        ),
        Case::new(
            "manifest/symlink-escape",
            Level::Must,
            "SPEC §16 (script inside the bundle)",
            "a script that is a symlink to a file outside the bundle is refused",
            |ctx| async move {
                let outside = ctx.scratch.join("outside.py");
                std::fs::write(&outside, "print('outside')\n")?;
                expect_manifest_error(
                    &ctx,
                    BundleBuilder::new(FakeMode::Healthy),
                    move |dir| {
                        std::fs::remove_file(dir.join("plugin.py"))?;
                        std::os::unix::fs::symlink(&outside, dir.join("plugin.py"))
                    },
                    "outside the bundle",
                )
                .await
            },
        ),
        Case::new(
            "manifest/missing-script",
            Level::Must,
            "SPEC §16",
            "a manifest naming a script that does not exist is refused",
            |ctx| async move {
                expect_manifest_error(
                    &ctx,
                    BundleBuilder::new(FakeMode::Healthy),
                    |dir| std::fs::remove_file(dir.join("plugin.py")),
                    "not found",
                )
                .await
            },
        ),
        Case::new(
            "manifest/no-interpreter",
            Level::Must,
            "SPEC §16",
            "no venv in the bundle and no python on PATH is refused with the places searched",
            |ctx| async move {
                expect_manifest_error(
                    &ctx,
                    BundleBuilder::new(FakeMode::Healthy).interpreter_at(None),
                    |_| Ok(()),
                    "venv/bin/python",
                )
                .await
            },
        ),
        Case::new(
            "manifest/not-python",
            Level::Must,
            "SPEC §3.1 step 1, §17",
            "a Go runtime with a non-.py executable is not launched as a Python plugin",
            |ctx| async move {
                expect_manifest_error(
                    &ctx,
                    BundleBuilder::new(FakeMode::Healthy).manifest(&manifest_json(
                        serde_json::json!({"runtime": "go", "executable": "plugin.py.bin"}),
                    )),
                    |dir| std::fs::write(dir.join("plugin.py.bin"), ""),
                    "not a Python plugin",
                )
                .await
            },
        ),
        Case::new(
            "manifest/venv-before-dot-venv",
            Level::Must,
            "SPEC §16 (venv preferred over .venv)",
            "with both venv/ and .venv/, the host runs venv/bin/python",
            |ctx| async move {
                let dir = ctx.scratch.join("b");
                std::fs::create_dir_all(dir.join(".venv/bin"))?;
                // A decoy that would fail the start if it were chosen.
                std::fs::write(dir.join(".venv/bin/python"), "#!/bin/sh\nexit 7\n")?;
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(
                    dir.join(".venv/bin/python"),
                    std::fs::Permissions::from_mode(0o755),
                )?;
                start_and_report_interpreter(
                    &ctx,
                    BundleBuilder::new(FakeMode::Healthy),
                    "venv/bin/python",
                )
                .await
            },
        ),
        Case::new(
            "manifest/dot-venv-python3",
            Level::Must,
            "SPEC §16",
            "an interpreter at .venv/bin/python3 is found when there is no venv/",
            |ctx| async move {
                start_and_report_interpreter(
                    &ctx,
                    BundleBuilder::new(FakeMode::Healthy).interpreter_at(Some(".venv/bin/python3")),
                    ".venv/bin/python3",
                )
                .await
            },
        ),
        Case::new(
            "manifest/python-by-extension",
            Level::Must,
            "SPEC §3.1 step 1",
            "a .py executable without a runtime field is launched as a Python plugin",
            |ctx| async move {
                start_and_report_interpreter(
                    &ctx,
                    BundleBuilder::new(FakeMode::Healthy).manifest(&manifest_json(
                        serde_json::json!({"executable": "plugin.py"}),
                    )),
                    "venv/bin/python",
                )
                .await
            },
        ),
        Case::new(
            "manifest/platform-executable",
            Level::Must,
            "SPEC §16 (server.executables[os-arch] before server.executable)",
            "the executable for this platform wins over server.executable",
            |ctx| async move {
                let mut executables = serde_json::Map::new();
                executables.insert(platform_key(), "plugin.py".into());
                start_and_report_interpreter(
                    &ctx,
                    BundleBuilder::new(FakeMode::Healthy).manifest(&manifest_json(
                        serde_json::json!({
                            "runtime": "python",
                            "executable": "missing.py",
                            "executables": executables,
                        }),
                    )),
                    "venv/bin/python",
                )
                .await
            },
        ),
    ]
}
