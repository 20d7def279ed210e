//! The sizes the layering keeps: no file of `src/` over 600 lines, and no function of the
//! runner or the harness over 80 lines (from its `fn` line to its closing brace), so a part
//! stays readable alone. A file or function that grows past them fails here, named.

use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 600;
const MAX_FUNCTION_LINES: usize = 80;

/// Every `.rs` file below `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Whether `line` (trimmed) starts a function: `fn`, after any visibility and qualifiers.
fn starts_function(line: &str) -> bool {
    let mut rest = line.trim_start();
    for prefix in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
    ] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    rest.starts_with("fn ")
}

/// Each function of `text` with its length: from its `fn` line to the first line after it
/// that is its closing brace at its own indent. One-line functions and declarations end on
/// their own line.
fn functions(text: &str) -> Vec<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        if !starts_function(line) || line.trim_end().ends_with(['}', ';']) {
            continue;
        }
        let close = format!("{}}}", &line[..line.len() - line.trim_start().len()]);
        if let Some(end) = (start + 1..lines.len()).find(|&i| lines[i].trim_end() == close) {
            found.push((start + 1, end - start + 1));
        }
    }
    found
}

#[test]
fn no_file_of_src_is_over_600_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let long: Vec<String> = sources(&src)
        .into_iter()
        .filter_map(|path| {
            let lines = std::fs::read_to_string(&path).unwrap().lines().count();
            (lines > MAX_FILE_LINES).then(|| format!("{} ({lines} lines)", path.display()))
        })
        .collect();
    assert!(long.is_empty(), "over {MAX_FILE_LINES} lines: {long:#?}");
}

#[test]
fn no_function_of_the_runner_or_the_harness_is_over_80_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut long = Vec::new();
    for part in ["runner", "harness"] {
        for path in sources(&src.join(part)) {
            let text = std::fs::read_to_string(&path).unwrap();
            for (line, length) in functions(&text) {
                if length > MAX_FUNCTION_LINES {
                    long.push(format!("{}:{line} ({length} lines)", path.display()));
                }
            }
        }
    }
    assert!(
        long.is_empty(),
        "over {MAX_FUNCTION_LINES} lines: {long:#?}"
    );
}

#[test]
fn a_function_is_measured_to_its_closing_brace() {
    let text = "fn a() {\n    x;\n    {\n    }\n}\n    pub(crate) async fn b(\n        y: u8,\n    ) {\n    }\nfn c() {}\n";
    assert_eq!(functions(text), [(1, 5), (6, 4)]);
}
