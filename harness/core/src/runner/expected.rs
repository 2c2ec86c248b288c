//! The known-failing or known-flaky entry that matched a case, as outcomes and reports
//! carry it. The lists themselves are read and applied by [`crate::expectations`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which list an entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpectationKind {
    KnownFailing,
    KnownFlaky,
}

impl fmt::Display for ExpectationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExpectationKind::KnownFailing => "known-failing",
            ExpectationKind::KnownFlaky => "known-flaky",
        })
    }
}

/// The list entry that matched a case, as the reports show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    pub kind: ExpectationKind,
    pub pattern: String,
    pub justification: String,
    /// `FILE:LINE` of the entry.
    pub source: String,
}
