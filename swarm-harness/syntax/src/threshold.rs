//! Thresholds as people write them: `p95 < 200ms`, `fail_ratio < 1%`,
//! `"GET /apps: p99 < 500ms"`, `"task create_app: p95 < 2s abort_on_fail"`. Errors point at the
//! bad token.
//!
//! Grammar: `[SCOPE:] METRIC OP VALUE [abort_on_fail]` where
//! - SCOPE is `KIND NAME` of a request entry (`GET /apps`, `transaction create app`) or
//!   `task NAME`; without it the threshold applies to all requests together (Aggregated);
//! - METRIC is `pN` (any percentile, `p99.9`), `avg`, `med`, `min`, `max` (times),
//!   `fail_ratio` (`1%` or `0.01`), `rps`, `count` or `failures`;
//! - OP is `<`, `<=`, `>` or `>=`;
//! - a time VALUE needs a unit: `us`, `ms`, `s` or `m`.

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
    Request { kind: String, name: String },
    Task { name: String },
}

/// A parsed threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub expression: String,
    pub scope: Scope,
    pub metric: Metric,
    pub op: Op,
    /// In the metric's unit: µs for times, a ratio for `fail_ratio`, a count or a rate.
    pub value: f64,
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

    pub fn parse(expression: &str) -> Result<Threshold, ThresholdError> {
        let (scope, body_start) = match expression.rfind(':') {
            Some(colon) => (scope_of(expression, &expression[..colon])?, colon + 1),
            None => (Scope::Aggregated, 0),
        };
        let mut cursor = Cursor {
            expression,
            position: body_start,
        };
        let (at, word) = cursor.take(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        let metric = metric_of(word).ok_or_else(|| {
            cursor.error(at, word.len(), format!(
                "unknown metric `{word}`; expected pN (p95, p99.9), avg, med, min, max, fail_ratio, rps, count or failures"
            ))
        })?;
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
        let (at, number) = cursor.take(|c| c.is_ascii_digit() || c == '.');
        let number: f64 = number
            .parse()
            .map_err(|_| cursor.error(at, number.len().max(1), "expected a number"))?;
        let (unit_at, unit) = (cursor.position, {
            let rest = cursor.rest();
            let len = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
            cursor.position += len;
            &rest[..len]
        });
        let value = value_of(metric, number, unit).map_err(|message| {
            cursor.error(
                if unit.is_empty() { at } else { unit_at },
                unit.len().max(1),
                message,
            )
        })?;
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
            abort_on_fail,
        })
    }

    fn scope_of(expression: &str, scope: &str) -> Result<Scope, ThresholdError> {
        let trimmed = scope.trim();
        let cursor = Cursor {
            expression,
            position: 0,
        };
        let Some((kind, name)) = trimmed.split_once(char::is_whitespace) else {
            return Err(cursor.error(
                scope.len() - scope.trim_start().len(),
                trimmed.len(),
                "a scope is `KIND NAME:` (`GET /apps:`) or `task NAME:`",
            ));
        };
        let name = name.trim().to_owned();
        Ok(if kind == "task" {
            Scope::Task { name }
        } else {
            Scope::Request {
                kind: kind.to_owned(),
                name,
            }
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
            _ => {
                let percent: f64 = word.strip_prefix('p')?.parse().ok()?;
                if !(percent > 0.0 && percent <= 100.0) {
                    return None;
                }
                Metric::Percentile(quantile_of_percent(percent))
            }
        })
    }

    fn value_of(metric: Metric, number: f64, unit: &str) -> Result<f64, String> {
        if metric.is_time() {
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
            return Ok(number * scale);
        }
        match (metric, unit) {
            (Metric::FailRatio, "%") => Ok(number / 100.0),
            (Metric::FailRatio, "") if number <= 1.0 => Ok(number),
            (Metric::FailRatio, "") => {
                Err("a ratio is from 0 to 1, or a percentage such as 1%".to_owned())
            }
            (Metric::Rps, "" | "/s") => Ok(number),
            (_, "") => Ok(number),
            (_, other) => Err(format!("unexpected unit `{other}` for this metric")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let t = Threshold::parse("p95 < 200ms").unwrap();
        assert_eq!(
            (t.metric, t.op, t.value, t.scope.clone()),
            (
                Metric::Percentile(0.95),
                Op::Lt,
                200_000.0,
                Scope::Aggregated
            )
        );
        let t = Threshold::parse("p99.9 <= 1s").unwrap();
        assert_eq!(
            (t.metric, t.op, t.value),
            (Metric::Percentile(0.999), Op::Le, 1e6)
        );
        assert_eq!(Threshold::parse("fail_ratio < 1%").unwrap().value, 0.01);
        assert_eq!(Threshold::parse("rps > 100").unwrap().metric, Metric::Rps);
        assert_eq!(Threshold::parse("count >= 1000").unwrap().op, Op::Ge);
        let t = Threshold::parse("GET /apps/{id}: p99 < 500ms").unwrap();
        assert_eq!(
            t.scope,
            Scope::Request {
                kind: "GET".into(),
                name: "/apps/{id}".into()
            }
        );
        let t = Threshold::parse("task create_app[large]: p95 < 2s abort_on_fail").unwrap();
        assert_eq!(
            t.scope,
            Scope::Task {
                name: "create_app[large]".into()
            }
        );
        assert!(t.abort_on_fail);
    }

    #[test]
    fn errors_point_at_the_bad_token() {
        let error = Threshold::parse("p95 < 200xs").unwrap_err();
        assert!(error.message.contains("unknown time unit `xs`"), "{error}");
        assert_eq!(error.caret, "         ^^");
        let error = Threshold::parse("p95 << 200ms").unwrap_err();
        assert_eq!(error.caret, "    ^^");
        let error = Threshold::parse("latency < 2s").unwrap_err();
        assert!(error.message.contains("unknown metric `latency`"));
        assert_eq!(error.caret, "^^^^^^^");
        assert!(
            Threshold::parse("p95 < 200")
                .unwrap_err()
                .message
                .contains("needs a unit")
        );
        assert!(Threshold::parse("fail_ratio < 5").is_err());
        assert!(Threshold::parse("p95 < 1s now").is_err());
        assert!(Threshold::parse("apps: p95 < 1s").is_err());
    }
}
