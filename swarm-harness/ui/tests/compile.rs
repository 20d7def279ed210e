//! `#[stress_test]` misuse is a compile error at the offending token; odd but valid usage
//! compiles. The expected messages are in `tests/ui/*.stderr`.

#[test]
fn attribute_errors_point_at_the_offending_token() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/not_async.rs");
    cases.compile_fail("tests/ui/wrong_arguments.rs");
    cases.compile_fail("tests/ui/bad_options.rs");
    cases.compile_fail("tests/ui/no_result.rs");
    cases.compile_fail("tests/ui/out_of_bounds.rs");
    cases.compile_fail("tests/ui/not_a_client.rs");
    cases.pass("tests/ui/odd_but_valid.rs");
}
