//! The two promises of generated code, tested over recordings whose every string field is
//! drawn from hostile text: the file parses to exactly the items, attributes and names import
//! generates (no recorded string becomes code, a comment or a doc line of its own), and no
//! recorded credential appears in it in any encoding.

use proptest::prelude::*;
use serde_json::{Value as Json, json};

use super::{codegen, correlate, model, plan, select};

/// Text that tries to end a comment, a line, a literal or a doc code span, or to turn the
/// text around, and plain text around it.
fn hostile() -> impl Strategy<Value = String> {
    let attack = prop_oneof![
        Just("\n#[stress_test] async fn evil(user: &mut User) -> anyhow::Result<()> { std::process::Command::new(\"sh\").spawn()?; Ok(()) }\n".to_owned()),
        Just("*/ fn evil() { std::process::exit(1) } /*".to_owned()),
        Just("\r\n//! evil\r".to_owned()),
        Just("\u{2028}fn evil() {}\u{2029}\u{85}".to_owned()),
        Just("\u{202e}evil\u{2066}\u{2069}\u{200f}".to_owned()),
        Just("`` </code><script>alert(1)</script> [x](javascript:alert(1)) <!--".to_owned()),
        Just("\"); std::process::exit(1); (\"".to_owned()),
        Just("\"#); evil(); (r#\"".to_owned()),
        Just("{} {{ }} {0} {origin} {user:?}".to_owned()),
        Just("\\u{41} \\n \0 \u{7}".to_owned()),
        any::<String>(),
    ];
    prop_oneof![
        1 => "[a-z0-9/._-]{0,8}",
        3 => ("[a-z0-9/._=&-]{0,6}", attack, "[a-z0-9/._-]{0,6}")
            .prop_map(|(a, b, c)| format!("{a}{b}{c}")),
    ]
}

/// A name that is sometimes a credential's, sometimes a plain one, sometimes hostile.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("content-type".to_owned()),
        Just("x-api-key".to_owned()),
        Just("authorization".to_owned()),
        Just("referer".to_owned()),
        Just("location".to_owned()),
        Just("x-request-id".to_owned()),
        hostile(),
    ]
}

fn pairs() -> impl Strategy<Value = Json> {
    proptest::collection::vec((name(), hostile()), 0..4).prop_map(|pairs| {
        Json::Array(
            pairs
                .into_iter()
                .map(|(n, v)| json!({"name": n, "value": v}))
                .collect(),
        )
    })
}

fn url() -> impl Strategy<Value = String> {
    prop_oneof![
        (hostile(), hostile(), hostile())
            .prop_map(|(path, key, value)| format!("http://a.test/{path}?{key}={value}")),
        hostile().prop_map(|path| format!("https://a.test/api/{path}")),
        hostile(),
    ]
}

fn post_data() -> impl Strategy<Value = Json> {
    prop_oneof![
        Just(Json::Null),
        (hostile(), hostile()).prop_map(|(mime, text)| json!({"mimeType": mime, "text": text})),
        (hostile(), hostile()).prop_map(|(key, value)| json!({
            "mimeType": "application/json", "text": json!({key: value, "password": value}).to_string()
        })),
        (name(), hostile(), hostile(), hostile()).prop_map(|(n, v, file, ct)| json!({
            "mimeType": "multipart/form-data",
            "params": [{"name": n, "value": v}, {"name": "f", "fileName": file, "contentType": ct}]
        })),
        (name(), hostile()).prop_map(|(n, v)| json!({
            "mimeType": "application/x-www-form-urlencoded", "params": [{"name": n, "value": v}]
        })),
        (hostile(), hostile()).prop_map(|(text, encoding)| json!({"text": text, "encoding": encoding})),
    ]
}

/// A response body that offers hostile values and keys for capture.
fn content() -> impl Strategy<Value = Json> {
    prop_oneof![
        (hostile(), hostile()).prop_map(|(mime, text)| json!({"mimeType": mime, "text": text})),
        (hostile(), hostile()).prop_map(|(key, value)| json!({
            "mimeType": "application/json", "text": json!({key: value, "id": value}).to_string()
        })),
        (hostile(), hostile())
            .prop_map(|(text, encoding)| json!({"text": text, "encoding": encoding})),
    ]
}

