//! The stress target: every `#[stress_test]` scenario of platform-tests as a swarm.
//! `PT_NUM_CLIENTS=20 PT_DURATION=30s cargo test -p platform-tests --test stress`

use platform_tests as _; // links the scenarios registered in the library

fn main() -> std::process::ExitCode {
    platform_tests::stress_main()
}
