//! Mutants: deliberate defects of the reference host and its PluginAPI server, switched on
//! one at a time by name (`plugin-conformance run --mutant NAME`, `reference-host --mutant
//! NAME`). The mutation score (`plugin-conformance mutants`) runs the relevant cases against
//! each mutant and counts the ones some case catches: a mutant that no case catches is a
//! defect the suites cannot see.
//!
//! The switch is process-wide and set at most once, before any case runs. A mutant run is a
//! process of its own, so no other run ever sees it; without `--mutant` every check here is
//! a load of an empty cell.

use crate::fake_modes::FakeMode;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::apicase::fields::FieldPath;
use prost_reflect::{DynamicMessage, FieldDescriptor, MessageDescriptor, ReflectMessage};

/// One defect.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mutant {
    /// The PluginAPI rpc answers its default (empty) response without running its handler.
    ApiDefault(String),
    /// The PluginAPI rpc runs its handler and answers without one field of its response
    /// ([`crate::apicase::fields`]: a top-level field, or one inside a message field).
    ApiDropField(String, FieldPath),
    /// The host zeroes one field of the hook's request ([`zeroed_field`]) before sending it.
    HookZeroField(String),
    /// The host replaces the plugin's answer to the hook with the default response.
    HookIgnoreAnswer(String),
    /// A catalogued protocol defect of the host.
    Protocol(Protocol),
    /// A catalogued defect of a plugin: a fake interpreter mode ([`PLUGIN_MODES`]) checked
    /// by the plugin suite (`plugin-conformance plugin --bundle`). No switch: the broken
    /// plugin is the mutant.
    PluginMode(FakeMode),
}

/// Fake plugin modes that each break one clause a plugin must keep: `(mode, clause)`.
pub const PLUGIN_MODES: &[(FakeMode, &str)] = &[
    (
        FakeMode::StdoutNoiseBeforeHandshake,
        "SPEC §4 (the handshake is the first stdout line)",
    ),
    (
        FakeMode::GarbageLine,
        "SPEC §4, §5 (the handshake's fields)",
    ),
    (
        FakeMode::NoNewline,
        "SPEC §4 (the handshake line ends with a newline)",
    ),
    (
        FakeMode::ExitBeforeHandshake,
        "SPEC §5 (a plugin prints its handshake)",
    ),
    (
        FakeMode::BadCoreVersion,
        "SPEC §4 field 1 (core protocol version 1)",
    ),
    (
        FakeMode::BadAppVersion,
        "SPEC §4 field 2 (app protocol version 1)",
    ),
    (FakeMode::Netrpc, "SPEC §4 field 5 (protocol grpc)"),
    (
        FakeMode::NonLoopbackAddress,
        "SPEC §4 field 4 (a loopback address)",
    ),
    (
        FakeMode::NoHealthService,
        "SPEC §7 (grpc.health.v1.Health is served)",
    ),
    (
        FakeMode::HealthWrongName,
        "SPEC §7 (health knows the service \"plugin\")",
    ),
    (
        FakeMode::HealthNotServing,
        "SPEC §7 (\"plugin\" is SERVING)",
    ),
    (
        FakeMode::CrashAfterHandshake,
        "SPEC §5, §7 (the plugin keeps serving)",
    ),
    (
        FakeMode::IgnoresShutdown,
        "SPEC §9.2 (exit within the grace after Shutdown)",
    ),
    (
        FakeMode::SpawnsGrandchild,
        "SPEC §9.2 (nothing of the plugin outlives it)",
    ),
];

/// Family prefixes of [`Mutant`] names.
const API_DEFAULT: &str = "api-default";
const API_DROP_FIELD: &str = "api-drop-field";
const HOOK_ZERO_FIELD: &str = "hook-zero-field";
const HOOK_IGNORE_ANSWER: &str = "hook-ignore-answer";
const PROTOCOL: &str = "protocol";
const PLUGIN_MODE: &str = "plugin-mode";

