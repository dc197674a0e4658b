//! COPY forms that select paths in ways beyond plain sources: `--parents`
//! with and without a `/./` pivot, checked in the exported filesystem; and
//! a rebuild after one context file changed, which links the unchanged
//! files from the earlier layer instead of writing them again.

use crate::common::TestContext;
use crate::common::image::oci_archive_filesystem;

/// Gives `path` an mtime old enough for the context scan to vouch for it.
fn settle(path: &std::path::Path) {
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    fs_err::File::options()
        .write(true)
        .open(path)
        .expect("open a context file")
        .set_modified(old)
        .expect("set its mtime");
}

#[test]
fn rebuild_after_one_edit_has_the_edit_and_every_untouched_file() {
    let context = TestContext::new();
    context.write("Dockerfile", "FROM scratch\nCOPY src /src\n");
    for (path, text) in [
        ("src/a.txt", "alpha"),
        ("src/b.txt", "bravo"),
        ("src/deep/c.txt", "charlie"),
    ] {
        settle(&context.write(path, text));
    }
    let store = context.path().join("store").display().to_string();
    let build = |out: &str| {
        context
            .run(&[
                "build",
                "--root",
                &store,
                "-o",
                &format!("type=oci,dest={out}"),
                ".",
            ])
            .assert_success();
        oci_archive_filesystem(&context.path().join(out))
    };
    let first = build("one.tar");
    settle(&context.write("src/b.txt", "bravo, edited"));
    let second = build("two.tar");

    assert_eq!(second["/src/b.txt"].data, b"bravo, edited");
    assert_eq!(first["/src/b.txt"].data, b"bravo");
    for path in ["/src/a.txt", "/src/deep/c.txt"] {
        // The same file, and a file of its own in the new layer (not a
        // hard link to a path that layer does not hold).
        assert_eq!(second[path], first[path], "{path}");
        assert_eq!(second[path].kind, 'f', "{path}");
    }
    assert_eq!(second["/src/a.txt"].data, b"alpha");
    assert_eq!(
        (second["/src/a.txt"].uid, second["/src/a.txt"].mtime),
        (0, 1_000_000_000)
    );

    // Editing back gives the first build's image again.
    settle(&context.write("src/b.txt", "bravo"));
    assert_eq!(build("three.tar"), first);
}

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
