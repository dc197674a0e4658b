//! The lint rules `--call=check` knows, with BuildKit's names, descriptions,
//! documentation links and message wording, so that output matches what
//! `docker buildx build --call=check` prints. Where a rule fires is decided by
//! `instructions` and `lower`; this file only names and words them.

use std::fmt::Write as _;

/// One lint rule.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// `StageNameCasing`, as BuildKit names it.
    pub name: &'static str,
    /// The rule's one-line summary.
    pub description: &'static str,
    /// The documentation page, when the rule has one.
    pub url: Option<&'static str>,
    /// Experimental rules run only when `# check=experimental=...` asks.
    pub experimental: bool,
}

macro_rules! rule {
    ($ident:ident, $name:literal, $slug:literal, $description:literal) => {
        pub static $ident: Rule = Rule {
            name: $name,
            description: $description,
            url: Some(concat!(
                "https://docs.docker.com/go/dockerfile/rule/",
                $slug,
                "/"
            )),
            experimental: false,
        };
    };
}

rule!(
    STAGE_NAME_CASING,
    "StageNameCasing",
    "stage-name-casing",
    "Stage names should be lowercase"
);
rule!(
    FROM_AS_CASING,
    "FromAsCasing",
    "from-as-casing",
    "The 'as' keyword should match the case of the 'from' keyword"
);
rule!(
    NO_EMPTY_CONTINUATION,
    "NoEmptyContinuation",
    "no-empty-continuation",
    "Empty continuation lines will become errors in a future release"
);
rule!(
    CONSISTENT_INSTRUCTION_CASING,
    "ConsistentInstructionCasing",
    "consistent-instruction-casing",
    "All commands within the Dockerfile should use the same casing (either upper or lower)"
);
rule!(
    DUPLICATE_STAGE_NAME,
    "DuplicateStageName",
    "duplicate-stage-name",
    "Stage names should be unique"
);
rule!(
    RESERVED_STAGE_NAME,
    "ReservedStageName",
    "reserved-stage-name",
    "Reserved words should not be used as stage names"
);
rule!(
    JSON_ARGS_RECOMMENDED,
    "JSONArgsRecommended",
    "json-args-recommended",
    "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals"
);
rule!(
    MAINTAINER_DEPRECATED,
    "MaintainerDeprecated",
    "maintainer-deprecated",
    "The MAINTAINER instruction is deprecated, use a label instead to define an image author"
);
rule!(
    UNDEFINED_ARG_IN_FROM,
    "UndefinedArgInFrom",
    "undefined-arg-in-from",
    "FROM command must use declared ARGs"
);
rule!(
    WORKDIR_RELATIVE_PATH,
    "WorkdirRelativePath",
    "workdir-relative-path",
    "Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes"
);
rule!(
    UNDEFINED_VAR,
    "UndefinedVar",
    "undefined-var",
    "Variables should be defined before their use"
);
rule!(
    MULTIPLE_INSTRUCTIONS_DISALLOWED,
    "MultipleInstructionsDisallowed",
    "multiple-instructions-disallowed",
    "Multiple instructions of the same type should not be used in the same stage"
);
rule!(
    LEGACY_KEY_VALUE_FORMAT,
    "LegacyKeyValueFormat",
    "legacy-key-value-format",
    "Legacy key/value format with whitespace separator should not be used"
);
rule!(
    REDUNDANT_TARGET_PLATFORM,
    "RedundantTargetPlatform",
    "redundant-target-platform",
    "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior"
);
rule!(
    SECRETS_USED_IN_ARG_OR_ENV,
    "SecretsUsedInArgOrEnv",
    "secrets-used-in-arg-or-env",
    "Sensitive data should not be used in the ARG or ENV commands"
);
rule!(
    INVALID_DEFAULT_ARG_IN_FROM,
    "InvalidDefaultArgInFrom",
    "invalid-default-arg-in-from",
    "Default value for global ARG results in an empty or invalid base image name"
);
rule!(
    FROM_PLATFORM_FLAG_CONST_DISALLOWED,
    "FromPlatformFlagConstDisallowed",
    "from-platform-flag-const-disallowed",
    "FROM --platform flag should not use a constant value"
);
rule!(
    EXPOSE_PROTO_CASING,
    "ExposeProtoCasing",
    "expose-proto-casing",
    "Protocol in EXPOSE instruction should be lowercase"
);
rule!(
    EXPOSE_INVALID_FORMAT,
    "ExposeInvalidFormat",
    "expose-invalid-format",
    "IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a future release"
);

