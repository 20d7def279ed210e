//! The crate's import graph between its top-level modules and folders has no cycle: each
//! `crate::<module>` path outside test modules and comments is an edge (a name `lib.rs`
//! re-exports, `crate::User`, counts as its module; `crate::{a, b}` as each), and a cycle (two
//! parts that import each other, however far round) fails here, naming it. This keeps the
//! untangling of `src/` from growing back; ARCHITECTURE.md's layers are the intended order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level part of a file under `src/`: `http/session.rs` is `http`, `trials.rs` is `trials`.
fn part_of(relative: &Path) -> String {
    let first = relative
        .components()
        .next()
        .expect("a file has a first component");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_owned()
}

/// The code of a file without its `#[cfg(test)] mod tests { .. }` (found by its braces, so
/// items after it still count) and its comment lines.
fn code_of(text: &str) -> String {
    let mut code = text.to_owned();
    while let Some(start) = code.find("#[cfg(test)]\nmod tests") {
        let Some(open) = code[start..].find('{').map(|i| start + i) else {
            break;
        };
        let mut depth = 0usize;
        let mut end = code.len();
        for (offset, c) in code[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + offset + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        code.replace_range(start..end, "");
    }
    code.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What `lib.rs` re-exports: a name (`User`) to the part it comes from (`user`).
fn reexports(src: &Path) -> BTreeMap<String, String> {
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let mut names = BTreeMap::new();
    for line in lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub use "))
    {
        let Some((path, tail)) = line.split_once("::") else {
            continue;
        };
        let tail = tail.trim_end_matches(';');
        let items = match tail.rsplit_once("::") {
            Some((_, items)) => items,
            None => tail,
        };
        for item in items.trim_matches(|c| c == '{' || c == '}').split(',') {
            let name = item.split(" as ").last().unwrap_or(item).trim();
            if !name.is_empty() {
                names.insert(name.to_owned(), path.to_owned());
            }
        }
    }
    names
}

/// The parts `code` names after `crate::`: `crate::http::..`, `crate::User` (through
/// `names`), each of `crate::{a::b, User}`.
fn targets(code: &str, names: &BTreeMap<String, String>) -> BTreeSet<String> {
    let ident = |rest: &str| -> String {
        rest.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = BTreeSet::new();
    for (index, _) in code.match_indices("crate::") {
        let rest = &code[index + "crate::".len()..];
        let heads: Vec<String> = match rest.strip_prefix('{') {
            Some(group) => group
                .split('}')
                .next()
                .unwrap_or("")
                .split(',')
                .map(|item| ident(item.trim()))
                .collect(),
            None => vec![ident(rest)],
        };
        for head in heads.into_iter().filter(|h| !h.is_empty()) {
            match names.get(&head) {
                Some(part) => found.insert(part.clone()),
                None => found.insert(head),
            };
        }
    }
    found
}

fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let names = reexports(&src);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            // A test module in a file of its own (`foo/tests.rs`) is test code too.
            if path.extension().is_none_or(|e| e != "rs")
                || path.file_stem().is_some_and(|stem| stem == "tests")
            {
                continue;
            }
            let from = part_of(path.strip_prefix(&src).unwrap());
            if from == "bin" || from == "lib" {
                continue; // the CLI and the crate root sit above every part
            }
            let code = code_of(&std::fs::read_to_string(&path).unwrap());
            for to in targets(&code, &names) {
                if to != from && !to.starts_with(char::is_uppercase) {
                    edges.entry(from.clone()).or_default().insert(to);
                }
            }
        }
    }
    edges
}

/// A cycle through `start`, if any: the path back to it.
fn cycle_from(start: &str, edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_owned(), vec![start.to_owned()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in edges.get(&node).into_iter().flatten() {
            if next == start {
                let mut cycle = path.clone();
                cycle.push(start.to_owned());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn the_parts_of_src_import_each_other_without_a_cycle() {
    let edges = edges();
    assert!(edges.len() > 10, "too few parts found: {edges:?}");
    let cycles: Vec<String> = edges
        .keys()
        .filter_map(|start| cycle_from(start, &edges))
        .map(|cycle| cycle.join(" -> "))
        .collect();
    assert!(
        cycles.is_empty(),
        "import cycles in src/:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn re_exports_and_groups_count_as_their_parts() {
    let names = BTreeMap::from([("User".to_owned(), "user".to_owned())]);
    let code = "use crate::{User, http::session};\nlet x = crate::report::Outcome;";
    let found: Vec<String> = targets(code, &names).into_iter().collect();
    assert_eq!(found, ["http", "report", "user"]);
    let stripped = code_of("a\n#[cfg(test)]\nmod tests {\n { crate::x }\n}\nb crate::y");
    assert!(
        !stripped.contains("crate::x") && stripped.contains("crate::y"),
        "{stripped}"
    );
}

#[test]
fn a_cycle_is_found() {
    // The check itself can fail: a -> b -> a is a cycle, a -> b -> c is not.
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    assert_eq!(cycle_from("a", &edges), None);
    edges.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        cycle_from("a", &edges),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}