macro_rules! protocol_mutants {
    ($($variant:ident => $name:literal, $clause:literal, $what:literal;)*) => {
        /// The catalogue: one named defect per protocol clause the host must keep.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Protocol {
            $($variant,)*
        }

        impl Protocol {
            pub const ALL: &'static [Protocol] = &[$(Protocol::$variant,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $(Protocol::$variant => $name,)*
                }
            }

            /// The clause the defect breaks.
            pub fn clause(self) -> &'static str {
                match self {
                    $(Protocol::$variant => $clause,)*
                }
            }

            /// What the mutated host does.
            pub fn description(self) -> &'static str {
                match self {
                    $(Protocol::$variant => $what,)*
                }
            }
        }
    };
}

protocol_mutants! {
    NoMagicCookie => "no-magic-cookie", "SPEC §6 (MATTERMOST_PLUGIN magic cookie)",
        "the plugin is started without the magic cookie variable";
    NoProtocolVersions => "no-protocol-versions", "SPEC §6 (PLUGIN_PROTOCOL_VERSIONS)",
        "PLUGIN_PROTOCOL_VERSIONS is not set";
    ApiTargetNowhere => "api-target-nowhere", "SPEC §6 (MATTERMOST_PLUGIN_API_TARGET)",
        "MATTERMOST_PLUGIN_API_TARGET names a port nothing listens on";
    ApiServerAfterPlugin => "api-server-after-plugin", "SPEC §3.1 (the PluginAPI server listens before the plugin starts)",
        "the PluginAPI server starts listening only after the plugin's handshake";
    HandshakeFromStderr => "handshake-from-stderr", "SPEC §4 (the handshake is the first stdout line)",
        "the handshake line is read from stderr";
    HandshakeSecondLine => "handshake-second-line", "SPEC §4 (the handshake is the first stdout line)",
        "the first stdout line is skipped and the second taken as the handshake";
    HealthWrongService => "health-wrong-service", "SPEC §7 (health is checked for the service \"plugin\")",
        "health is checked for the service \"\" instead of \"plugin\"";
    ImplementedIgnored => "implemented-ignored", "SPEC §11.2 (a hook not listed by Implemented is never called)",
        "hooks are called whether or not Implemented listed them";
    HookDeadlineIgnored => "hook-deadline-ignored", "SPEC §12 (every hook call has a deadline)",
        "hook calls wait ten times the configured deadline";
    ChunkOver64k => "serve-http-chunk-over-64k", "SPEC §13.3 (request body chunks of at most 64 KiB)",
        "the ServeHTTP bridge sends the request body in chunks of up to 1 MiB";
    FlushIgnored => "serve-http-flush-ignored", "SPEC §13.4 (flush sends what the plugin wrote at once)",
        "the ServeHTTP bridge holds response chunks back until the body is complete";
    HeadersCollapsed => "serve-http-headers-collapsed", "SPEC §13.3 (every value of a multi-value header)",
        "the ServeHTTP bridge sends only the first value of each request header";
    NoBodyComplete => "serve-http-no-body-complete", "SPEC §13.3 (body_complete ends the request body)",
        "the ServeHTTP bridge never sends body_complete (it only half-closes)";
    ApiStoppedBeforePlugin => "api-stopped-before-plugin", "SPEC §9.1 (the PluginAPI server stops after the plugin)",
        "shutdown stops the PluginAPI server before asking the plugin to stop";
    NoKillAfterGrace => "no-kill-after-grace", "SPEC §9.2 (SIGKILL after the grace period)",
        "a plugin still running after the grace period is not killed";
    KillLeaderOnly => "kill-leader-only", "SPEC §9.2 (the plugin's process group goes with it)",
        "only the plugin process is killed, not its process group";
    SharedProcessGroup => "shared-process-group", "SPEC §6, §9.2 (the plugin runs in a process group of its own)",
        "the plugin is started in the host's process group";
    DialsAnyAddress => "dials-any-address", "SPEC §4 field 4 (loopback or the host's socket dir only)",
        "the host dials whatever address the handshake names";
    NoRestart => "no-restart", "SPEC §12 (health-check restart policy)",
        "a plugin that fails its health checks is never restarted";
    OverLimitOutOfRange => "over-limit-out-of-range", "SPEC §22 (a request over the limit is RESOURCE_EXHAUSTED)",
        "a PluginAPI request over the message limit is answered OUT_OF_RANGE";
    KvNotNamespaced => "kv-not-namespaced", "SPEC §10.1, api-methods.tsv KV* (KV is namespaced by plugin id)",
        "every plugin shares one KV namespace";
    AppErrorWrongChannel => "app-error-wrong-channel", "SPEC §10.1 (each rpc's error regime)",
        "AppErrors of embedded-regime rpcs come back as gRPC statuses and the other way round";
    NotFoundWrongCode => "not-found-wrong-code", "SPEC §10.1 (AppErrorToStatus: 404 is NOT_FOUND)",
        "a not-found AppError in the status regime is answered INTERNAL";
    ManifestPathUnchecked => "manifest-path-unchecked", "SPEC §17 (the executable stays inside the bundle)",
        "the manifest's executable path is used as written, `..` included";
    InterpreterPathFirst => "interpreter-path-first", "SPEC §16 (venv/bin/python before anything on PATH)",
        "the interpreter is looked up on PATH before the bundle's venv";
    StdoutNotDrained => "stdout-not-drained", "SPEC §8.4 (stdout after the handshake is drained)",
        "stdout is not read after the handshake line, so a chatty plugin blocks on a full pipe";
}

