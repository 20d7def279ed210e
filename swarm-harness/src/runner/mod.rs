//! The runner: turns a trial plan into a swarm of users for a duration, then stops them all.

mod closed;
mod crew;
mod group;
mod open;
mod plan;
mod run_env;
mod schedule;
mod shaped;
mod stall;
mod trial;
mod user_loop;

pub(crate) use plan::TrialPlan;
pub(crate) use run_env::RunEnv;
pub use schedule::{spawn_offsets, users_at};
pub(crate) use trial::{TrialEnv, TrialResult, idle, run_trial};
