//! COPY forms that select paths in ways beyond plain sources: `--parents`
//! with and without a `/./` pivot, checked in the exported filesystem.

use crate::common::TestContext;

#[test]
fn copy_parents_keeps_paths_below_the_pivot() {
    let context = TestContext::new();
    context.write(
        "Dockerfile",
        "FROM scratch\nCOPY --parents ./app/./pkg/*/main.txt /pivot/\nCOPY --parents app/pkg/one/main.txt /whole/\n",
    );
    context.write("app/pkg/one/main.txt", "1");
    context.write("app/pkg/two/main.txt", "2");
    context.write("app/pkg/two/other.txt", "x");
    let store = context.path().join("store").display().to_string();
    context
        .run(&["build", "--root", &store, "-o", "type=local,dest=out", "."])
        .assert_success();
    let out = context.path().join("out");
    assert_eq!(
        fs_err::read_to_string(out.join("pivot/pkg/one/main.txt")).unwrap(),
        "1"
    );
    assert_eq!(
        fs_err::read_to_string(out.join("pivot/pkg/two/main.txt")).unwrap(),
        "2"
    );
    assert!(!out.join("pivot/pkg/two/other.txt").exists());
    assert!(!out.join("pivot/app").exists());
    assert_eq!(
        fs_err::read_to_string(out.join("whole/app/pkg/one/main.txt")).unwrap(),
        "1"
    );
}