impl fmt::Display for Mutant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mutant::ApiDefault(rpc) => write!(f, "{API_DEFAULT}/{rpc}"),
            Mutant::ApiDropField(rpc, path) => write!(f, "{API_DROP_FIELD}/{rpc}/{path}"),
            Mutant::HookZeroField(hook) => write!(f, "{HOOK_ZERO_FIELD}/{hook}"),
            Mutant::HookIgnoreAnswer(hook) => write!(f, "{HOOK_IGNORE_ANSWER}/{hook}"),
            Mutant::Protocol(p) => write!(f, "{PROTOCOL}/{}", p.name()),
            Mutant::PluginMode(mode) => write!(f, "{PLUGIN_MODE}/{mode}"),
        }
    }
}

impl FromStr for Mutant {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (family, what) = s.split_once('/').ok_or_else(|| {
            format!("mutant {s:?}: expected FAMILY/NAME (see `plugin-conformance mutants --list`)")
        })?;
        let rpc_known = |rpc: &str| {
            pluginapi_proto::api::API_RPCS
                .iter()
                .any(|(n, _)| *n == rpc)
        };
        let hook_known = |hook: &str| {
            pluginapi_proto::hooks::HOOK_RPCS
                .iter()
                .any(|(n, _)| *n == hook)
        };
        match family {
            API_DEFAULT if rpc_known(what) => Ok(Mutant::ApiDefault(what.to_string())),
            API_DEFAULT => Err(format!("mutant {s:?}: {what:?} is not a PluginAPI rpc")),
            API_DROP_FIELD => {
                let (rpc, path) = what.split_once('/').ok_or_else(|| {
                    format!("mutant {s:?}: expected {API_DROP_FIELD}/RPC/FIELD[.FIELD]")
                })?;
                if !rpc_known(rpc) {
                    return Err(format!("mutant {s:?}: {rpc:?} is not a PluginAPI rpc"));
                }
                let path: FieldPath = path.parse().map_err(|e| format!("mutant {s:?}: {e}"))?;
                if !crate::apicase::fields::response_fields(rpc).contains(&path) {
                    return Err(format!(
                        "mutant {s:?}: {rpc}'s response has no field {path} (one level into message fields; not error)"
                    ));
                }
                Ok(Mutant::ApiDropField(rpc.to_string(), path))
            }
            HOOK_ZERO_FIELD | HOOK_IGNORE_ANSWER if !hook_known(what) => {
                Err(format!("mutant {s:?}: {what:?} is not a hook"))
            }
            HOOK_ZERO_FIELD => Ok(Mutant::HookZeroField(what.to_string())),
            HOOK_IGNORE_ANSWER => Ok(Mutant::HookIgnoreAnswer(what.to_string())),
            PROTOCOL => Protocol::ALL
                .iter()
                .find(|p| p.name() == what)
                .map(|p| Mutant::Protocol(*p))
                .ok_or_else(|| format!("mutant {s:?}: no protocol mutant {what:?}")),
            PLUGIN_MODE if PLUGIN_MODES.iter().any(|(m, _)| m.name() == what) => Ok(
                Mutant::PluginMode(FakeMode::parse(what).expect("a catalogued mode")),
            ),
            PLUGIN_MODE => Err(format!("mutant {s:?}: no plugin mutant {what:?}")),
            _ => Err(format!(
                "mutant {s:?}: unknown family {family:?} (one of {API_DEFAULT}, {API_DROP_FIELD}, {HOOK_ZERO_FIELD}, {HOOK_IGNORE_ANSWER}, {PROTOCOL}, {PLUGIN_MODE})"
            )),
        }
    }
}

