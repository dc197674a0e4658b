//! Typing tests: every instruction, its flags and the errors for getting
//! them wrong, each at its line and column.

use std::time::Duration;

use super::*;
use crate::frontend::parser;

fn type_text(text: &str) -> Result<Dockerfile, ParseError> {
    let source = Source::new("Dockerfile", text);
    let document = parser::parse(&source)?;
    type_dockerfile(&source, &document, &mut Linter::default())
}

/// The instructions of the first stage of `FROM scratch\n<lines>`.
fn typed(lines: &str) -> Vec<Instruction> {
    match type_text(&format!("FROM scratch\n{lines}\n")) {
        Ok(dockerfile) => dockerfile.stages[0]
            .commands
            .iter()
            .map(|command| command.instruction.clone())
            .collect(),
        Err(error) => panic!("{}", error.render()),
    }
}

fn one(line: &str) -> Instruction {
    typed(line).remove(0)
}

fn error(lines: &str) -> ParseError {
    type_text(&format!("FROM scratch\n{lines}\n")).expect_err("an error")
}

#[test]
fn keywords_are_case_insensitive() {
    let text = "from scratch\nrun true\ncmd [\"x\"]\nlabel a=b\nmaintainer me\nexpose 80\nenv A=1\nadd a /a\ncopy a /a\nentrypoint [\"x\"]\nvolume /v\nuser me\nworkdir /w\narg X\nonbuild run true\nstopsignal SIGTERM\nhealthcheck NONE\nshell [\"/bin/sh\", \"-c\"]\n";
    let dockerfile = type_text(text).unwrap();
    let keywords: Vec<Keyword> = dockerfile.stages[0]
        .commands
        .iter()
        .map(|command| command.keyword)
        .collect();
    assert_eq!(keywords.len(), 17);
    assert!(
        Keyword::ALL
            .iter()
            .all(|keyword| *keyword == Keyword::From || keywords.contains(keyword))
    );
}

#[test]
fn unknown_instruction_without_close_match_has_no_hint() {
    let error = error("FROOBLEWIDGET x");
    assert_eq!(error.message, "unknown instruction: FROOBLEWIDGET");
    assert_eq!(error.hint, None);
}

#[test]
fn run_flags() {
    let Instruction::Run(run) = one(
        "RUN --network=none --security=insecure --mount=type=cache,target=/c --mount=type=tmpfs,target=/t make",
    ) else {
        panic!("a RUN");
    };
    assert_eq!(run.network, Network::None);
    assert_eq!(run.security, Security::Insecure);
    assert_eq!(run.mounts.len(), 2);
    assert_eq!(run.mounts[1].nth, 1);
    assert!(run.devices.is_empty());
    let Instruction::Run(with_devices) =
        one("RUN --device=vendor.com/gpu=all,required --device=name=other true")
    else {
        panic!("a RUN");
    };
    assert_eq!(
        with_devices.devices[0],
        Device {
            name: "vendor.com/gpu=all".into(),
            required: true
        }
    );
    assert_eq!(with_devices.devices[1].name, "other");
    assert_eq!(
        error("RUN --device=a,bogus=1 true").message,
        "unexpected key 'bogus' in 'bogus=1'"
    );
    assert_eq!(run.command, CommandLine::Shell("make".to_owned()));
    let Instruction::Run(run) = one("RUN [\"echo\", \"hi\"]") else {
        panic!("a RUN");
    };
    assert_eq!(
        run.command,
        CommandLine::Exec(vec!["echo".into(), "hi".into()])
    );
}

