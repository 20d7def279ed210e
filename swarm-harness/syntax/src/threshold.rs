//! Thresholds as people write them: `p95 < 200ms`, `fail_ratio < 1%`,
//! `"GET /apps: p99 < 500ms"`, `"task create_app: p95 < 2s abort_on_fail"`. Errors point at the
//! bad token.
//!
//! Grammar: `[SCOPE:] METRIC[{SELECTOR}] OP VALUE [abort_on_fail]` where
//! - SCOPE is `KIND NAME` of a request entry (`GET /apps`, `transaction create app`),
//!   `task NAME`, or a custom metric: `counter NAME`, `gauge NAME`, `rate NAME`, `trend NAME`;
//!   without it the threshold applies to all requests together (Aggregated);
//! - METRIC is `pN` (any percentile, `p99.9`), `avg`, `med`, `min`, `max` (times),
//!   `fail_ratio` (`1%` or `0.01`), `rps`, `count` or `failures`; `checks` (the pass rate of
//!   every check, or of one: `checks{status is 201}`); for custom metrics also `value` (a
//!   gauge's last value) and `rate` (a rate's share of true samples);
//! - SELECTOR `{KEY:VALUE}` after a request metric without a scope selects the requests
//!   tagged so (`p95{kind:read} < 200ms`);
//! - OP is `<`, `<=`, `>` or `>=`;
//! - a time VALUE needs a unit: `us`, `ms`, `s` or `m` (a `trend` takes one when it records
//!   times, none when it records plain values); a ratio is `99%` or `0.99`.

use crate::quantile_of_percent;

/// A threshold that could not be parsed, with the column of the offending token.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid threshold {expression:?}: {message}\n  {expression}\n  {caret}")]
pub struct ThresholdError {
    pub expression: String,
    pub message: String,
    /// Spaces and `^` under the bad token.
    pub caret: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    Percentile(f64),
    Avg,
    Median,
    Min,
    Max,
    FailRatio,
    Rps,
    Count,
    Failures,
    /// The share of passes (`checks`) or of true samples (a `rate` metric), 0 to 1.
    Rate,
    /// A gauge's last value.
    Value,
}

/// The kinds of custom metric a scope names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomKind {
    /// A sum that only grows (`count`, `rps`).
    Counter,
    /// A value set from time to time (`value`, `min`, `max`).
    Gauge,
    /// A share of true samples (`rate`, `count`).
    Rate,
    /// A distribution of values or times (percentiles, `avg`, `min`, `max`, `count`).
    Trend,
}

impl CustomKind {
    /// The word a scope names it by.
    pub fn word(self) -> &'static str {
        match self {
            CustomKind::Counter => "counter",
            CustomKind::Gauge => "gauge",
            CustomKind::Rate => "rate",
            CustomKind::Trend => "trend",
        }
    }

    fn of(word: &str) -> Option<Self> {
        Some(match word {
            "counter" => CustomKind::Counter,
            "gauge" => CustomKind::Gauge,
            "rate" => CustomKind::Rate,
            "trend" => CustomKind::Trend,
            _ => return None,
        })
    }

    /// The metrics a threshold on this kind may name, as its error lists them.
    fn metrics(self) -> &'static str {
        match self {
            CustomKind::Counter => "count or rps",
            CustomKind::Gauge => "value, min or max",
            CustomKind::Rate => "rate or count",
            CustomKind::Trend => "pN, avg, med, min, max or count",
        }
    }

    fn allows(self, metric: Metric) -> bool {
        match self {
            CustomKind::Counter => matches!(metric, Metric::Count | Metric::Rps),
            CustomKind::Gauge => matches!(metric, Metric::Value | Metric::Min | Metric::Max),
            CustomKind::Rate => matches!(metric, Metric::Rate | Metric::Count),
            CustomKind::Trend => metric.is_time() || metric == Metric::Count,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

/// Which statistics a threshold looks at.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    Aggregated,
    Request {
        kind: String,
        name: String,
    },
    Task {
        name: String,
    },
    /// The requests carrying tag `key` with `value` (`p95{kind:read}`).
    Tag {
        key: String,
        value: String,
    },
    /// Every check together (`checks`), or the one named (`checks{status is 201}`).
    Checks {
        name: Option<String>,
    },
    /// A custom metric (`counter orders:`).
    Custom {
        kind: CustomKind,
        name: String,
    },
}

/// A parsed threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub expression: String,
    pub scope: Scope,
    pub metric: Metric,
    pub op: Op,
    /// In the metric's unit: µs for times, a ratio for `fail_ratio`, `rate` and `checks`, a
    /// count, a rate, or a custom metric's plain value.
    pub value: f64,
    /// Whether the value was given with a time unit (and is in µs): always for the time
    /// metrics of requests and tasks, and for a `trend` of times.
    pub timed: bool,
    pub abort_on_fail: bool,
}

