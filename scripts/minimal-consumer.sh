# A team's smallest stress crate (sourced): README's layout B, outside any workspace, with one
# scenario in tests/stress.rs (`harness = false`, `swarm_harness::main()`). Used by
# scripts/bench/build-cost.sh (what a user's build costs) and scripts/test.sh (a build with
# the fewest features refuses the settings of the parts it leaves out).
# shellcheck shell=bash

# write_minimal_consumer DIR SWARM_HARNESS_DIR [DEPENDENCY_KEYS]
# DEPENDENCY_KEYS follow `path = ...` in the dependency's table: `default-features = false`.
write_minimal_consumer() {
  local dir="$1" source="$2" keys="${3:-}"
  mkdir -p "$dir/tests" "$dir/src"
  cat >"$dir/Cargo.toml" <<TOML
[package]
name = "minimal-consumer"
version = "0.1.0"
edition = "2024"
publish = false

# Its own workspace: it resolves on its own, as a team's crate does.
[workspace]

[dev-dependencies]
swarm-harness = { path = "$source"${keys:+, $keys} }
anyhow = "1"

[[test]]
name = "stress"
path = "tests/stress.rs"
harness = false
test = false
TOML
  echo '//! The service under test (nothing here: layout B changes nothing in src/).' >"$dir/src/lib.rs"
  cat >"$dir/tests/stress.rs" <<'RUST'
//! The stress target: one scenario and the harness.
use swarm_harness::{User, stress_test};

#[stress_test(users = 10, wait = between(100ms, 500ms), thresholds = ["p95 < 300ms"])]
async fn home_page(user: &mut User) -> anyhow::Result<()> {
    user.get("/").send().await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    swarm_harness::main()
}
RUST
}