#[test]
fn copy_and_add_flags() {
    let Instruction::Copy(copy) = one(
        "COPY --from=build --chown=1:1 --chmod=644 --link --parents --exclude=*.md --exclude=*.tmp a b /dst/",
    ) else {
        panic!("a COPY");
    };
    assert_eq!(copy.from.as_deref(), Some("build"));
    assert_eq!(copy.chown.as_deref(), Some("1:1"));
    assert_eq!(copy.chmod.as_deref(), Some("644"));
    assert!(copy.link && copy.parents);
    assert_eq!(copy.exclude, ["*.md", "*.tmp"]);
    assert_eq!(copy.files.sources, ["a", "b"]);
    assert_eq!(copy.files.dest, "/dst/");
    let Instruction::Add(add) = one(
        "ADD --checksum=sha256:abc --keep-git-dir=true --unpack=false --link=false https://x/y.tgz /y",
    ) else {
        panic!("an ADD");
    };
    assert_eq!(add.checksum.as_deref(), Some("sha256:abc"));
    assert_eq!(add.keep_git_dir, Some(true));
    assert_eq!(add.unpack, Some(false));
    assert!(!add.link);
    let Instruction::Add(add) = one("ADD a /a") else {
        panic!("an ADD");
    };
    assert_eq!((add.keep_git_dir, add.unpack), (None, None));
}

#[test]
fn flag_errors() {
    let cases = [
        (
            "COPY --link --link a /a",
            "duplicate flag specified: --link",
            13,
        ),
        ("COPY --from a /a", "missing a value on flag: --from", 6),
        ("COPY --link= a /a", "missing a value on flag: --link", 6),
        (
            "COPY --parents=yes a /a",
            "expecting boolean value for flag --parents, not: yes",
            6,
        ),
        ("CMD --x [\"a\"]", "unknown flag: --x", 5),
        ("ADD --parents a /a", "unknown flag: --parents", 5),
        (
            "RUN --network true",
            "missing a value on flag: --network",
            5,
        ),
    ];
    for (line, message, column) in cases {
        let error = error(line);
        assert_eq!(error.message, message, "{line}");
        assert_eq!(
            (error.span.start.line, error.span.start.column),
            (2, column),
            "{line}"
        );
    }
}

#[test]
fn argument_count_errors() {
    let cases = [
        (
            "COPY a",
            "COPY requires at least two arguments, but only one was provided. Destination could not be determined",
        ),
        (
            "ADD a",
            "ADD requires at least two arguments, but only one was provided. Destination could not be determined",
        ),
        ("WORKDIR", "WORKDIR requires exactly one argument"),
        ("USER", "USER requires exactly one argument"),
        ("STOPSIGNAL", "STOPSIGNAL requires exactly one argument"),
        ("EXPOSE", "EXPOSE requires at least one argument"),
        ("VOLUME", "VOLUME requires at least one argument"),
        ("HEALTHCHECK", "HEALTHCHECK requires at least one argument"),
        ("HEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments"),
        ("HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD"),
        (
            "HEALTHCHECK TEST true",
            "Unknown type \"TEST\" in HEALTHCHECK (try CMD)",
        ),
        ("SHELL []", "SHELL requires at least one argument"),
        (
            "COPY a <<EOF\nx\nEOF",
            "COPY cannot accept a heredoc as a destination",
        ),
        (
            "ONBUILD MAINTAINER me",
            "MAINTAINER isn't allowed as an ONBUILD trigger",
        ),
    ];
    for (line, message) in cases {
        assert_eq!(error(line).message, message, "{line}");
    }
    assert_eq!(
        type_text("FROM a b\n").unwrap_err().message,
        "FROM requires either one or three arguments"
    );
    assert_eq!(
        type_text("RUN true\n").unwrap_err().message,
        "no build stage in current context"
    );
}

