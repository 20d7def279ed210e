//! A recording of one origin as steps to replay: requests whose URL, headers and body are
//! templates over captured variables and the live origin, the variables each response
//! yields, and which steps are the once-per-user login and logout. Code generation and
//! `swarm har replay` both read this one value.

/// Where a variable's value comes from in its step's live response.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// The JSON leaf at this RFC 6901 pointer.
    Json { pointer: String },
    /// The user's cookie of this name (set by this step's response or its redirects).
    Cookie { name: String },
    /// The text between two boundaries of a header (`Some(name)`) or of the body.
    Between {
        header: Option<String>,
        left: String,
        right: String,
    },
}

/// A value the server handed out and a later request sends back.
#[derive(Debug, Clone, PartialEq)]
pub struct Var {
    /// A Rust identifier, unique in the plan.
    pub name: String,
    /// The value in the recording: correlation only, never written out (it may be a token).
    pub recorded: String,
    /// The step whose response yields it.
    pub step: usize,
    pub source: Source,
}

/// A piece of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    /// A variable's live value; `encoded` when the recording had it form-encoded.
    Var {
        index: usize,
        encoded: bool,
    },
    /// The live target's origin where the recording had its own.
    Origin,
    /// A recorded credential (`plan.secrets[index]`), read from its environment variable.
    Secret {
        index: usize,
        encoding: Encoding,
    },
}

/// How a value is written where it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// As it is (a header, a multipart field).
    Raw,
    /// Form-encoded (a query or `x-www-form-urlencoded` value).
    Form,
    /// Inside a JSON string (quotes and backslashes escaped).
    Json,
}

impl Encoding {
    pub fn apply(self, value: &str) -> String {
        match self {
            Encoding::Raw => value.to_owned(),
            Encoding::Form => swarm_harness::har::encode(value),
            Encoding::Json => swarm_harness::har::json_escape(value),
        }
    }
}

/// A recorded credential: never written out; generated code reads `variable`, replay reads
/// it too and falls back to `recorded` in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Secret {
    /// `HAR_PASSWORD`, unique in the plan.
    pub variable: String,
    /// The Rust local holding it, unique among the plan's names (`har_password`).
    pub local: String,
    /// The recorded header, parameter, field or key name it was found under.
    pub name: String,
    /// The recorded value: replay only, in memory.
    pub recorded: String,
}

/// Text with variables.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Template(pub Vec<Part>);

impl Template {
    #[cfg(test)]
    pub fn text(text: impl Into<String>) -> Self {
        Template(vec![Part::Text(text.into())])
    }

    /// The text with each variable's value (`values[index]`), each secret's
    /// (`secrets[index]`) and the origin filled in.
    pub fn render(&self, values: &[String], secrets: &[String], origin: &str) -> String {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Var { index, encoded } => {
                    let value = values.get(*index).map_or("", String::as_str);
                    if *encoded {
                        out.push_str(&swarm_harness::har::encode(value));
                    } else {
                        out.push_str(value);
                    }
                }
                Part::Origin => out.push_str(origin),
                Part::Secret { index, encoding } => {
                    out.push_str(&encoding.apply(secrets.get(*index).map_or("", String::as_str)));
                }
            }
        }
        out
    }

    pub fn secrets(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().filter_map(|part| match part {
            Part::Secret { index, .. } => Some(*index),
            _ => None,
        })
    }

    pub fn vars(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().filter_map(|part| match part {
            Part::Var { index, .. } => Some(*index),
            _ => None,
        })
    }

    pub fn uses_origin(&self) -> bool {
        self.0.iter().any(|part| matches!(part, Part::Origin))
    }
}

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Text(Template),
    /// Not UTF-8: sent as recorded.
    Bytes(Vec<u8>),
}

