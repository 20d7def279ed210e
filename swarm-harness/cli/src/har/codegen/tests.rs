//! The generated source under any recorded strings (proptest): it parses, and every body,
//! header and format string reaches its literal unchanged.

use super::*;
use crate::har::plan::{Step, Var};
use proptest::prelude::*;

fn plan(body: &str, var_value: &str, header: &str) -> Plan {
    Plan {
        origin: "http://127.0.0.1:1".into(),
        ident: "x".into(),
        steps: vec![
            Step {
                entry: 0,
                method: "POST".into(),
                target: Template(vec![Part::Text("/a".into())]),
                name: None,
                headers: vec![],
                body: Some(Body::Text(Template(vec![Part::Text(body.into())]))),
                status: 200,
                think_ms: 0,
                poll: None,
            },
            Step {
                entry: 1,
                method: "PUT".into(),
                target: Template(vec![
                    Part::Text("/b/".into()),
                    Part::Var {
                        index: 0,
                        encoded: true,
                    },
                ]),
                name: Some("/b/{id}".into()),
                headers: vec![("x-h".into(), Template(vec![Part::Text(header.into())]))],
                body: Some(Body::Text(Template(vec![
                    Part::Text(body.into()),
                    Part::Var {
                        index: 0,
                        encoded: false,
                    },
                    Part::Origin,
                ]))),
                status: 200,
                think_ms: 0,
                poll: None,
            },
        ],
        vars: vec![Var {
            name: "item_id".into(),
            recorded: var_value.into(),
            step: 0,
            source: Source::Between {
                header: None,
                left: body.into(),
                right: var_value.into(),
            },
        }],
        secrets: vec![],
        login: 0,
        logout: 2,
        invalid_headers: 0,
    }
}

/// Every string literal of a source file, as the compiler reads it.
fn literals(source: &str) -> Vec<String> {
    fn walk(stream: proc_macro2::TokenStream, out: &mut Vec<String>) {
        for token in stream {
            match token {
                proc_macro2::TokenTree::Group(group) => walk(group.stream(), out),
                proc_macro2::TokenTree::Literal(literal) => {
                    if let Ok(text) = syn::parse_str::<syn::LitStr>(&literal.to_string()) {
                        out.push(text.value());
                    }
                }
                _ => {}
            }
        }
    }
    let stream: proc_macro2::TokenStream = source.parse().expect("the file lexes");
    let mut out = Vec::new();
    walk(stream, &mut out);
    out
}

fn provenance(file: &str) -> Provenance {
    Provenance {
        file: file.into(),
        creator: "proptest".into(),
        summary: "x".into(),
    }
}

proptest! {
    #[test]
    fn any_recorded_string_reaches_the_code_unchanged(
        body in any::<String>(),
        value in any::<String>(),
        header in "[ -~]*",
        file in any::<String>(),
    ) {
        let source = render(&plan(&body, &value, &header), &provenance(&file));
        prop_assert!(syn::parse_file(&source).is_ok(), "{}", source);
        let literals = literals(&source);
        prop_assert!(literals.contains(&body), "body {:?} not in {:?}", body, literals);
        prop_assert!(literals.contains(&header), "header {:?} not in {:?}", header, literals);
        let format = format!("{}{{item_id}}{{origin}}", literal::format_text(&body));
        prop_assert!(literals.contains(&format), "format string {:?} not in {:?}", format, literals);
    }
}
