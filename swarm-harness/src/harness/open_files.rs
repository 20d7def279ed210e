//! Open files, before any load: every user keeps a connection (a file descriptor), so a run
//! of 10,000 users under the usual soft limit of 1,024 would otherwise start, then fail
//! request after request with "too many open files". The harness raises the soft limit to the
//! hard one and says so; when the users still cannot all have a socket, the run stops with one
//! error naming the limit and how to raise it (exit 2, no load).

use super::error::UsageError;
use crate::scenario::runs::Unit;
use crate::settings::{LoadProfile, Overrides};

/// Files a process needs besides its users' connections: the runtime, the report and log
/// files, the web UI's listener and its clients, an embedded target's listener.
pub(super) const RESERVE: u64 = 64;

/// The soft and hard limits on open files, when the platform has them (`None`: unlimited).
#[cfg(unix)]
fn limits() -> Option<(u64, u64)> {
    use rustix::process::{Resource, getrlimit};
    let limit = getrlimit(Resource::Nofile);
    Some((limit.current?, limit.maximum.unwrap_or(u64::MAX)))
}

#[cfg(not(unix))]
fn limits() -> Option<(u64, u64)> {
    None
}

/// Raises the soft limit to the hard one; the limits before and after, when it changed.
#[cfg(unix)]
fn raise() -> Option<(u64, u64)> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let soft = limit.current?;
    if limit.maximum.is_some_and(|hard| soft >= hard) {
        return None;
    }
    let raised = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    setrlimit(Resource::Nofile, raised).ok()?;
    Some((soft, limits()?.0))
}

#[cfg(not(unix))]
fn raise() -> Option<(u64, u64)> {
    None
}

/// The users a trial's profile keeps live at most: its users, or an open model's
/// `max_users`, or the largest target of its stages; `None` for a custom shape, whose users
/// are known only as it runs.
fn users_of(profile: &LoadProfile, shaped: bool) -> Option<u64> {
    if profile.arrival_rate.is_some() {
        return Some(u64::from(profile.max_users));
    }
    if let Some(stages) = &profile.stages {
        let most = stages.0.iter().map(|s| s.target).fold(0.0_f64, f64::max);
        return Some(most.ceil() as u64);
    }
    (!shaped).then_some(u64::from(profile.users))
}

/// The most users live at once in a unit: a trial's, or the sum of a run group's trials.
fn users_of_unit(unit: &Unit, overrides: &Overrides, host: Option<&str>) -> u64 {
    let one = |spec: &crate::scenario::trials::TrialSpec| {
        let whole = LoadProfile::resolve(&spec.load, overrides, host);
        let profile = match overrides.shard {
            Some(shard) => whole.slice(shard),
            None => whole,
        };
        users_of(&profile, spec.shape.is_some()).unwrap_or(0)
    };
    match unit {
        Unit::Alone(spec, _) => one(spec),
        Unit::Together { members, .. } => members
            .iter()
            .map(|(spec, _)| one(spec))
            .fold(0, u64::saturating_add),
    }
}

/// Raises the open-file limit when it can (saying so on stderr) and refuses a run whose
/// users cannot all have a connection under it; `units` are the ones libtest will run.
pub(super) fn check_open_files(
    units: &[&Unit],
    overrides: &Overrides,
    host: Option<&str>,
) -> Result<(), UsageError> {
    if let Some((before, after)) = raise() {
        eprintln!(
            "note: raised the open-file limit (ulimit -n) from {before} to {after}, its hard \
             limit: every user keeps a connection open"
        );
    }
    let Some((soft, hard)) = limits() else {
        return Ok(());
    };
    let most = units
        .iter()
        .map(|unit| (unit, users_of_unit(unit, overrides, host)))
        .max_by_key(|(_, users)| *users);
    let Some((unit, users)) = most else {
        return Ok(());
    };
    let needed = users.saturating_add(RESERVE);
    if needed <= soft {
        return Ok(());
    }
    Err(UsageError::OpenFiles {
        trial: unit.name().to_owned(),
        users,
        needed,
        soft,
        hard,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_keeps_its_users_its_max_users_or_its_largest_stage_live() {
        let overrides = Overrides::default();
        let mut profile = LoadProfile::resolve(&Default::default(), &overrides, None);
        profile.users = 7;
        assert_eq!(users_of(&profile, false), Some(7));
        assert_eq!(users_of(&profile, true), None);
        profile.stages = Some(crate::shape::Stages::parse("10s:5,10s:40.5,5s:0").unwrap());
        assert_eq!(users_of(&profile, false), Some(41));
        profile.arrival_rate = Some(100.0);
        profile.max_users = 30;
        assert_eq!(users_of(&profile, false), Some(30));
    }
}
