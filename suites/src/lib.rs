//! The conformance cases. Lifecycle cases drive real processes (the fake interpreter in
//! generated bundles) through the reference host and assert on what both sides saw.
//!
//! Every case is listed by [`all`]; the `conformance` test target turns each into its own
//! `cargo test` test, and `plugin-conformance run` runs them with reports.

pub mod api;
mod environment;
mod faults;
mod ground;
mod handshake;
mod health;
pub mod hooks;
pub mod host;
mod logs;
mod manifest;
mod multi_hooks;
pub mod mutation;
pub mod plugin_check;
mod restart;
mod security;
mod serve_http;
mod shutdown;
pub mod support;

use conformance_core::runner::Case;

/// Whether a case drives the Python reference plugin (and so needs its venv).
pub fn needs_python(name: &str) -> bool {
    [
        "hooks-python/",
        "serve-http-python/",
        "api-python/",
        "faults-python/",
    ]
    .iter()
    .any(|prefix| name.starts_with(prefix))
}

/// Every case, in a stable order.
pub fn all() -> Vec<Case> {
    selected(&|_| true)
}

/// Every case, in a stable order; the suites that share one plugin process among many
/// cases (the API batches) only build the cases whose name `keep` selects, so a narrow
/// selection does not pay for the rest. Callers still filter the result.
pub fn selected(keep: &dyn Fn(&str) -> bool) -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(handshake::cases());
    cases.extend(health::cases());
    cases.extend(logs::cases());
    cases.extend(shutdown::cases());
    cases.extend(restart::cases());
    cases.extend(faults::cases());
    cases.extend(security::cases());
    cases.extend(environment::cases());
    cases.extend(manifest::cases());
    cases.extend(hooks::cases());
    cases.extend(hooks::python_cases());
    cases.extend(serve_http::cases());
    cases.extend(serve_http::python_cases());
    cases.extend(api::cases(keep));
    cases.extend(api::python_cases(keep));
    cases
}

/// How many multi-plugin scenarios there are (one case each, per host).
pub fn multi_hook_scenario_count() -> usize {
    multi_hooks::scenarios().len()
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_unique_and_hierarchical() {
        let cases = super::all();
        let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        assert!(names.iter().all(|n| n.split('/').count() >= 2), "{names:?}");
        let before = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(before, names.len(), "duplicate case names");
    }
}
