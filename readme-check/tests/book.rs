//! The book cannot rot: every page of `docs/src` is in its `SUMMARY.md`, and every relative
//! Markdown link of README.md, ARCHITECTURE.md and the book's pages points to a file that
//! exists, and, for an `#anchor` into a `.md` file, to one of its headings.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const BEGIN: &str =
    "<!-- settings-table:begin (generated from swarm-harness/src/settings: edit there) -->";
const END: &str = "<!-- settings-table:end -->";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The book's pages, sorted: every `.md` file of `docs/src`, `SUMMARY.md` included.
fn pages() -> Vec<PathBuf> {
    let dir = root().join("docs/src");
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    pages.sort();
    pages
}

/// The lines of a Markdown text outside fenced code blocks, numbered from 1.
fn prose(text: &str) -> Vec<(usize, &str)> {
    let mut fenced = false;
    let mut lines = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            lines.push((index + 1, line));
        }
    }
    lines
}

/// A line without its inline code spans (a run of backticks up to the next run as long).
fn without_code(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let ticks = rest[start..].len() - rest[start..].trim_start_matches('`').len();
        let fence = &rest[start..start + ticks];
        let after = &rest[start + ticks..];
        match after.find(fence) {
            Some(end) => rest = &after[end + ticks..],
            None => {
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The link targets of a Markdown text with their lines: inline links and images
/// (`[text](target "title")`) and reference definitions (`[label]: target`).
fn links(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in prose(text) {
        let line = without_code(line);
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            let target = after[..end].trim().trim_start_matches('<');
            let target = target.split([' ', '>']).next().unwrap_or("");
            found.push((number, target.to_owned()));
            rest = &after[end..];
        }
        let trimmed = line.trim_start();
        if let (true, Some(close)) = (trimmed.starts_with('['), trimmed.find("]: ")) {
            let target = trimmed[close + 3..].split_whitespace().next().unwrap_or("");
            found.push((number, target.to_owned()));
        }
    }
    found
}

/// The anchors of a Markdown text's headings, as GitHub and mdBook make them: lowercase,
/// letters, digits, `-` and `_` kept, spaces made `-`, the rest dropped; a repeated heading
/// gets `-1`, `-2`, ...
fn anchors(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (_, line) in prose(text) {
        let hashes = line.len() - line.trim_start_matches('#').len();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let title = line[hashes..].trim().trim_end_matches('#').trim();
        let slug: String = title
            .chars()
            .filter_map(|c| match c {
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
                c if c.is_whitespace() => Some('-'),
                _ => None,
            })
            .collect();
        let mut unique = slug.clone();
        let mut n = 0;
        while found.contains(&unique) {
            n += 1;
            unique = format!("{slug}-{n}");
        }
        found.insert(unique);
    }
    found
}

/// What is wrong with one document's relative links, one line per broken link.
fn broken_links(document: &Path) -> Vec<String> {
    let text = read(document);
    let dir = document.parent().expect("a document has a directory");
    let name = document
        .strip_prefix(root())
        .unwrap_or(document)
        .display()
        .to_string();
    let mut broken = Vec::new();
    for (line, target) in links(&text) {
        if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (path, anchor) = match target.split_once('#') {
            Some((path, anchor)) => (path, Some(anchor)),
            None => (target.as_str(), None),
        };
        let file = if path.is_empty() {
            document.to_path_buf()
        } else {
            dir.join(path)
        };
        if !file.exists() {
            broken.push(format!("{name} line {line}: {target}: no such file"));
            continue;
        }
        if let Some(anchor) = anchor
            && file.extension().is_some_and(|ext| ext == "md")
            && !anchors(&read(&file)).contains(anchor)
        {
            broken.push(format!("{name} line {line}: {target}: no such heading"));
        }
    }
    broken
}

#[test]
fn every_page_is_in_the_summary() {
    let summary_path = root().join("docs/src/SUMMARY.md");
    let summary: BTreeSet<String> = links(&read(&summary_path))
        .into_iter()
        .map(|(_, target)| target)
        .collect();
    let missing: Vec<String> = pages()
        .iter()
        .filter_map(|page| page.file_name()?.to_str().map(str::to_owned))
        .filter(|name| name != "SUMMARY.md" && !summary.contains(name))
        .collect();
    assert!(
        missing.is_empty(),
        "pages of docs/src missing from SUMMARY.md: {missing:?}"
    );
    assert!(pages().len() >= 10, "docs/src has lost its pages");
}

#[test]
fn every_relative_link_points_to_a_file_and_heading() {
    let mut documents = vec![root().join("README.md"), root().join("ARCHITECTURE.md")];
    documents.extend(pages());
    let broken: Vec<String> = documents
        .iter()
        .flat_map(|document| broken_links(document))
        .collect();
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_book_toml_names_src() {
    let book: String = read(&root().join("docs/book.toml"));
    assert!(
        book.lines()
            .any(|line| line.replace(' ', "") == "src=\"src\""),
        "{book}"
    );
}

/// The settings table is in the README and in docs/src/settings.md, each once between the
/// markers the generator rewrites, and the same in both.
#[test]
fn the_settings_table_is_between_its_markers_and_the_same_in_both() {
    let table = |path: &Path| -> String {
        let text = read(path);
        let lines: Vec<&str> = text.lines().collect();
        let at = |marker: &str| {
            let found: Vec<usize> = (0..lines.len()).filter(|&i| lines[i] == marker).collect();
            assert_eq!(
                found.len(),
                1,
                "{}: {marker} must be a line of its own, once",
                path.display()
            );
            found[0]
        };
        let (begin, end) = (at(BEGIN), at(END));
        assert!(
            begin < end,
            "{}: the end marker comes before the begin marker",
            path.display()
        );
        lines[begin + 1..end].join("\n")
    };
    let readme = table(&root().join("README.md"));
    assert!(
        readme.starts_with("| variable | flag | meaning | default |"),
        "{readme}"
    );
    assert_eq!(readme, table(&root().join("docs/src/settings.md")));
}

/// CI runs the README's first block as it is: it must stay the first lines.
#[test]
fn the_readme_starts_with_the_two_commands() {
    let readme = read(&root().join("README.md"));
    let first: Vec<&str> = readme.lines().take(4).collect();
    assert_eq!(first[0], "```sh");
    assert!(
        first[1]
            .starts_with("PT_DURATION=30s PT_NUM_CLIENTS=10 PT_HATCH_RATE=5 ./run_stress_tests.sh")
    );
    assert!(first[2].starts_with("./scripts/test.sh"));
    assert_eq!(first[3], "```");
}

/// The checker itself: it sees links past code spans, and anchors as GitHub makes them.
#[test]
fn the_checker_reads_links_and_anchors() {
    let text = "# The edit → rerun loop\n## `swarm`: compare\n## Again\n## Again\n\
                see [a](b.md#c) and `[not](a link)`, [![img](i.png)](d.md)\n\
                ```\n[in](code.md)\n```\n[ref]: e.md\n";
    let targets: Vec<String> = links(text).into_iter().map(|(_, target)| target).collect();
    assert_eq!(targets, ["b.md#c", "i.png", "d.md", "e.md"]);
    let anchors = anchors(text);
    for anchor in ["the-edit--rerun-loop", "swarm-compare", "again", "again-1"] {
        assert!(anchors.contains(anchor), "{anchor} not in {anchors:?}");
    }
}