impl Metric {
    /// Whether the metric is a response time (its value in µs).
    pub fn is_time(self) -> bool {
        matches!(
            self,
            Metric::Percentile(_) | Metric::Avg | Metric::Median | Metric::Min | Metric::Max
        )
    }
}

impl Op {
    /// Whether `observed OP limit` holds.
    pub fn holds(self, observed: f64, limit: f64) -> bool {
        match self {
            Op::Lt => observed < limit,
            Op::Le => observed <= limit,
            Op::Gt => observed > limit,
            Op::Ge => observed >= limit,
        }
    }
}

impl std::fmt::Display for Threshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.expression)
    }
}

impl Threshold {
    /// Parses one expression.
    ///
    /// # Errors
    /// When the expression is not of the documented form; the error points at the token.
    pub fn parse(expression: &str) -> Result<Self, ThresholdError> {
        parse::parse(expression)
    }

    /// Whether a breach seen mid-trial can no longer recover: counts and failures only grow,
    /// the maximum only rises and the minimum only falls.
    pub fn breach_is_final(&self) -> bool {
        matches!(
            (self.metric, self.op),
            (
                Metric::Count | Metric::Failures | Metric::Max,
                Op::Lt | Op::Le
            ) | (Metric::Min, Op::Gt | Op::Ge)
        )
    }
}

mod parse {
    use super::*;

