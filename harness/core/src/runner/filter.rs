//! `--run` / `--skip` glob filters over case names. A `--run` pattern that selects no
//! case is an error: it is almost always a typo, and a silent empty run is worse.

use globset::{Glob, GlobSet, GlobSetBuilder};

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("bad glob {pattern:?}: {message}")]
    BadGlob { pattern: String, message: String },
    #[error("--run pattern {0:?} matches no case (see `plugin-conformance list`)")]
    MatchesNothing(String),
}

/// Include/exclude globs; `*` also crosses `/`, so `handshake*` selects a whole suite.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    run: Vec<(String, GlobSet)>,
    skip: Option<GlobSet>,
}

/// One glob with the filters' syntax (also used by the expectation lists).
pub(crate) fn compile(pattern: &str) -> Result<GlobSet, FilterError> {
    let glob = Glob::new(pattern).map_err(|e| FilterError::BadGlob {
        pattern: pattern.to_string(),
        message: e.to_string(),
    })?;
    let mut b = GlobSetBuilder::new();
    b.add(glob);
    b.build().map_err(|e| FilterError::BadGlob {
        pattern: pattern.to_string(),
        message: e.to_string(),
    })
}

impl Filter {
    pub fn new(run: &[String], skip: &[String]) -> Result<Self, FilterError> {
        let run = run
            .iter()
            .map(|p| Ok((p.clone(), compile(p)?)))
            .collect::<Result<Vec<_>, FilterError>>()?;
        let skip = if skip.is_empty() {
            None
        } else {
            let mut b = GlobSetBuilder::new();
            for p in skip {
                b.add(Glob::new(p).map_err(|e| FilterError::BadGlob {
                    pattern: p.clone(),
                    message: e.to_string(),
                })?);
            }
            Some(b.build().map_err(|e| FilterError::BadGlob {
                pattern: skip.join(","),
                message: e.to_string(),
            })?)
        };
        Ok(Self { run, skip })
    }

    pub fn selects(&self, name: &str) -> bool {
        let included = self.run.is_empty() || self.run.iter().any(|(_, g)| g.is_match(name));
        let excluded = self.skip.as_ref().is_some_and(|g| g.is_match(name));
        included && !excluded
    }

    /// Keeps the selected names; fails if a `--run` pattern matched none of `names`.
    pub fn apply<T>(
        &self,
        items: Vec<T>,
        name: impl Fn(&T) -> &str,
    ) -> Result<Vec<T>, FilterError> {
        for (pattern, glob) in &self.run {
            if !items.iter().any(|i| glob.is_match(name(i))) {
                return Err(FilterError::MatchesNothing(pattern.clone()));
            }
        }
        Ok(items
            .into_iter()
            .filter(|i| self.selects(name(i)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_and_skip() {
        let names = vec!["handshake/a", "handshake/b", "health/a"];
        let f = Filter::new(&["handshake/*".into()], &["*/b".into()]).unwrap();
        assert_eq!(f.apply(names.clone(), |n| n).unwrap(), vec!["handshake/a"]);
        let f = Filter::new(&["nope/*".into()], &[]).unwrap();
        assert!(matches!(
            f.apply(names.clone(), |n| n),
            Err(FilterError::MatchesNothing(_))
        ));
        assert_eq!(
            Filter::default().apply(names.clone(), |n| n).unwrap().len(),
            3
        );
        assert!(Filter::new(&["[".into()], &[]).is_err());
    }
}
