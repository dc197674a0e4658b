//! `--call=targets|outline|check` through the binary: text tables as buildx
//! prints them, JSON with BuildKit's field names, `--metadata-file`, and the
//! exit status of a check whose rules are set to error.

use crate::common::{TestContext, testdata};

fn sample() -> String {
    testdata("sample").display().to_string()
}

#[test]
fn targets_lists_stages_with_descriptions_and_default() {
    let run = TestContext::new().run(&["build", "--call=targets", &sample()]);
    run.assert_success();
    insta::assert_snapshot!(run.stdout, @r"
    TARGET              DESCRIPTION
    site                assembles the static files from the build context.
    release (default)   is the image to ship: the site and its metadata.
    ");
}

#[test]
fn outline_lists_args_of_the_target_in_order() {
    let run = TestContext::new().run(&["build", "--call=outline", &sample()]);
    run.assert_success();
    insta::assert_snapshot!(run.stdout, @r"
    TARGET:      release
    DESCRIPTION: is the image to ship: the site and its metadata.

    BUILD ARG   VALUE           DESCRIPTION
    VERSION     1.0.0           is stamped into the image labels.
    GREETING    hello from xb   is written into the page title.
    ");
}

#[test]
fn outline_follows_target_and_build_args() {
    let run = TestContext::new().run(&[
        "build",
        "--call=outline,format=json",
        "--target=site",
        "--build-arg",
        "GREETING=hi",
        &sample(),
    ]);
    run.assert_success();
    let outline: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(outline["name"], "site");
    let args = outline["args"].as_array().expect("args");
    let names: Vec<&str> = args
        .iter()
        .map(|arg| arg["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["GREETING"], "a site build does not use VERSION");
    assert_eq!(args[0]["value"], "hi");
    assert_eq!(args[0]["location"]["ranges"][0]["start"]["line"], 10);
}

#[test]
fn outline_shows_secrets_and_ssh_in_order_used() {
    let context = TestContext::new();
    context.write(
        "Dockerfile",
        "FROM busybox\n\
         RUN --mount=type=secret,id=npmrc,required=true --mount=type=ssh true\n\
         RUN --mount=type=secret,id=token,env=TOKEN true\n",
    );
    let run = context.run(&["build", "--call=outline", "."]);
    run.assert_success();
    insta::assert_snapshot!(run.stdout, @r"
    TARGET:      stage-0

    SECRET   REQUIRED
    npmrc    true
    token

    SSH       REQUIRED
    default
    ");
}

const LINTED: &str = "\
FROM scratch as Builder
MAINTAINER someone@example.com
ENV PATH /usr/bin
WORKDIR app
CMD echo $UNDEFINED_THING
";

#[test]
fn check_reports_rules_with_buildkit_names() {
    let context = TestContext::new();
    context.write("Dockerfile", LINTED);
    let run = context.run(&["build", "--check", "."]);
    run.assert_success();
    for rule in [
        "StageNameCasing",
        "FromAsCasing",
        "MaintainerDeprecated",
        "LegacyKeyValueFormat",
        "WorkdirRelativePath",
        "JSONArgsRecommended",
    ] {
        assert!(
            run.stdout.contains(&format!("WARNING: {rule}")),
            "no {rule}:\n{}",
            run.stdout
        );
    }
    assert!(
        run.stdout
            .contains("https://docs.docker.com/go/dockerfile/rule/"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("1 | FROM scratch as Builder"),
        "{}",
        run.stdout
    );
}

#[test]
fn check_fails_when_rules_are_errors_and_honours_skip() {
    let context = TestContext::new();
    context.write("Dockerfile", &format!("# check=error=true\n{LINTED}"));
    let run = context.run(&["build", "--call=check", "."]);
    run.assert_exit(1);
    assert!(
        run.stdout.contains("WARNING: FromAsCasing"),
        "{}",
        run.stdout
    );

    let skipping = "# check=skip=StageNameCasing,FromAsCasing,MaintainerDeprecated,LegacyKeyValueFormat,WorkdirRelativePath,JSONArgsRecommended,UndefinedVar;error=true\n";
    context.write("Dockerfile", &format!("{skipping}{LINTED}"));
    let run = context.run(&["build", "--call=check", "."]);
    run.assert_success();
    assert!(
        run.stdout.contains("Check complete, no warnings found."),
        "{}",
        run.stdout
    );
}

#[test]
fn check_json_and_metadata_file_are_machine_readable() {
    let context = TestContext::new();
    context.write("Dockerfile", "FROM scratch as Base\n");
    let run = context.run(&[
        "build",
        "--call=check,format=json",
        "--metadata-file",
        "meta.json",
        ".",
    ]);
    run.assert_success();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    let rules: Vec<&str> = report["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w["ruleName"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["StageNameCasing", "FromAsCasing"]);
    let metadata: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(context.path().join("meta.json")).unwrap())
            .unwrap();
    assert_eq!(metadata["result"], report);
}

#[test]
fn check_rawjson_streams_warnings_on_stderr() {
    let context = TestContext::new();
    context.write("Dockerfile", "FROM scratch as Base\n");
    let run = context.run(&["build", "--check", "--progress=rawjson", "."]);
    run.assert_success();
    let lines: Vec<serde_json::Value> = run
        .stderr
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert_eq!(lines[0]["location"]["ranges"][0]["start"]["line"], 1);
}

#[test]
fn check_reports_a_broken_dockerfile_as_failure() {
    let context = TestContext::new();
    context.write("Dockerfile", "FROM scratch\nCOPY --nope a b\n");
    let run = context.run(&["build", "--check", "."]);
    run.assert_exit(1);
    assert!(
        context
            .filter(&run.stdout)
            .contains("Dockerfile:2:6: unknown flag: --nope"),
        "{}",
        run.stdout
    );
}

#[test]
fn call_warns_about_build_only_flags() {
    let run =
        TestContext::new().run(&["build", "--call=targets", "--push", "-t", "app", &sample()]);
    run.assert_success();
    assert!(
        run.stderr
            .contains("--tag, --push have no effect with --call=targets"),
        "{}",
        run.stderr
    );
}