#[test]
fn healthcheck_forms() {
    let Instruction::Healthcheck(Healthcheck::Check(check)) = one(
        "HEALTHCHECK --interval=30s --timeout=1m30s --start-period=5s --start-interval=500ms --retries=3 CMD curl -f http://localhost/",
    ) else {
        panic!("a check");
    };
    assert_eq!(check.interval, Duration::from_secs(30));
    assert_eq!(check.timeout, Duration::from_secs(90));
    assert_eq!(check.start_period, Duration::from_secs(5));
    assert_eq!(check.start_interval, Duration::from_millis(500));
    assert_eq!(check.retries, 3);
    assert_eq!(check.test(), ["CMD-SHELL", "curl -f http://localhost/"]);
    let Instruction::Healthcheck(Healthcheck::Check(check)) =
        one("HEALTHCHECK CMD [\"/bin/check\", \"-q\"]")
    else {
        panic!("a check");
    };
    assert_eq!(check.test(), ["CMD", "/bin/check", "-q"]);
    assert_eq!(
        one("healthcheck none"),
        Instruction::Healthcheck(Healthcheck::None)
    );
    let error = error("HEALTHCHECK --timeout=1ns CMD true");
    assert_eq!(
        error.message,
        "Interval \"timeout\" cannot be less than 1ms"
    );
    assert_eq!(error.span.start.column, 13);
}

#[test]
fn key_values_and_args() {
    let Instruction::Env(pairs) = one("ENV A=1 B=\"two words\"") else {
        panic!("an ENV");
    };
    assert_eq!(pairs.len(), 2);
    assert!(!pairs[0].legacy);
    let Instruction::Env(pairs) = one("ENV KEY value with spaces") else {
        panic!("an ENV");
    };
    assert!(pairs[0].legacy);
    assert_eq!(pairs[0].value, "value with spaces");
    let dockerfile =
        type_text("# VERSION the version to build\nARG VERSION=1.0 OTHER\nFROM scratch\n").unwrap();
    let (arg, _) = &dockerfile.meta_args[0];
    assert_eq!(arg.args[0].key, "VERSION");
    assert_eq!(arg.args[0].default.as_deref(), Some("1.0"));
    assert_eq!(
        arg.args[0].description.as_deref(),
        Some("the version to build")
    );
    assert_eq!(arg.args[1].default, None);
    assert_eq!(error("ARG =x").message, "ARG names can not be blank");
}

#[test]
fn command_lines() {
    assert_eq!(one("ENTRYPOINT []"), Instruction::Entrypoint(None));
    assert_eq!(
        one("CMD []"),
        Instruction::Cmd(CommandLine::Exec(Vec::new()))
    );
    assert_eq!(
        one("CMD echo \"$HOME\""),
        Instruction::Cmd(CommandLine::Shell("echo \"$HOME\"".to_owned()))
    );
    assert_eq!(
        one("SHELL [\"pwsh\", \"-c\"]"),
        Instruction::Shell(vec!["pwsh".into(), "-c".into()])
    );
    let Instruction::Volume(volume) = one("VOLUME [\"/a\", \"/b\"]") else {
        panic!("a VOLUME");
    };
    assert_eq!(volume.paths, ["/a", "/b"]);
    assert_eq!(
        one("EXPOSE 443 80"),
        Instruction::Expose(vec!["443".into(), "80".into()])
    );
}

#[test]
fn onbuild_keeps_trigger_text() {
    let Instruction::Onbuild(onbuild) = one("ONBUILD RUN <<EOF\necho hi\nEOF") else {
        panic!("an ONBUILD");
    };
    assert_eq!(onbuild.expression, "RUN <<EOF\necho hi\nEOF");
    assert_eq!(onbuild.trigger.keyword, "RUN");
}

#[test]
fn from_lints() {
    let source = Source::new("Dockerfile", "FROM alpine as Build\nMAINTAINER me\n");
    let document = parser::parse(&source).unwrap();
    let mut linter = Linter::default();
    let dockerfile = type_dockerfile(&source, &document, &mut linter).unwrap();
    assert_eq!(dockerfile.stages[0].from.name.as_deref(), Some("build"));
    let rules: Vec<&str> = linter.warnings().iter().map(|w| w.rule.name).collect();
    assert_eq!(
        rules,
        ["StageNameCasing", "FromAsCasing", "MaintainerDeprecated"]
    );
}
