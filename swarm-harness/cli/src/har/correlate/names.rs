//! Names: the reported name of a path with ids (`/api/apps/{id}`), the identifier of an
//! origin, and each variable's readable, unique, non-keyword name.

use swarm_harness::__private::har::looks_like_id;

use super::decode;
use crate::har::plan::{Part, Source, Template, Var};

/// `/api/apps/{id}` when a path segment is a variable or looks like an id.
pub(super) fn id_name(target: &Template) -> Option<String> {
    let path_end = target
        .0
        .iter()
        .position(|part| matches!(part, Part::Text(text) if text.contains('?')));
    let mut path_parts: Vec<&Part> = target.0.iter().collect();
    if let Some(end) = path_end {
        path_parts.truncate(end + 1);
    }
    let mut rendered = String::new();
    for part in path_parts {
        match part {
            Part::Text(text) => rendered.push_str(text.split('?').next().unwrap_or("")),
            Part::Var { .. } | Part::Origin | Part::Secret { .. } => rendered.push('\u{0}'),
        }
    }
    let mut changed = false;
    let segments: Vec<String> = rendered
        .split('/')
        .map(|segment| {
            if segment.contains('\u{0}') || looks_like_id(&decode(segment)) {
                changed = true;
                "{id}".to_owned()
            } else {
                segment.to_owned()
            }
        })
        .collect();
    changed.then(|| segments.join("/"))
}

/// `http://127.0.0.1:8080` → `127_0_0_1_8080`.
pub fn ident_of_origin(origin: &str) -> String {
    let host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    snake(host)
}

fn snake(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

/// A readable name: `app_id` for `/id` of `POST /api/apps`, the cookie's name, `location`.
pub(super) fn var_name(source: &Source, target: &str, token: &str) -> String {
    let base = match source {
        Source::Json { pointer } => {
            let key = pointer
                .rsplit('/')
                .find(|part| !part.is_empty() && !part.chars().all(|c| c.is_ascii_digit()))
                .unwrap_or("value");
            let key = snake(key);
            // The object holding an id names it (`/cart/id` → `cart_id`), else the path does.
            let parent = pointer
                .rsplit('/')
                .filter(|part| !part.is_empty() && !part.chars().all(|c| c.is_ascii_digit()))
                .nth(1);
            if matches!(key.as_str(), "id" | "uuid" | "key" | "slug")
                && let Some(parent) = parent
            {
                format!(
                    "{}_{key}",
                    snake(parent.strip_suffix('s').unwrap_or(parent))
                )
            } else if matches!(key.as_str(), "id" | "uuid" | "key" | "slug") {
                let resource = target
                    .split('?')
                    .next()
                    .unwrap_or("")
                    .rsplit('/')
                    .find(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphabetic()));
                match resource {
                    Some(resource) => {
                        let singular = resource.strip_suffix('s').unwrap_or(resource);
                        format!("{}_{key}", snake(singular))
                    }
                    None => key,
                }
            } else {
                key
            }
        }
        Source::Cookie { name } => snake(name),
        Source::Between {
            header: Some(header),
            ..
        } => snake(header),
        Source::Between {
            header: None, left, ..
        } => {
            let name = left
                .rsplit_once("name=\"")
                .and_then(|(_, rest)| rest.split('"').next())
                .map(snake)
                .filter(|name| !name.is_empty());
            name.unwrap_or_else(|| "token".to_owned())
        }
    };
    let _ = token;
    let base = if base.is_empty() {
        "value".to_owned()
    } else {
        base
    };
    if base.starts_with(|c: char| c.is_ascii_digit()) || is_keyword(&base) {
        format!("v_{base}")
    } else {
        base
    }
}

fn is_keyword(word: &str) -> bool {
    const KEYWORDS: [&str; 52] = [
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
        "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move",
        "mut", "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true",
        "type", "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final",
        "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield", "gen",
        "union",
    ];
    // Names the generated code itself uses.
    const TAKEN: [&str; 5] = ["user", "response", "origin", "captured", "polls"];
    KEYWORDS.contains(&word) || TAKEN.contains(&word)
}

pub(super) fn unique_name(base: &str, vars: &[Var]) -> String {
    let mut name = base.to_owned();
    let mut n = 2;
    while vars.iter().any(|var| var.name == name) {
        name = format!("{base}_{n}");
        n += 1;
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_paths_are_named() {
        let name = id_name(&Template::text("/api/apps/123/logs?x=1"));
        assert_eq!(name.as_deref(), Some("/api/apps/{id}/logs"));
        let uuid = Template::text("/u/0b9e3c2a-5f6d-4e1b-9a7c-3d2e1f0a9b8c");
        assert_eq!(id_name(&uuid).as_deref(), Some("/u/{id}"));
        assert_eq!(id_name(&Template::text("/api/catalog")), None);
        let var = Template(vec![
            Part::Text("/api/apps/".into()),
            Part::Var {
                index: 0,
                encoded: false,
            },
        ]);
        assert_eq!(id_name(&var).as_deref(), Some("/api/apps/{id}"));
    }

    #[test]
    fn names_are_identifiers() {
        let json = |p: &str| Source::Json { pointer: p.into() };
        assert_eq!(var_name(&json("/id"), "/api/apps", "x"), "app_id");
        assert_eq!(var_name(&json("/0/id"), "/api/orgs?x=1", "x"), "org_id");
        assert_eq!(
            var_name(&json("/data/accessToken"), "/login", "x"),
            "accesstoken"
        );
        assert_eq!(var_name(&json("/type"), "/", "x"), "v_type");
        assert_eq!(var_name(&json("/9lives"), "/", "x"), "v_9lives");
        assert_eq!(
            ident_of_origin("https://api.example.com:8443"),
            "api_example_com_8443"
        );
    }
}