fn entry() -> impl Strategy<Value = Json> {
    let request = (
        prop_oneof![Just("GET".to_owned()), Just("POST".to_owned()), hostile()],
        url(),
        pairs(),
        post_data(),
    );
    let response = (
        prop_oneof![Just(json!(200)), Just(json!(404)), Just(json!(302))],
        pairs(),
        content(),
        hostile(),
    );
    (request, response, hostile(), hostile()).prop_map(
        |(
            (method, url, headers, post),
            (status, resp_headers, content, redirect),
            started,
            kind,
        )| {
            let mut entry = json!({
                "startedDateTime": started,
                "_resourceType": kind,
                "request": {"method": method, "url": url, "headers": headers},
                "response": {"status": status, "headers": resp_headers, "content": content,
                             "redirectURL": redirect},
            });
            if !post.is_null() {
                entry["request"]["postData"] = post;
            }
            entry
        },
    )
}

fn recording() -> impl Strategy<Value = (Json, String)> {
    (
        proptest::collection::vec(entry(), 1..6),
        hostile(),
        hostile(),
        hostile(),
    )
        .prop_map(|(entries, creator, version, file)| {
            let har = json!({"log": {"creator": {"name": creator, "version": version},
                                     "entries": entries}});
            (har, file)
        })
}

/// The plans and sources import makes of `har` (before rustfmt: no process per case).
fn generate(har: &Json, file: &str) -> Vec<(plan::Plan, String)> {
    let bytes = serde_json::to_vec(har).unwrap();
    let parsed = model::parse("p.har", &bytes).unwrap();
    let creator = parsed
        .log
        .creator
        .as_ref()
        .map(|c| format!("{} {}", c.name, c.version))
        .unwrap_or_default();
    let (origins, skipped) = select::select(&parsed, &select::Filter::default());
    origins
        .iter()
        .map(|origin| {
            let plan = correlate::plan(origin, false);
            let provenance = codegen::Provenance {
                file: file.to_owned(),
                creator: creator.clone(),
                summary: skipped.to_string(),
            };
            let source = codegen::generate_unformatted(&plan, &provenance);
            (plan, source)
        })
        .collect()
}

/// Every identifier generated code may hold besides the plan's own names.
const WORDS: &[&str] = &[
    "use",
    "swarm_harness",
    "User",
    "har",
    "stress_test",
    "struct",
    "Captured",
    "String",
    "derive",
    "Default",
    "pub",
    "async",
    "fn",
    "user",
    "mut",
    "anyhow",
    "Result",
    "Ok",
    "let",
    "origin",
    "response",
    "loop",
    "if",
    "break",
    "polls",
    "ensure",
    "format",
    "Some",
    "None",
    "clone",
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "head",
    "request",
    "parse",
    "name",
    "header",
    "body",
    "send",
    "await",
    "error_for_status",
    "catch_response",
    "expect_status",
    "json",
    "cookie",
    "between",
    "encode",
    "json_escape",
    "secret",
    "sleep_ms",
    "state_mut",
    "on_start",
    "on_stop",
    "doc",
];

fn idents(stream: proc_macro2::TokenStream, out: &mut Vec<String>) {
    for token in stream {
        match token {
            proc_macro2::TokenTree::Group(group) => idents(group.stream(), out),
            proc_macro2::TokenTree::Ident(ident) => out.push(ident.to_string()),
            _ => {}
        }
    }
}

/// The file is exactly what import generates for `plan`: its doc lines, one `use`, the
/// `Captured` state when values are carried, the hook and scenario functions and, in all of
/// it, only the identifiers generated code uses.
fn check(plan: &plan::Plan, source: &str) -> Result<(), String> {
    let file = syn::parse_file(source).map_err(|e| format!("does not parse: {e}"))?;
    let header_lines = 6 + if plan.secrets.is_empty() {
        0
    } else {
        3 + plan.secrets.len()
    };
    if file.attrs.len() != header_lines || !file.attrs.iter().all(|a| a.path().is_ident("doc")) {
        return Err(format!(
            "{} file attributes, not {header_lines} doc lines",
            file.attrs.len()
        ));
    }
    let mut expected = vec![codegen::scenario_name(plan)];
    if plan.login > 0 {
        expected.push(format!("log_in_{}", plan.ident));
    }
    if plan.logout < plan.steps.len() {
        expected.push(format!("log_out_{}", plan.ident));
    }
    let mut functions = Vec::new();
    let (mut uses, mut structs) = (0, 0);
    for item in &file.items {
        match item {
            syn::Item::Use(_) => uses += 1,
            syn::Item::Struct(s) if s.ident == "Captured" => structs += 1,
            syn::Item::Fn(f) => {
                if f.block
                    .stmts
                    .iter()
                    .any(|s| matches!(s, syn::Stmt::Item(_)))
                {
                    return Err(format!("an item inside {}", f.sig.ident));
                }
                functions.push(f.sig.ident.to_string());
            }
            _ => return Err("an item import does not generate".to_owned()),
        }
    }
    functions.sort();
    expected.sort();
    let carried = usize::from(!plan.carried().is_empty());
    if functions != expected || uses != 1 || structs != carried {
        return Err(format!("items {functions:?}, {uses} use, {structs} struct"));
    }
    let mut names: Vec<String> = WORDS.iter().map(|w| (*w).to_owned()).collect();
    names.extend(expected);
    names.extend(plan.vars.iter().map(|v| v.name.clone()));
    names.extend(plan.secrets.iter().map(|s| s.local.clone()));
    let mut found = Vec::new();
    idents(source.parse().map_err(|e| format!("{e:?}"))?, &mut found);
    if let Some(stray) = found.iter().find(|i| !names.contains(i)) {
        return Err(format!("identifier {stray} is not generated code's"));
    }
    let bidi = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if source.chars().any(bidi) {
        return Err("a bidi control character in the file".to_owned());
    }
    Ok(())
}