/// Every rule, for `skip=` validation and documentation.
pub static ALL: &[&Rule] = &[
    &STAGE_NAME_CASING,
    &FROM_AS_CASING,
    &NO_EMPTY_CONTINUATION,
    &CONSISTENT_INSTRUCTION_CASING,
    &DUPLICATE_STAGE_NAME,
    &RESERVED_STAGE_NAME,
    &JSON_ARGS_RECOMMENDED,
    &MAINTAINER_DEPRECATED,
    &UNDEFINED_ARG_IN_FROM,
    &WORKDIR_RELATIVE_PATH,
    &UNDEFINED_VAR,
    &MULTIPLE_INSTRUCTIONS_DISALLOWED,
    &LEGACY_KEY_VALUE_FORMAT,
    &REDUNDANT_TARGET_PLATFORM,
    &SECRETS_USED_IN_ARG_OR_ENV,
    &INVALID_DEFAULT_ARG_IN_FROM,
    &FROM_PLATFORM_FLAG_CONST_DISALLOWED,
    &EXPOSE_PROTO_CASING,
    &EXPOSE_INVALID_FORMAT,
];

/// `(did you mean X?)` appended when there is a suggestion.
fn with_suggestion(mut message: String, prefix: &str, suggestion: Option<&str>) -> String {
    if let Some(suggestion) = suggestion {
        let _ = write!(message, " (did you mean {prefix}{suggestion}?)");
    }
    message
}

pub fn stage_name_casing(name: &str) -> String {
    format!("Stage name '{name}' should be lowercase")
}

pub fn from_as_casing(from: &str, as_keyword: &str) -> String {
    format!("'{as_keyword}' and '{from}' keywords' casing do not match")
}

pub fn consistent_instruction_casing(command: &str, casing: &str) -> String {
    format!("Command '{command}' should match the case of the command majority ({casing})")
}

pub fn duplicate_stage_name(name: &str) -> String {
    format!("Duplicate stage name {name:?}, stage names should be unique")
}

pub fn reserved_stage_name(name: &str) -> String {
    format!("Stage name should not use the same name as reserved stage {name:?}")
}

pub fn json_args_recommended(instruction: &str) -> String {
    format!(
        "JSON arguments recommended for {instruction} to prevent unintended behavior related to OS signals"
    )
}

pub fn maintainer_deprecated() -> String {
    "Maintainer instruction is deprecated in favor of using label".to_owned()
}

pub fn no_empty_continuation() -> String {
    "Empty continuation line".to_owned()
}

pub fn undefined_arg_in_from(name: &str, suggestion: Option<&str>) -> String {
    with_suggestion(
        format!("FROM argument '{name}' is not declared"),
        "",
        suggestion,
    )
}

pub fn workdir_relative_path(workdir: &str) -> String {
    format!("Relative workdir {workdir:?} can have unexpected results if the base image changes")
}

pub fn undefined_var(name: &str, suggestion: Option<&str>) -> String {
    with_suggestion(
        format!("Usage of undefined variable '${name}'"),
        "$",
        suggestion,
    )
}

pub fn multiple_instructions_disallowed(instruction: &str) -> String {
    format!(
        "Multiple {instruction} instructions should not be used in the same stage because only the last one will be used"
    )
}

pub fn legacy_key_value_format(instruction: &str) -> String {
    format!(
        "\"{instruction} key=value\" should be used instead of legacy \"{instruction} key value\" format"
    )
}

pub fn redundant_target_platform(platform: &str) -> String {
    format!(
        "Setting platform to predefined {platform} in FROM is redundant as this is the default behavior"
    )
}

pub fn secrets_used_in_arg_or_env(instruction: &str, key: &str) -> String {
    format!("Do not use ARG or ENV instructions for sensitive data ({instruction} {key:?})")
}

pub fn invalid_default_arg_in_from(base: &str) -> String {
    format!("Default value for ARG {base} results in empty or invalid base image name")
}

pub fn from_platform_flag_const_disallowed(platform: &str) -> String {
    format!("FROM --platform flag should not use constant value {platform:?}")
}

pub fn expose_proto_casing(port: &str) -> String {
    format!("Defined protocol '{port}' in EXPOSE instruction should be lowercase")
}

pub fn expose_invalid_format(port: &str) -> String {
    format!(
        "EXPOSE instruction should not define an IP address or host-port mapping, found '{port}'"
    )
}