impl Mutant {
    /// The clause a mutant breaks.
    pub fn clause(&self) -> String {
        match self {
            Mutant::ApiDefault(rpc) => {
                format!("api-methods.tsv {rpc}: the rpc does its work and answers it")
            }
            Mutant::ApiDropField(rpc, path) => {
                format!("api-methods.tsv {rpc}: the response carries `{path}` as upstream fills it")
            }
            Mutant::HookZeroField(hook) => {
                format!("SPEC §11.3, hooks.tsv {hook}: the request arrives intact")
            }
            Mutant::HookIgnoreAnswer(hook) => {
                format!("SPEC §10.2, hooks.tsv {hook}: the host applies the plugin's answer")
            }
            Mutant::Protocol(p) => p.clause().to_string(),
            Mutant::PluginMode(mode) => PLUGIN_MODES
                .iter()
                .find(|(m, _)| m == mode)
                .map_or_else(String::new, |(_, c)| c.to_string()),
        }
    }

    /// What the mutated host does.
    pub fn description(&self) -> String {
        match self {
            Mutant::ApiDefault(rpc) => {
                format!("{rpc} answers the empty response without doing anything")
            }
            Mutant::ApiDropField(rpc, path) => {
                format!("{rpc} does its work and answers without `{path}`")
            }
            Mutant::HookZeroField(hook) => {
                let field = crate::behaviour::message_of(hook, "Request")
                    .and_then(|d| zeroed_field(&d))
                    .map_or("?".to_string(), |f| f.name().to_string());
                format!("the host sends {hook} with `{field}` zeroed")
            }
            Mutant::HookIgnoreAnswer(hook) => {
                format!("the host ignores the plugin's answer to {hook}")
            }
            Mutant::Protocol(p) => p.description().to_string(),
            Mutant::PluginMode(mode) => format!(
                "a plugin in the fake interpreter's `{mode}` mode: {}",
                mode.description()
            ),
        }
    }
}

/// Rpcs whose every answer upstream gives on a fresh Team Edition server (which the
/// reference server stands in for, SPEC §24) is the empty response, with no effect any
/// rpc or the call log could show: answering the default response without running the
/// handler is no defect there (an equivalent mutant), so no `api-default` mutant is made.
pub const EQUIVALENT_API_DEFAULTS: &[(&str, &str)] = &[
    (
        "IsEnterpriseReady",
        "a Team Edition build answers false, the default",
    ),
    (
        "RegisterCollectionAndTopic",
        "upstream's method does nothing and returns no error",
    ),
    (
        "PublishPluginClusterEvent",
        "without a cluster upstream's method returns at once, sending nothing",
    ),
];

/// Every generated mutant: one per PluginAPI rpc (but the [`EQUIVALENT_API_DEFAULTS`]),
/// one request mutant per hook, and one answer mutant per hook whose answer has fields (an
/// empty answer cannot be ignored in any way a host could tell).
pub fn generated() -> Vec<Mutant> {
    let mut out: Vec<Mutant> = pluginapi_proto::api::API_RPCS
        .iter()
        .filter(|(rpc, _)| !EQUIVALENT_API_DEFAULTS.iter().any(|(e, _)| e == rpc))
        .map(|(rpc, _)| Mutant::ApiDefault(rpc.to_string()))
        .collect();
    // Hooks whose request holds only `context` have no request mutant: Mattermost never
    // sends that field (SPEC §11.5), so there is nothing a host could send wrong.
    for (hook, _) in pluginapi_proto::hooks::HOOK_RPCS {
        let has_payload = crate::behaviour::message_of(hook, "Request")
            .is_some_and(|d| zeroed_field(&d).is_some());
        if has_payload {
            out.push(Mutant::HookZeroField(hook.to_string()));
        }
    }
    // One per response field of every rpc (the rpcs of EQUIVALENT_API_DEFAULTS included:
    // their responses still have fields a host could drop).
    for (rpc, _) in pluginapi_proto::api::API_RPCS {
        out.extend(
            crate::apicase::fields::response_fields(rpc)
                .into_iter()
                .map(|path| Mutant::ApiDropField(rpc.to_string(), path)),
        );
    }
    for (hook, _) in pluginapi_proto::hooks::HOOK_RPCS {
        let answers =
            crate::behaviour::message_of(hook, "Response").is_some_and(|d| d.fields().len() > 0);
        if answers {
            out.push(Mutant::HookIgnoreAnswer(hook.to_string()));
        }
    }
    out
}

