//! Where a case's expectation comes from: the upstream code or test whose behaviour it
//! asserts, and the commit that was read. A case without provenance is refused at load.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The repository a provenance path lives in when none is named.
pub const DEFAULT_REPOSITORY: &str = "mattermost/mattermost";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// `owner/name` on GitHub; `mattermost/mattermost` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The file, e.g. `server/channels/app/plugin_api.go`.
    pub path: String,
    /// The function or method whose behaviour is asserted, e.g. `PluginAPI.DeleteUser`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// The upstream test whose assertions the case translates, e.g. `TestPluginAPIGetUsers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    /// The commit read (40 hexadecimal digits).
    pub commit: String,
    /// What that code shows, in our words, when the summary does not say it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Provenance {
    pub fn repository(&self) -> &str {
        self.repo.as_deref().unwrap_or(DEFAULT_REPOSITORY)
    }

    /// Why this entry is unusable, if it is.
    pub fn problem(&self) -> Option<String> {
        if self.path.trim().is_empty() {
            return Some("provenance without a path".into());
        }
        if self.symbol.is_none() && self.test.is_none() {
            return Some(format!(
                "provenance {} names neither a symbol nor a test",
                self.path
            ));
        }
        if self.commit.len() != 40 || !self.commit.chars().all(|c| c.is_ascii_hexdigit()) {
            return Some(format!(
                "provenance {}: commit {:?} is not 40 hexadecimal digits",
                self.path, self.commit
            ));
        }
        if let Some(repo) = &self.repo
            && repo.split('/').filter(|p| !p.is_empty()).count() != 2
        {
            return Some(format!("provenance repo {repo:?} is not owner/name"));
        }
        None
    }
}

impl fmt::Display for Provenance {
    /// `mattermost/mattermost server/channels/app/plugin_api.go PluginAPI.DeleteUser @0123abcd`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.repository(), self.path)?;
        if let Some(symbol) = &self.symbol {
            write!(f, " {symbol}")?;
        }
        if let Some(test) = &self.test {
            write!(f, " test {test}")?;
        }
        write!(f, " @{}", &self.commit[..self.commit.len().min(12)])?;
        if let Some(note) = &self.note {
            write!(f, " ({note})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(symbol: Option<&str>, commit: &str) -> Provenance {
        Provenance {
            repo: None,
            path: "server/channels/app/plugin_api.go".into(),
            symbol: symbol.map(str::to_string),
            test: None,
            commit: commit.into(),
            note: None,
        }
    }

    #[test]
    fn problems_are_named() {
        let good = p(Some("PluginAPI.GetUser"), &"a".repeat(40));
        assert_eq!(good.problem(), None);
        assert_eq!(
            good.to_string(),
            "mattermost/mattermost server/channels/app/plugin_api.go PluginAPI.GetUser @aaaaaaaaaaaa"
        );
        assert!(
            p(None, &"a".repeat(40))
                .problem()
                .unwrap()
                .contains("neither")
        );
        assert!(
            p(Some("X"), "abc")
                .problem()
                .unwrap()
                .contains("40 hexadecimal")
        );
        assert!(
            p(Some("X"), &"g".repeat(40))
                .problem()
                .unwrap()
                .contains("40 hexadecimal")
        );
    }
}
