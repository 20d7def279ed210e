//! A stress target that links no scenario: the harness must say how to link them, not pass.

fn main() -> std::process::ExitCode {
    swarm_harness::main()
}