/// The catalogue: the host's protocol mutants, then the plugin mutants.
pub fn catalogue() -> Vec<Mutant> {
    Protocol::ALL
        .iter()
        .map(|p| Mutant::Protocol(*p))
        .chain(
            PLUGIN_MODES
                .iter()
                .map(|(mode, _)| Mutant::PluginMode(*mode)),
        )
        .collect()
}

static ACTIVE: OnceLock<Mutant> = OnceLock::new();

/// Switches `mutant` on for the rest of the process.
pub fn activate(mutant: Mutant) -> Result<(), String> {
    let name = mutant.to_string();
    if let Mutant::PluginMode(mode) = &mutant {
        return Err(format!(
            "{name} is a broken plugin, not a switch of the host: check a bundle in the `{mode}` mode with `plugin --bundle`"
        ));
    }
    ACTIVE
        .set(mutant)
        .map_err(|_| format!("a mutant is already active; cannot add {name}"))
}

/// The active mutant, if any.
pub fn active() -> Option<&'static Mutant> {
    ACTIVE.get()
}

/// Whether protocol mutant `p` is on.
pub fn is(p: Protocol) -> bool {
    active() == Some(&Mutant::Protocol(p))
}

/// Whether `rpc` answers its default response.
pub fn api_default(rpc: &str) -> bool {
    matches!(active(), Some(Mutant::ApiDefault(r)) if r == rpc)
}

/// The field `rpc`'s responses go without, if a drop-field mutant of `rpc` is on.
pub fn dropped_field(rpc: &str) -> Option<&'static FieldPath> {
    match active() {
        Some(Mutant::ApiDropField(r, path)) if r == rpc => Some(path),
        _ => None,
    }
}

static EFFECTS: AtomicU64 = AtomicU64::new(0);

/// Counts one answer the active mutant actually changed (so a run can tell a mutant that
/// changed nothing, "not exercised", from one its cases did not catch).
pub fn record_effect() {
    EFFECTS.fetch_add(1, Ordering::Relaxed);
}

/// How many answers the active mutant changed so far in this process.
pub fn effects() -> u64 {
    EFFECTS.load(Ordering::Relaxed)
}

/// The line `run` prints on stderr at its end under a mutant that counts its effects; the
/// mutation score reads it back ([`parse_effects_line`]).
pub fn effects_line(mutant: &Mutant, effects: u64) -> String {
    format!("{EFFECTS_PREFIX}{mutant} changed {effects} answer(s)")
}

const EFFECTS_PREFIX: &str = "mutant effects: ";

/// The count of an [`effects_line`] among `stderr`'s lines.
pub fn parse_effects_line(stderr: &str) -> Option<u64> {
    stderr.lines().rev().find_map(|l| {
        l.strip_prefix(EFFECTS_PREFIX)?
            .strip_suffix(" answer(s)")?
            .rsplit(' ')
            .next()?
            .parse()
            .ok()
    })
}

/// Whether the host zeroes a field of `hook`'s request.
pub fn zeroes_request_of(hook: &str) -> bool {
    matches!(active(), Some(Mutant::HookZeroField(h)) if h == hook)
}

/// Whether the host ignores the plugin's answer to `hook`.
pub fn ignores_answer_of(hook: &str) -> bool {
    matches!(active(), Some(Mutant::HookIgnoreAnswer(h)) if h == hook)
}

/// The field a request mutant zeroes: the first field (by number) other than the request
/// context (which Mattermost never sends); `None` when there is no other.
pub fn zeroed_field(request: &MessageDescriptor) -> Option<FieldDescriptor> {
    let mut fields: Vec<FieldDescriptor> = request.fields().collect();
    fields.sort_by_key(FieldDescriptor::number);
    fields.into_iter().find(|f| f.name() != "context")
}

