//! ServeHTTP through the host's own HTTP server (`Describe.http_base_url`).

use std::sync::Arc;

use conformance_core::driver::process::DriverProcess;
use conformance_core::fixtures::{BundleBuilder, FakeMode};
use conformance_core::runner::{Case, Ctx, Level};
use http_body_util::BodyExt;

use super::{load_ok, unload};
use crate::serve_http::{empty, full, request, send};

/// `(name, method, path, body, expected status, expected body, summary)`.
type HttpCase = (
    &'static str,
    &'static str,
    &'static str,
    &'static [u8],
    u16,
    &'static [u8],
    &'static str,
);

const CASES: &[HttpCase] = &[
    (
        "hello",
        "GET",
        "/hello",
        b"",
        200,
        b"Hello, world!",
        "GET /hello answers 200 with the behaviour's body",
    ),
    (
        "echo",
        "POST",
        "/echo",
        b"ping through the host",
        200,
        b"ping through the host",
        "POST /echo streams the body back",
    ),
];

async fn one(ctx: &Ctx, driver: &DriverProcess, case: &HttpCase) -> anyhow::Result<()> {
    let (_, method, path, body, status, expected, _) = *case;
    let base = driver.description.http_base_url.clone();
    if base.is_empty() {
        ctx.skip("the host reports no HTTP server (Describe.http_base_url is empty)");
        anyhow::bail!("skipped: no HTTP server");
    }
    let address = base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .map_err(|e| anyhow::anyhow!("http_base_url {base:?} is not http://IP:PORT: {e}"))?;
    let (_bundle, loaded) = load_ok(
        ctx,
        driver,
        BundleBuilder::new(FakeMode::ConformancePlugin),
        "http",
        true,
    )
    .await?;
    let uri = format!("/plugins/{}{path}", loaded.plugin_id);
    let body = if body.is_empty() { empty() } else { full(body) };
    match send(address, request(method, &uri, body)).await {
        Ok(response) => {
            ctx.eq("status", status, response.status().as_u16());
            let got = response.into_body().collect().await?.to_bytes();
            ctx.eq(
                "body",
                String::from_utf8_lossy(expected).into_owned(),
                String::from_utf8_lossy(&got).into_owned(),
            );
        }
        Err(e) => {
            ctx.check("the host answers", "an HTTP response", e.to_string(), false);
        }
    }
    unload(ctx, driver, &loaded.plugin_id).await;
    Ok(())
}

pub(super) fn cases(driver: &Arc<DriverProcess>) -> Vec<Case> {
    CASES
        .iter()
        .map(|case| {
            let driver = driver.clone();
            Case::new(
                &format!("host/serve-http/{}", case.0),
                Level::Must,
                "SPEC §13; BEHAVIOUR.md routes",
                case.6,
                move |ctx| {
                    let driver = driver.clone();
                    async move { one(&ctx, &driver, case).await }
                },
            )
        })
        .collect()
}