/// A credential the recording holds, and where.
fn credential() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{10,16}".prop_map(|v| format!("Cr3d{v}"))
}

/// A login exchange that sends `secret` under every kind of credential name and place, and
/// one more request that echoes it elsewhere.
fn credentials_recording(secret: &str, form_text: bool, hostile_text: &str) -> Json {
    let body = if form_text {
        json!({"mimeType": "application/x-www-form-urlencoded",
               "text": format!("user=bob&password={}%21&note={hostile_text}", secret)})
    } else {
        json!({"mimeType": "application/json",
               "text": json!({"user": "bob", "password": format!("{secret}\"!"),
                              "nested": {"apiKey": format!("k{secret}")}}).to_string()})
    };
    let headers = json!([
        {"name": "Authorization", "value": format!("Basic {secret}")},
        {"name": "X-Api-Key", "value": format!("x{secret}")},
        {"name": "Cookie", "value": format!("sid=c{secret}; theme=dark")},
        {"name": "X-Note", "value": hostile_text},
    ]);
    json!({"log": {"entries": [
        {"request": {"method": "POST", "url": format!("http://bob:p{secret}@a.test/login?api_key=q{secret}&page=1"),
                     "headers": headers, "postData": body},
         "response": {"status": 200, "headers": [{"name": "Set-Cookie", "value": format!("session=s{secret}; Path=/")}],
                      "content": {"mimeType": "application/json",
                                  "text": json!({"token": format!("t{secret}"), "refresh": "x"}).to_string()}}},
        {"request": {"method": "GET", "url": format!("http://a.test/account?api_key=q{secret}"),
                     "headers": [{"name": "Referer", "value": format!("http://a.test/login?api_key=q{secret}")},
                                 {"name": "Authorization", "value": format!("Bearer t{secret}")}]},
         "response": {"status": 200, "headers": [], "content": {"mimeType": "text/plain", "text": "ok"}}},
    ]}})
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever strings a recording holds, in any field, the generated file is exactly the
    /// generated items: nothing recorded becomes code, an attribute or a doc line.
    #[test]
    fn any_recording_generates_exactly_the_generated_items((har, file) in recording()) {
        for (plan, source) in generate(&har, &file) {
            if let Err(problem) = check(&plan, &source) {
                prop_assert!(false, "{}:\n{}", problem, source);
            }
        }
    }

    /// No credential of a recording reaches its code, in any encoding: passwords of form and
    /// JSON bodies, `Authorization`, `Cookie`, API-key headers and query parameters, URL user
    /// info, and the echoes of a query in a `Referer`.
    #[test]
    fn no_recorded_credential_reaches_the_code(
        secret in credential(),
        form_text in any::<bool>(),
        hostile_text in hostile(),
    ) {
        let har = credentials_recording(&secret, form_text, &hostile_text);
        let generated = generate(&har, "p.har");
        prop_assert_eq!(generated.len(), 1);
        for (plan, source) in &generated {
            prop_assert!(!source.contains(&secret), "{} in:\n{}", secret, source);
            prop_assert!(source.contains("har::secret(\"HAR_PASSWORD\")?"), "{}", source);
            if let Err(problem) = check(plan, source) {
                prop_assert!(false, "{}:\n{}", problem, source);
            }
        }
    }
}

#[test]
fn the_comment_writer_escapes_what_could_end_a_comment() {
    let text = "a\nb\r\u{2028}c */ /* \u{202e}d\u{2066} `e` \"f\" \\g é";
    let written = codegen::comment(text);
    assert_eq!(
        written,
        "a\\u{a}b\\u{d}\\u{2028}c *\\/ /\\* \\u{202e}d\\u{2066} `e` \"f\" \\g é"
    );
}