/// Applies a request mutant of `hook`, if one is on.
pub fn mutate_hook_request(hook: &str, request: &mut DynamicMessage) {
    if zeroes_request_of(hook)
        && let Some(field) = zeroed_field(&request.descriptor())
    {
        request.clear_field(&field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_names_are_diagnosed() {
        let all: Vec<Mutant> = generated().into_iter().chain(catalogue()).collect();
        for m in &all {
            assert_eq!(&m.to_string().parse::<Mutant>().unwrap(), m);
        }
        let names: std::collections::BTreeSet<String> = all.iter().map(Mutant::to_string).collect();
        assert_eq!(names.len(), all.len(), "mutant names are unique");
        assert!(
            "api-default/NoSuchRpc"
                .parse::<Mutant>()
                .unwrap_err()
                .contains("not a PluginAPI rpc")
        );
        assert!(
            "hook-zero-field/Nope"
                .parse::<Mutant>()
                .unwrap_err()
                .contains("not a hook")
        );
        assert!(
            "protocol/nope"
                .parse::<Mutant>()
                .unwrap_err()
                .contains("no protocol mutant")
        );
        assert!(
            "nonsense"
                .parse::<Mutant>()
                .unwrap_err()
                .contains("FAMILY/NAME")
        );
    }

    #[test]
    fn plugin_mutants_are_fake_modes_and_not_switches() {
        let err = "plugin-mode/healthy".parse::<Mutant>().unwrap_err();
        assert!(err.contains("no plugin mutant"), "{err}");
        let err = activate(Mutant::PluginMode(FakeMode::Netrpc)).unwrap_err();
        assert!(err.contains("plugin --bundle"), "{err}");
        assert!(active().is_none());
    }

    #[test]
    fn one_generated_mutant_per_rpc_and_per_hook() {
        let g = generated();
        let count = |f: fn(&Mutant) -> bool| g.iter().filter(|m| f(m)).count();
        assert_eq!(
            count(|m| matches!(m, Mutant::ApiDefault(_))),
            pluginapi_proto::api::API_RPCS.len() - EQUIVALENT_API_DEFAULTS.len()
        );
        for (rpc, _) in EQUIVALENT_API_DEFAULTS {
            assert!(
                pluginapi_proto::api::API_RPCS.iter().any(|(r, _)| r == rpc),
                "{rpc}"
            );
        }
        // Implemented, OnActivate, OnDeactivate, OnConfigurationChange and
        // OnSendDailyTelemetry carry only `context`.
        assert_eq!(count(|m| matches!(m, Mutant::HookZeroField(_))), 37);
    }

    #[test]
    fn drop_field_mutants_name_real_fields_and_report_their_effects() {
        let m: Mutant = "api-drop-field/GetUser/user.create_at".parse().unwrap();
        assert_eq!(m.to_string(), "api-drop-field/GetUser/user.create_at");
        for bad in [
            "api-drop-field/GetUser",
            "api-drop-field/GetUser/user.nope",
            "api-drop-field/GetUser/error",
            "api-drop-field/Nope/user",
        ] {
            assert!(bad.parse::<Mutant>().is_err(), "{bad}");
        }
        assert_eq!(parse_effects_line(&effects_line(&m, 7)), Some(7));
        assert_eq!(parse_effects_line("other\nlines"), None);
        let drops = generated()
            .iter()
            .filter(|m| matches!(m, Mutant::ApiDropField(..)))
            .count();
        let fields: usize = pluginapi_proto::api::API_RPCS
            .iter()
            .map(|(rpc, _)| crate::apicase::fields::response_fields(rpc).len())
            .sum();
        assert_eq!(drops, fields);
    }

    #[test]
    fn the_zeroed_field_is_never_the_context() {
        let field = |hook: &str| {
            zeroed_field(&crate::behaviour::message_of(hook, "Request").unwrap())
                .map(|f| f.name().to_string())
        };
        assert_eq!(field("OnActivate"), None);
        let field = |hook: &str| field(hook).unwrap();
        assert_eq!(field("ServeHTTP"), "init");
        assert_ne!(field("MessageWillBePosted"), "context");
    }
}