    struct Cursor<'a> {
        expression: &'a str,
        position: usize,
    }

    impl<'a> Cursor<'a> {
        fn rest(&self) -> &'a str {
            &self.expression[self.position..]
        }

        fn skip_spaces(&mut self) {
            let rest = self.rest();
            self.position += rest.len() - rest.trim_start().len();
        }

        fn error(&self, at: usize, len: usize, message: impl Into<String>) -> ThresholdError {
            let width = self.expression[at.min(self.expression.len())..]
                .chars()
                .count()
                .min(len.max(1));
            ThresholdError {
                expression: self.expression.to_owned(),
                message: message.into(),
                caret: format!(
                    "{}{}",
                    " ".repeat(
                        self.expression[..at.min(self.expression.len())]
                            .chars()
                            .count()
                    ),
                    "^".repeat(width.max(1))
                ),
            }
        }

        /// The next run of characters matching `accept`, and where it started.
        fn take(&mut self, accept: impl Fn(char) -> bool) -> (usize, &'a str) {
            self.skip_spaces();
            let start = self.position;
            let len = self
                .rest()
                .find(|c| !accept(c))
                .unwrap_or(self.rest().len());
            self.position += len;
            (start, &self.expression[start..start + len])
        }
    }

    /// The byte offset of the colon that ends the scope: the last one outside braces, so a
    /// tag selector (`{kind:read}`) or a name's own braces (`/apps/{id}`) do not end it.
    fn scope_colon(expression: &str) -> Option<usize> {
        let mut depth = 0_usize;
        let mut colon = None;
        for (at, c) in expression.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                ':' if depth == 0 => colon = Some(at),
                _ => {}
            }
        }
        colon
    }

    pub fn parse(expression: &str) -> Result<Threshold, ThresholdError> {
        let (scope, body_start) = match scope_colon(expression) {
            Some(colon) => (scope_of(expression, &expression[..colon])?, colon + 1),
            None => (Scope::Aggregated, 0),
        };
        let mut cursor = Cursor {
            expression,
            position: body_start,
        };
        let (scope, metric) = metric_and_selector(&mut cursor, scope)?;
        let (at, symbol) = cursor.take(|c| matches!(c, '<' | '>' | '=' | '!'));
        let op = match symbol {
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            _ => {
                return Err(cursor.error(
                    at,
                    symbol.len(),
                    "expected a comparison: <, <=, > or >=",
                ));
            }
        };
        let (value, timed) = value(&mut cursor, &scope, metric)?;
        let (at, flag) = cursor.take(|c| !c.is_whitespace());
        let abort_on_fail = match flag {
            "" => false,
            "abort_on_fail" => true,
            other => {
                return Err(cursor.error(
                    at,
                    other.len(),
                    "unexpected text; only `abort_on_fail` may follow the value",
                ));
            }
        };
        let (at, extra) = cursor.take(|c| !c.is_whitespace());
        if !extra.is_empty() {
            return Err(cursor.error(at, extra.len(), "unexpected text after the threshold"));
        }
        Ok(Threshold {
            expression: expression.trim().to_owned(),
            scope,
            metric,
            op,
            value,
            timed,
            abort_on_fail,
        })
    }

    /// The metric word, its `{..}` selector if any, and the scope they make together.
    fn metric_and_selector(
        cursor: &mut Cursor<'_>,
        scope: Scope,
    ) -> Result<(Scope, Metric), ThresholdError> {
        let (at, word) = cursor.take(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        let unknown = |cursor: &Cursor<'_>| {
            cursor.error(at, word.len(), format!(
                "unknown metric `{word}`; expected pN (p95, p99.9), avg, med, min, max, fail_ratio, rps, count, failures or checks"
            ))
        };
        let selector = selector(cursor)?;
        if word == "checks" {
            if scope != Scope::Aggregated {
                return Err(cursor.error(
                    at,
                    word.len(),
                    "`checks` takes no scope; name one check as checks{NAME}",
                ));
            }
            let name = match selector {
                Some((at, text)) if text.trim().is_empty() => {
                    return Err(cursor.error(
                        at - 1,
                        text.len() + 2,
                        "`checks{}` names no check; write `checks` for every check together, \
                         or checks{NAME}",
                    ));
                }
                selector => selector.map(|(_, text)| text.trim().to_owned()),
            };
            return Ok((Scope::Checks { name }, Metric::Rate));
        }
        let metric = metric_of(word).ok_or_else(|| unknown(cursor))?;
        let scope = match (scope, selector) {
            (scope, None) => scope,
            (Scope::Aggregated, Some((at, text))) => {
                let (key, value) = text
                    .split_once(':')
                    .map(|(key, value)| (key.trim(), value.trim()))
                    .filter(|(key, value)| !key.is_empty() && !value.is_empty())
                    .ok_or_else(|| {
                        cursor.error(
                            at - 1,
                            text.len() + 2,
                            "a tag selector is {KEY:VALUE}, neither of them empty",
                        )
                    })?;
                Scope::Tag {
                    key: key.to_owned(),
                    value: value.to_owned(),
                }
            }
            (_, Some((at, text))) => {
                return Err(cursor.error(
                    at - 1,
                    text.len() + 2,
                    "a tag selector applies to all requests; it takes no scope",
                ));
            }
        };
        let allowed = match &scope {
            Scope::Custom { kind, .. } => kind
                .allows(metric)
                .then_some(())
                .ok_or_else(|| format!("a {} takes {}, not `{word}`", kind.word(), kind.metrics())),
            _ if matches!(metric, Metric::Rate | Metric::Value) => Err(format!(
                "`{word}` is a metric of custom rates and gauges (`rate NAME:`, `gauge NAME:`)"
            )),
            _ => Ok(()),
        };
        allowed.map_err(|message| cursor.error(at, word.len(), message))?;
        Ok((scope, metric))
    }

    /// A `{..}` right after the metric word: where its text starts, and the text.
    fn selector<'a>(cursor: &mut Cursor<'a>) -> Result<Option<(usize, &'a str)>, ThresholdError> {
        let rest = cursor.rest();
        if !rest.starts_with('{') {
            return Ok(None);
        }
        let mut depth = 0_usize;
        for (at, c) in rest.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        let start = cursor.position + 1;
                        cursor.position += at + 1;
                        return Ok(Some((start, &cursor.expression[start..start + at - 1])));
                    }
                }
                _ => {}
            }
        }
        Err(cursor.error(cursor.position, rest.len(), "a `{` without its `}`"))
    }

    /// The value and its unit: in the metric's unit, and whether a time unit was given.
    fn value(
        cursor: &mut Cursor<'_>,
        scope: &Scope,
        metric: Metric,
    ) -> Result<(f64, bool), ThresholdError> {
        let (at, digits) = cursor.take(|c| c.is_ascii_digit() || c == '.' || c == '-');
        let number = match digits.parse::<f64>() {
            Ok(number) if number.is_finite() => number,
            Ok(_) => return Err(cursor.error(at, digits.len(), "the number is too large")),
            Err(_) => return Err(cursor.error(at, digits.len(), "expected a number")),
        };
        let (unit_at, unit) = (cursor.position, {
            let rest = cursor.rest();
            let len = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
            cursor.position += len;
            &rest[..len]
        });
        let plain = match scope {
            Scope::Custom { kind, .. } => match kind {
                CustomKind::Trend => unit.is_empty(),
                CustomKind::Counter | CustomKind::Gauge | CustomKind::Rate => true,
            },
            _ => false,
        };
        value_of(metric, number, unit, plain).map_err(|message| {
            cursor.error(
                if unit.is_empty() { at } else { unit_at },
                unit.len().max(1),
                message,
            )
        })
    }

    fn scope_of(expression: &str, scope: &str) -> Result<Scope, ThresholdError> {
        let trimmed = scope.trim();
        let cursor = Cursor {
            expression,
            position: 0,
        };
        let at = scope.len() - scope.trim_start().len();
        let Some((kind, name)) = trimmed.split_once(char::is_whitespace) else {
            if trimmed == "task" || CustomKind::of(trimmed).is_some() {
                let message = format!("a scope names what it is about: `{trimmed} NAME:`");
                return Err(cursor.error(at, trimmed.len(), message));
            }
            return Err(cursor.error(
                at,
                trimmed.len(),
                "a scope is `KIND NAME:` (`GET /apps:`), `task NAME:` or a custom metric \
                 (`counter NAME:`, `gauge NAME:`, `rate NAME:`, `trend NAME:`)",
            ));
        };
        let name = name.trim().to_owned();
        Ok(match (kind, CustomKind::of(kind)) {
            ("task", _) => Scope::Task { name },
            (_, Some(kind)) => Scope::Custom { kind, name },
            (kind, None) => Scope::Request {
                kind: kind.to_owned(),
                name,
            },
        })
    }

    fn metric_of(word: &str) -> Option<Metric> {
        Some(match word {
            "avg" | "mean" => Metric::Avg,
            "med" | "median" => Metric::Median,
            "min" => Metric::Min,
            "max" => Metric::Max,
            "fail_ratio" => Metric::FailRatio,
            "rps" => Metric::Rps,
            "count" => Metric::Count,
            "failures" => Metric::Failures,
            "rate" => Metric::Rate,
            "value" => Metric::Value,
            _ => {
                let percent: f64 = word.strip_prefix('p')?.parse().ok()?;
                if !(percent > 0.0 && percent <= 100.0) {
                    return None;
                }
                Metric::Percentile(quantile_of_percent(percent))
            }
        })
    }

    /// The value in the metric's unit; `plain` for a custom metric's own values (a gauge, a
    /// counter, a trend of values), which take no unit.
    fn value_of(
        metric: Metric,
        number: f64,
        unit: &str,
        plain: bool,
    ) -> Result<(f64, bool), String> {
        if metric.is_time() && !plain {
            let scale = match unit {
                "us" | "µs" => 1.0,
                "ms" => 1e3,
                "s" => 1e6,
                "m" => 60e6,
                "" => return Err("a time needs a unit: us, ms, s or m (such as 200ms)".to_owned()),
                other => {
                    return Err(format!(
                        "unknown time unit `{other}`; expected us, ms, s or m"
                    ));
                }
            };
            let micros = number * scale;
            if !micros.is_finite() {
                return Err(format!(
                    "{number:e}{unit} is beyond any time a report holds"
                ));
            }
            return Ok((micros, true));
        }
        let ratio = matches!(metric, Metric::FailRatio | Metric::Rate);
        match (metric, unit) {
            (_, "%") if ratio && (0.0..=100.0).contains(&number) => Ok((number / 100.0, false)),
            (_, "") if ratio && (0.0..=1.0).contains(&number) => Ok((number, false)),
            _ if ratio => Err("a ratio is from 0 to 1, or a percentage such as 1%".to_owned()),
            (Metric::Rps, "" | "/s") => Ok((number, false)),
            (_, "") => Ok((number, false)),
            (_, other) => Err(format!("unexpected unit `{other}` for this metric")),
        }
    }
}

#[cfg(test)]
mod tests;
