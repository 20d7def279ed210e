//! Nothing but a home for `tests/compile.rs`: the compile-fail cases of `#[stress_test]`,
//! built by trybuild against swarm-harness with the fewest features.
