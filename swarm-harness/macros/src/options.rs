//! Parsing of the `#[stress_test(..)]` options, each error pointing at the offending token.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, LitStr, Path, Token, bracketed, parenthesized};

/// Every option the attribute accepts, as written by the user.
#[derive(Default)]
pub struct Options {
    pub params: Option<Vec<LitStr>>,
    pub weight: Option<u32>,
    pub name: Option<LitStr>,
    pub group: Option<LitStr>,
    pub trial: Option<LitStr>,
    /// The run group: trials that name one run together, each with its own load model.
    pub run: Option<LitStr>,
    pub user_weight: Option<u32>,
    pub fixed_count: Option<u32>,
    pub ignore: bool,
    pub wait: Option<Wait>,
    pub users: Option<u32>,
    pub hatch_rate: Option<f64>,
    /// Microseconds.
    pub duration: Option<u64>,
    pub thresholds: Option<Vec<LitStr>>,
    pub on_start: Option<Path>,
    pub on_stop: Option<Path>,
    pub arrival_rate: Option<f64>,
    pub max_users: Option<u32>,
    pub stages: Option<LitStr>,
    pub shape: Option<Path>,
    /// `HttpClient`'s variant: `Lean` or `Reqwest`.
    pub http: Option<&'static str>,
}

/// Locust's four wait-time functions; durations in microseconds.
pub enum Wait {
    Between(u64, u64),
    Constant(u64),
    ConstantPacing(u64),
    ConstantThroughput(f64),
}

const KNOWN: &str = "params, weight, name, user, trial, run, user_weight, fixed_count, ignore, \
                     wait, users, hatch_rate, duration, thresholds, on_start, on_stop, \
                     arrival_rate, max_users, stages, shape, http";

impl Parse for Options {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut options = Options::default();
        let mut seen: Vec<String> = Vec::new();
        while !input.is_empty() {
            let key: Ident = input.call(syn::ext::IdentExt::parse_any)?;
            let key_name = key.to_string();
            if seen.contains(&key_name) {
                return Err(syn::Error::new(
                    key.span(),
                    format!("option `{key_name}` is given more than once"),
                ));
            }
            seen.push(key_name.clone());
            if key_name == "ignore" {
                options.ignore = true;
            } else {
                input.parse::<Token![=]>().map_err(|error| {
                    syn::Error::new(error.span(), format!("expected `{key_name} = ..`"))
                })?;
                options.parse_value(&key, input)?;
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        options.check_class_options()?;
        if let Some((lo, hi)) = match options.wait {
            Some(Wait::Between(lo, hi)) => Some((lo, hi)),
            _ => None,
        } && lo > hi
        {
            return Err(syn::Error::new(
                proc_macro2::Span::call_site(),
                "`wait = between(min, max)` needs min <= max",
            ));
        }
        Ok(options)
    }
}

impl Options {
    /// The options of a user class (Locust's class attributes) belong to a `user = ".."`
    /// group, and a class has a weight or a fixed count, not both: misuse is a compile error.
    fn check_class_options(&self) -> syn::Result<()> {
        let span = proc_macro2::Span::call_site();
        if self.group.is_none() {
            for (set, option) in [
                (self.trial.is_some(), "trial"),
                (self.user_weight.is_some(), "user_weight"),
                (self.fixed_count.is_some(), "fixed_count"),
            ] {
                if set {
                    return Err(syn::Error::new(
                        span,
                        format!(
                            "`{option}` is an option of a user class: give the scenario \
                             `user = \"..\"` (its class) too"
                        ),
                    ));
                }
            }
        }
        if self.user_weight.is_some() && self.fixed_count.is_some() {
            return Err(syn::Error::new(
                span,
                "a user class has `user_weight` or `fixed_count`, not both",
            ));
        }
        Ok(())
    }

