//! No import circle between the modules of a crate: each module's `crate::` and `super::`
//! paths (comments and test modules left out) are edges of a graph whose strongly
//! connected components must all be single modules, but for the one circle listed (with
//! its reason) in `ALLOWED`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Circles kept on purpose.
const ALLOWED: &[(&[&str], &str)] = &[(
    &[
        "api/handlers/bots",
        "api/handlers/channels",
        "api/handlers/users",
    ],
    "upstream's own recursion: deactivating a user disables their bots (UpdateUserActive -> UpdateBotActive -> UpdateUserActive), a bot's DM is a direct channel",
)];

/// Module name (`supervisor/launch`, `` for the crate root) -> its source.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut pending = vec![src.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut name = rel.to_string_lossy().into_owned();
            if let Some(parent) = name.strip_suffix("/mod") {
                name = parent.to_string();
            }
            if name == "lib" || name == "main" {
                name = String::new();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code: String = text
                .split("#[cfg(test)]\nmod tests")
                .next()
                .unwrap()
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            out.insert(name, code);
        }
    }
    out
}

/// The longest prefix of `segments` that names a module.
fn resolve(mods: &BTreeMap<String, String>, segments: &[&str]) -> Option<String> {
    (1..=segments.len())
        .rev()
        .map(|i| segments[..i].join("/"))
        .find(|c| mods.contains_key(c))
}

fn path_after<'a>(code: &'a str, prefix: &str) -> Vec<Vec<&'a str>> {
    code.match_indices(prefix)
        .filter(|(at, _)| {
            *at == 0 || !code[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
        })
        .map(|(at, _)| {
            let rest = &code[at + prefix.len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            rest[..end].split("::").filter(|s| !s.is_empty()).collect()
        })
        .collect()
}

fn edges(mods: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, code) in mods {
        let parent = name.rsplit_once('/').map_or("", |(p, _)| p);
        let mut targets = Vec::new();
        for segments in path_after(code, "crate::") {
            targets.extend(resolve(mods, &segments));
        }
        for segments in path_after(code, "super::") {
            let mut full: Vec<&str> = parent.split('/').filter(|s| !s.is_empty()).collect();
            full.extend(segments);
            targets.extend(resolve(mods, &full));
        }
        let mine = out.entry(name.clone()).or_default();
        for t in targets {
            // A module may use its ancestors' items; only other branches count.
            if &t != name && !name.starts_with(&format!("{t}/")) && !t.is_empty() {
                mine.insert(t);
            }
        }
    }
    out
}

/// Strongly connected components with more than one module (Tarjan).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        for w in s.graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.stack.contains(&w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.found
}

#[test]
fn no_import_circle_between_the_modules_of_the_core_and_suites_crates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for (krate, allowed) in [("harness/core/src", ALLOWED), ("suites/src", &[][..])] {
        let found = circles(&edges(&modules(&root.join(krate))));
        let expected: Vec<Vec<String>> = allowed
            .iter()
            .map(|(c, _)| c.iter().map(|m| m.to_string()).collect())
            .collect();
        assert_eq!(found, expected, "import circles in {krate}");
    }
}

#[test]
fn the_circle_finder_finds_a_planted_circle() {
    let mut mods = BTreeMap::new();
    mods.insert("a".to_string(), "use crate::b::X;".to_string());
    mods.insert("b".to_string(), "fn f() { crate::c::g(); }".to_string());
    mods.insert("c".to_string(), "use super::a;".to_string());
    mods.insert("d".to_string(), "// use crate::a;".to_string());
    assert_eq!(
        circles(&edges(&mods)),
        [vec!["a".to_string(), "b".to_string(), "c".to_string()]]
    );
}
