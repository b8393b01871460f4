#[test]
fn declaration_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/fail/*/*.rs");
}

#[test]
fn declarations_that_compile() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/pass/*.rs");
}
