//! The specification the cases cite (`docs/SPEC.md`), embedded: its clauses by number, so
//! that a case's `SPEC §5.1` resolves to the clause it checks, reports quote that clause,
//! and a test refuses a citation that resolves to nothing.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// `docs/SPEC.md`, as built into the binary.
pub const SPEC_MD: &str = include_str!("../../../docs/SPEC.md");

/// Where the specification lives in the repository (for links in reports).
pub const SPEC_PATH: &str = "docs/SPEC.md";

/// One anchored section of the specification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// The section number, `5.1`.
    pub number: String,
    pub title: String,
    /// The one-line clause that opens the section.
    pub text: String,
    /// The section's `Upstream:` line (without the prefix).
    pub upstream: String,
}

impl Clause {
    /// `docs/SPEC.md#s5.1`.
    pub fn link(&self) -> String {
        format!("{SPEC_PATH}#s{}", self.number)
    }
}

/// Every clause of `text` by number; an anchored section without its clause line or its
/// upstream line is an error naming it.
pub fn parse(text: &str) -> Result<BTreeMap<String, Clause>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(number) = line
            .trim()
            .strip_prefix("<a id=\"s")
            .and_then(|r| r.strip_suffix("\"></a>"))
        else {
            continue;
        };
        let end = lines[i + 1..]
            .iter()
            .position(|l| l.trim().starts_with("<a id=\"s"))
            .map_or(lines.len(), |p| i + 1 + p);
        let body = &lines[i + 1..end];
        let title = body
            .iter()
            .find(|l| l.starts_with('#'))
            .map(|l| l.trim_start_matches('#').trim().to_string())
            .ok_or_else(|| format!("§{number}: no heading after its anchor"))?;
        let prefix = format!("> **Clause {number}.**");
        let start = body
            .iter()
            .position(|l| l.trim().starts_with(&prefix))
            .ok_or_else(|| format!("§{number}: no \"{prefix}\" line"))?;
        // The clause is the whole blockquote: its first line and the `>` lines after it.
        let mut text = body[start].trim()[prefix.len()..].trim().to_string();
        for more in body[start + 1..]
            .iter()
            .map_while(|l| l.trim().strip_prefix('>'))
        {
            text.push(' ');
            text.push_str(more.trim());
        }
        let upstream = body
            .iter()
            .find_map(|l| l.trim().strip_prefix("Upstream:"))
            .map(|t| t.trim().to_string())
            .ok_or_else(|| format!("§{number}: no \"Upstream:\" line"))?;
        if out
            .insert(
                number.to_string(),
                Clause {
                    number: number.to_string(),
                    title,
                    text,
                    upstream,
                },
            )
            .is_some()
        {
            return Err(format!("§{number}: two anchors of this number"));
        }
    }
    Ok(out)
}

/// The embedded specification's clauses (a malformed `docs/SPEC.md` is caught by a test).
pub fn clauses() -> &'static BTreeMap<String, Clause> {
    static CLAUSES: OnceLock<BTreeMap<String, Clause>> = OnceLock::new();
    CLAUSES.get_or_init(|| parse(SPEC_MD).unwrap_or_default())
}

/// The section numbers a case's clause cites: every `§N` or `§N.M...` in it (`SPEC §9.2 step
/// 4, §20.4 item 10` cites 9.2 and 20.4).
pub fn references(clause: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in clause.match_indices('§') {
        let number: String = clause[i + '§'.len_utf8()..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let number = number.trim_end_matches('.').to_string();
        if !number.is_empty() && !out.contains(&number) {
            out.push(number);
        }
    }
    out
}

/// The clauses a case's clause cites, or the citations that resolve to nothing. A clause
/// that cites no section at all is an error too.
pub fn resolve(clause: &str) -> Result<Vec<&'static Clause>, String> {
    let refs = references(clause);
    if refs.is_empty() {
        return Err(format!("{clause:?} cites no section of {SPEC_PATH}"));
    }
    let missing: Vec<String> = refs
        .iter()
        .filter(|r| !clauses().contains_key(*r))
        .map(|r| format!("§{r}"))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{clause:?}: {} not in {SPEC_PATH}",
            missing.join(", ")
        ));
    }
    Ok(refs.iter().map(|r| &clauses()[r]).collect())
}

/// The text of every clause a case cites, for reports: `§5.1 Start timeout: <clause>
/// (docs/SPEC.md#s5.1)`, one per line; what does not resolve is said so.
pub fn quote(clause: &str) -> String {
    match resolve(clause) {
        Ok(found) => found
            .iter()
            .map(|c| format!("§{} {}: {} ({})", c.number, c.title, c.text, c.link()))
            .collect::<Vec<_>>()
            .join("\n"),
        Err(e) => format!("(unresolved citation: {e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "intro\n<a id=\"s5\"></a>\n## 5. Failures\n> **Clause 5.** Start fails.\nBody.\nUpstream: client.go (Start)\n<a id=\"s5.1\"></a>\n### 5.1 Start timeout\n> **Clause 5.1.** Ten\n> seconds.\n\nUpstream: supervisor.go\n";

    #[test]
    fn sections_parse_with_clause_and_upstream() {
        let c = parse(DOC).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c["5.1"].title, "5.1 Start timeout");
        assert_eq!(c["5.1"].text, "Ten seconds.");
        assert_eq!(c["5"].upstream, "client.go (Start)");
        assert_eq!(c["5.1"].link(), "docs/SPEC.md#s5.1");
        let broken = DOC.replace("Upstream: supervisor.go\n", "");
        assert!(parse(&broken).unwrap_err().contains("§5.1"));
    }

    #[test]
    fn references_are_every_section_number() {
        assert_eq!(
            references("SPEC §9.2 step 4, §20.4 item 10 (x)"),
            ["9.2", "20.4"]
        );
        assert_eq!(references("SPEC §9. And §9.2"), ["9", "9.2"]);
        assert!(references("api-methods.tsv").is_empty());
    }

    #[test]
    fn the_embedded_specification_is_well_formed() {
        let c = parse(SPEC_MD).unwrap_or_else(|e| panic!("{SPEC_PATH}: {e}"));
        assert!(
            c.contains_key("10.1") && c.contains_key("5.1"),
            "{:?}",
            c.keys()
        );
        assert!(resolve("SPEC §5.1, §9.2 step 4").is_ok());
        assert!(resolve("SPEC §99.9").unwrap_err().contains("§99.9"));
        assert!(resolve("no citation").is_err());
        assert!(quote("SPEC §5.1").contains("docs/SPEC.md#s5.1"));
    }
}