/// One request of the recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Its index in `log.entries`.
    pub entry: usize,
    pub method: String,
    /// Path and query, relative to the target.
    pub target: Template,
    /// The reported name when the path carries ids (`/api/apps/{id}`).
    pub name: Option<String>,
    /// Lower-case names.
    pub headers: Vec<(String, Template)>,
    pub body: Option<Body>,
    /// The status the recording ended with (after redirects).
    pub status: u16,
    /// The pause before it in the recording, in milliseconds (used with `--think-time`).
    pub think_ms: u64,
    /// The recording sent it again and again until the response changed: a poll.
    pub poll: Option<Poll>,
}

/// A request repeated until a JSON leaf of its response has the value the recording ended
/// with (an app `PROVISIONING` until `ACTIVE`).
#[derive(Debug, Clone, PartialEq)]
pub struct Poll {
    pub pointer: String,
    pub until: String,
    /// The recorded pause between two polls.
    pub interval_ms: u64,
    /// How many times the recording sent it.
    pub recorded: usize,
    /// The most polls a replay sends before it gives up.
    pub limit: u32,
}

/// One origin's recording, ready to replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The recorded origin, `http://host:port`.
    pub origin: String,
    /// The origin as an identifier part: `127_0_0_1_8080`.
    pub ident: String,
    pub steps: Vec<Step>,
    pub vars: Vec<Var>,
    pub secrets: Vec<Secret>,
    /// `steps[..login]` log in, once per user before its first iteration (0: no login).
    pub login: usize,
    /// `steps[logout..]` log out, once per user after its last iteration (`steps.len()`: none).
    pub logout: usize,
    /// Recorded headers left out because no HTTP client could send them (a name that is not
    /// a token, a value with a line break).
    pub invalid_headers: usize,
}

/// The three parts a user runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Login,
    Task,
    Logout,
}

impl Plan {
    pub fn phase_of(&self, step: usize) -> Phase {
        if step < self.login {
            Phase::Login
        } else if step >= self.logout {
            Phase::Logout
        } else {
            Phase::Task
        }
    }

    pub fn steps_of(&self, phase: Phase) -> std::ops::Range<usize> {
        match phase {
            Phase::Login => 0..self.login,
            Phase::Task => self.login..self.logout,
            Phase::Logout => self.logout..self.steps.len(),
        }
    }

    /// The variables a step uses.
    pub fn uses(&self, step: usize) -> Vec<usize> {
        let step = &self.steps[step];
        let mut used: Vec<usize> = step.target.vars().collect();
        for (_, template) in &step.headers {
            used.extend(template.vars());
        }
        if let Some(Body::Text(template)) = &step.body {
            used.extend(template.vars());
        }
        used.sort_unstable();
        used.dedup();
        used
    }

    /// Every template of a step: its target, header values and text body.
    pub fn templates(&self, step: usize) -> impl Iterator<Item = &Template> + '_ {
        let step = &self.steps[step];
        let body = match &step.body {
            Some(Body::Text(template)) => Some(template),
            _ => None,
        };
        std::iter::once(&step.target)
            .chain(step.headers.iter().map(|(_, template)| template))
            .chain(body)
    }

    /// The secrets the steps of `phase` send.
    pub fn secrets_of(&self, phase: Phase) -> Vec<usize> {
        let mut used: Vec<usize> = self
            .steps_of(phase)
            .flat_map(|step| {
                self.templates(step)
                    .flat_map(Template::secrets)
                    .collect::<Vec<_>>()
            })
            .collect();
        used.sort_unstable();
        used.dedup();
        used
    }

    /// Variables used in another phase than the one that captures them: they live in the
    /// user's state between phases.
    pub fn carried(&self) -> Vec<usize> {
        let mut carried: Vec<usize> = (0..self.steps.len())
            .flat_map(|step| {
                let phase = self.phase_of(step);
                self.uses(step)
                    .into_iter()
                    .filter(move |&var| self.phase_of(self.vars[var].step) != phase)
            })
            .collect();
        carried.sort_unstable();
        carried.dedup();
        carried
    }
}