    fn parse_value(&mut self, key: &Ident, input: ParseStream) -> syn::Result<()> {
        match key.to_string().as_str() {
            "params" => {
                let list = string_list(input)?;
                if list.is_empty() {
                    return Err(syn::Error::new(
                        key.span(),
                        "`params` needs at least one value",
                    ));
                }
                self.params = Some(list);
            }
            "thresholds" => {
                let list = string_list(input)?;
                for threshold in &list {
                    swarm_harness_syntax::threshold::Threshold::parse(&threshold.value())
                        .map_err(|error| syn::Error::new(threshold.span(), error.to_string()))?;
                }
                self.thresholds = Some(list);
            }
            "stages" => {
                let stages: LitStr = input.parse()?;
                swarm_harness_syntax::stages::Stages::parse(&stages.value())
                    .map_err(|error| syn::Error::new(stages.span(), error.to_string()))?;
                self.stages = Some(stages);
            }
            "arrival_rate" => self.arrival_rate = Some(rate(input, "arrival_rate")?),
            "max_users" => self.max_users = Some(user_count(input, "max_users")?),
            "shape" => self.shape = Some(input.parse()?),
            "http" => {
                let client: LitStr = input.parse()?;
                self.http = Some(match client.value().as_str() {
                    "lean" => "Lean",
                    "reqwest" => "Reqwest",
                    other => {
                        return Err(syn::Error::new(
                            client.span(),
                            format!(
                                "`http = {other:?}`: expected \"lean\" (the fast HTTP/1.1 \
                                 client) or \"reqwest\" (HTTP/2, proxies, compression)"
                            ),
                        ));
                    }
                });
            }
            "weight" => {
                let weight = positive_int(input, "weight")?;
                self.weight = Some(weight);
            }
            "users" => self.users = Some(user_count(input, "users")?),
            "hatch_rate" => self.hatch_rate = Some(rate(input, "hatch_rate")?),
            "name" => self.name = Some(non_empty_string(input, "name")?),
            "user" => self.group = Some(non_empty_string(input, "user")?),
            "trial" => self.trial = Some(non_empty_string(input, "trial")?),
            "run" => self.run = Some(non_empty_string(input, "run")?),
            "user_weight" => self.user_weight = Some(positive_int(input, "user_weight")?),
            "fixed_count" => self.fixed_count = Some(positive_int(input, "fixed_count")?),
            "duration" => self.duration = Some(duration(input)?),
            "wait" => self.wait = Some(wait(input)?),
            "on_start" => self.on_start = Some(input.parse()?),
            "on_stop" => self.on_stop = Some(input.parse()?),
            other => {
                return Err(syn::Error::new(
                    key.span(),
                    format!("unknown option `{other}`; expected one of: {KNOWN}"),
                ));
            }
        }
        Ok(())
    }
}

impl Wait {
    pub fn tokens(&self, krate: &TokenStream) -> TokenStream {
        let micros = |value: &u64| quote!(::core::time::Duration::from_micros(#value));
        match self {
            Wait::Between(lo, hi) => {
                let (lo, hi) = (micros(lo), micros(hi));
                quote!(#krate::WaitTime::Between(#lo, #hi))
            }
            Wait::Constant(value) => {
                let value = micros(value);
                quote!(#krate::WaitTime::Constant(#value))
            }
            Wait::ConstantPacing(value) => {
                let value = micros(value);
                quote!(#krate::WaitTime::ConstantPacing(#value))
            }
            Wait::ConstantThroughput(rate) => quote!(#krate::WaitTime::ConstantThroughput(#rate)),
        }
    }
}

fn string_list(input: ParseStream) -> syn::Result<Vec<LitStr>> {
    let content;
    bracketed!(content in input);
    let items = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
    Ok(items.into_iter().collect())
}

fn non_empty_string(input: ParseStream, key: &str) -> syn::Result<LitStr> {
    let value: LitStr = input.parse()?;
    if value.value().trim().is_empty() {
        return Err(syn::Error::new(
            value.span(),
            format!("`{key}` must not be empty"),
        ));
    }
    Ok(value)
}

fn positive_int(input: ParseStream, key: &str) -> syn::Result<u32> {
    let literal: syn::LitInt = input.parse().map_err(|error| {
        syn::Error::new(
            error.span(),
            format!("`{key}` takes a whole number, such as `{key} = 3`"),
        )
    })?;
    let value: u32 = literal.base10_parse()?;
    if value == 0 {
        return Err(syn::Error::new(
            literal.span(),
            format!("`{key}` must be at least 1"),
        ));
    }
    Ok(value)
}

/// A user count within the runtime's bounds.
fn user_count(input: ParseStream, key: &str) -> syn::Result<u32> {
    let span = input.span();
    let value = positive_int(input, key)?;
    if !swarm_harness_syntax::limits::users_in_range(u64::from(value)) {
        return Err(syn::Error::new(
            span,
            format!(
                "`{key}` must be at most {}",
                swarm_harness_syntax::limits::MAX_USERS
            ),
        ));
    }
    Ok(value)
}

/// A rate per second within the runtime's bounds.
fn rate(input: ParseStream, key: &str) -> syn::Result<f64> {
    let span = input.span();
    let value = positive_number(input, key)?;
    if !swarm_harness_syntax::limits::rate_in_range(value) {
        return Err(syn::Error::new(
            span,
            format!(
                "`{key}` must be between {} and {} per second",
                swarm_harness_syntax::limits::MIN_RATE,
                swarm_harness_syntax::limits::MAX_RATE
            ),
        ));
    }
    Ok(value)
}

fn positive_number(input: ParseStream, key: &str) -> syn::Result<f64> {
    let (value, span) = if input.peek(syn::LitFloat) {
        let literal: syn::LitFloat = input.parse()?;
        (literal.base10_parse::<f64>()?, literal.span())
    } else {
        let literal: syn::LitInt = input.parse().map_err(|error| {
            syn::Error::new(
                error.span(),
                format!("`{key}` takes a number, such as `{key} = 2.5`"),
            )
        })?;
        (literal.base10_parse::<f64>()?, literal.span())
    };
    if value <= 0.0 || !value.is_finite() {
        return Err(syn::Error::new(
            span,
            format!("`{key}` must be greater than 0"),
        ));
    }
    Ok(value)
}

/// A duration literal: `500ms`, `30s`, `1.5s`, `5m`, `1h`, or the same as a string; in
/// microseconds. Parsed by the same code as `PT_DURATION`, but a unit is required.
fn duration(input: ParseStream) -> syn::Result<u64> {
    let (text, span) = if input.peek(syn::LitInt) {
        let literal: syn::LitInt = input.parse()?;
        (
            format!("{}{}", literal.base10_digits(), literal.suffix()),
            literal.span(),
        )
    } else if input.peek(syn::LitFloat) {
        let literal: syn::LitFloat = input.parse()?;
        (
            format!("{}{}", literal.base10_digits(), literal.suffix()),
            literal.span(),
        )
    } else if input.peek(LitStr) {
        let literal: LitStr = input.parse()?;
        (literal.value(), literal.span())
    } else {
        return Err(input.error("expected a duration such as `500ms`, `30s`, `5m` or `1h`"));
    };
    let has_unit = text.trim().ends_with(|c: char| c.is_ascii_alphabetic());
    swarm_harness_syntax::duration::parse_duration(
        &text,
        swarm_harness_syntax::duration::DurationUnit::Seconds,
    )
    .filter(|_| has_unit)
    .map(|d| d.as_micros() as u64)
    .ok_or_else(|| {
        syn::Error::new(
            span,
            format!(
                "invalid duration `{text}`; write `500ms`, `30s`, `5m` or `1h` (at most a year)"
            ),
        )
    })
}

fn wait(input: ParseStream) -> syn::Result<Wait> {
    let function: Ident = input.parse().map_err(|error| {
        syn::Error::new(
            error.span(),
            "expected `between(min, max)`, `constant(t)`, `constant_pacing(t)` or \
             `constant_throughput(n)`",
        )
    })?;
    let content;
    parenthesized!(content in input);
    let wait = match function.to_string().as_str() {
        "between" => {
            let lo = duration(&content)?;
            content.parse::<Token![,]>()?;
            let hi = duration(&content)?;
            Wait::Between(lo, hi)
        }
        "constant" => Wait::Constant(duration(&content)?),
        "constant_pacing" => Wait::ConstantPacing(duration(&content)?),
        "constant_throughput" => Wait::ConstantThroughput(rate(&content, "constant_throughput")?),
        other => {
            return Err(syn::Error::new(
                function.span(),
                format!(
                    "unknown wait time `{other}`; expected `between`, `constant`, \
                     `constant_pacing` or `constant_throughput`"
                ),
            ));
        }
    };
    if !content.is_empty() {
        return Err(content.error("unexpected extra argument"));
    }
    Ok(wait)
}
