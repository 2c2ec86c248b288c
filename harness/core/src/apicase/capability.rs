//! What a host can do beyond the protocol, which some cases need (SPEC §25.2). A host
//! reached through a driver declares its capabilities in `Describe`; the reference host
//! has them all. A case whose host lacks a capability is skipped with the reason.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// The PluginAPI server gives each `x-conformance-session` a store of its own, empty
    /// at first: cases may count what a global listing returns, and may change server-wide
    /// state that dies with the session.
    ApiSessions,
    /// The PluginAPI server runs a call as the plugin named by `x-mattermost-plugin-id`.
    PluginIdentity,
    /// The host keeps a readable record of each PluginAPI call's effect.
    CallLog,
    /// The server has the harness's fixture custom emoji (SPEC §25.2), which no PluginAPI
    /// call can create: a fresh Mattermost server has none.
    FixtureEmoji,
    /// The driver runs a hook across every loaded plugin as the host's application code
    /// does (`HostDriver.RunMultiPluginHook`, SPEC §11.6).
    MultiPluginHooks,
}

impl Capability {
    pub const ALL: [Capability; 5] = [
        Capability::ApiSessions,
        Capability::PluginIdentity,
        Capability::CallLog,
        Capability::FixtureEmoji,
        Capability::MultiPluginHooks,
    ];

    /// The name used in case files and in `Describe.capabilities`.
    pub fn name(self) -> &'static str {
        match self {
            Capability::ApiSessions => "api-sessions",
            Capability::PluginIdentity => "plugin-identity",
            Capability::CallLog => "call-log",
            Capability::FixtureEmoji => "fixture-emoji",
            Capability::MultiPluginHooks => "multi-plugin-hooks",
        }
    }

    /// What a host without it cannot show, for skip reasons.
    pub fn meaning(self) -> &'static str {
        match self {
            Capability::ApiSessions => {
                "a PluginAPI store of the case's own (x-conformance-session): a freshly \
                 installed server with default configuration, no licence and no data"
            }
            Capability::PluginIdentity => {
                "calls made as another plugin (x-mattermost-plugin-id request metadata)"
            }
            Capability::CallLog => "a readable record of what each PluginAPI call did",
            Capability::FixtureEmoji => "the harness's fixture custom emoji on the server",
            Capability::MultiPluginHooks => {
                "a hook run across every loaded plugin as the application runs it \
                 (HostDriver.RunMultiPluginHook)"
            }
        }
    }

    pub fn parse(name: &str) -> Result<Capability, String> {
        Capability::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| {
                format!(
                    "unknown capability {name:?} (known: {})",
                    Capability::ALL.map(Capability::name).join(", ")
                )
            })
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_parse() {
        for c in Capability::ALL {
            assert_eq!(Capability::parse(c.name()), Ok(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.name()));
            assert_eq!(serde_json::from_str::<Capability>(&json).unwrap(), c);
        }
        assert!(
            Capability::parse("sessions")
                .unwrap_err()
                .contains("api-sessions")
        );
    }
}
