//! The runner: turns a trial plan into a swarm of users for a duration, then stops them all.

mod closed;
mod crew;
mod open;
mod plan;
mod schedule;
mod shaped;
mod stall;
mod trial;
mod user_loop;

pub use plan::{TaskSpec, TrialPlan};
pub use schedule::{spawn_offsets, users_at};
pub use stall::{DEFAULT_STALL_TIMEOUT, Stall};
pub use trial::{Outcome, TrialEnv, TrialResult, idle, run_trial};
pub(crate) use user_loop::panic_message;
