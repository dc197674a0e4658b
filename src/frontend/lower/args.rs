//! The global scope FROM lines see: the predefined platform args
//! (`TARGETPLATFORM`, `BUILDARCH`, ..., `TARGETSTAGE`), then the global ARGs
//! before the first FROM with their defaults or `--build-arg` values. Also the
//! proxy build-args every RUN gets without declaring them, and the list of
//! build-args nothing declared.

use std::collections::{BTreeMap, BTreeSet};

use super::outline::ArgInfo;
use super::scope::Scope;
use crate::frontend::instructions::Arg;
use crate::frontend::instructions::Command;
use crate::frontend::shell::Lexer;
use crate::frontend::{ParseError, Source};
use crate::graph::Platform;

/// Proxy settings RUN sees without an ARG (upper or lower case).
pub(super) const PROXY_ARGS: [&str; 5] = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "FTP_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
];

/// Build args BuildKit or buildx read themselves; never reported unused.
const BUILTIN_ARGS: [&str; 6] = [
    "BUILDKIT_DOCKERFILE_CHECK",
    "BUILDKIT_INLINE_CACHE",
    "BUILDKIT_MULTI_PLATFORM",
    "BUILDKIT_SBOM_SCAN_CONTEXT",
    "BUILDKIT_SBOM_SCAN_STAGE",
    "SOURCE_DATE_EPOCH",
];

/// Args that never enter a stage's environment.
pub(super) const NON_ENV_ARGS: [&str; 2] =
    ["BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"];

/// The predefined names, in BuildKit's order.
pub(super) fn predefined_args(
    build: &Platform,
    target: &Platform,
    target_stage: Option<&str>,
    build_args: &BTreeMap<String, String>,
) -> Scope {
    let variant = |platform: &Platform| platform.variant.clone().unwrap_or_default();
    let values = [
        ("BUILDPLATFORM", build.to_string()),
        ("BUILDOS", build.os.clone()),
        ("BUILDOSVERSION", String::new()),
        ("BUILDARCH", build.architecture.clone()),
        ("BUILDVARIANT", variant(build)),
        ("TARGETPLATFORM", target.to_string()),
        ("TARGETOS", target.os.clone()),
        ("TARGETOSVERSION", String::new()),
        ("TARGETARCH", target.architecture.clone()),
        ("TARGETVARIANT", variant(target)),
        ("TARGETSTAGE", target_stage.unwrap_or("default").to_owned()),
    ];
    let mut scope = Scope::new();
    for (name, value) in values {
        let value = build_args.get(name).cloned().unwrap_or(value);
        scope.set(name, &value);
    }
    scope
}

/// Whether `name` is predefined (platform args and TARGETSTAGE).
pub(super) fn is_predefined(name: &str) -> bool {
    matches!(
        name,
        "BUILDPLATFORM"
            | "BUILDOS"
            | "BUILDOSVERSION"
            | "BUILDARCH"
            | "BUILDVARIANT"
            | "TARGETPLATFORM"
            | "TARGETOS"
            | "TARGETOSVERSION"
            | "TARGETARCH"
            | "TARGETVARIANT"
            | "TARGETSTAGE"
    )
}

pub(super) fn is_proxy(name: &str) -> bool {
    PROXY_ARGS
        .iter()
        .any(|proxy| proxy.eq_ignore_ascii_case(name))
}

/// The proxy build-args, sorted by name.
pub(super) fn proxy_args(build_args: &BTreeMap<String, String>) -> Vec<(String, String)> {
    build_args
        .iter()
        .filter(|(name, _)| is_proxy(name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// Adds the global ARGs to `scope` in order, each taking its `--build-arg`
/// value, else its default expanded in the scope so far. Returns what the
/// outline reports about each (the last declaration of a name wins).
pub(super) fn declare_global_args(
    source: &Source,
    lexer: Lexer,
    scope: &mut Scope,
    meta_args: &[(Arg, Command)],
    build_args: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, ArgInfo>, ParseError> {
    let mut infos: BTreeMap<String, ArgInfo> = BTreeMap::new();
    for (arg, command) in meta_args {
        for def in &arg.args {
            let mut deps = BTreeSet::new();
            let value = if let Some(value) = build_args.get(&def.key) {
                Some(value.clone())
            } else if let Some(default) = &def.default {
                let expanded = lexer
                    .expand_word(default, scope)
                    .map_err(|error| ParseError::new(source, command.span, error.message))?;
                deps = expanded.matched;
                if deps.remove(&def.key) {
                    if let Some(previous) = infos.get(&def.key) {
                        deps.extend(previous.deps.iter().cloned());
                    }
                }
                Some(expanded.value)
            } else {
                None
            };
            if let Some(value) = &value {
                scope.set(&def.key, value);
            }
            infos.insert(
                def.key.clone(),
                ArgInfo {
                    name: def.key.clone(),
                    value: value.unwrap_or_default(),
                    description: def.description.clone(),
                    span: command.span,
                    deps,
                },
            );
        }
    }
    Ok(infos)
}

/// Build-arg names no ARG in `declared` takes, except the predefined,
/// proxy and builtin ones.
pub(super) fn unused_build_args(
    build_args: &BTreeMap<String, String>,
    declared: &BTreeSet<String>,
) -> Vec<String> {
    build_args
        .keys()
        .filter(|name| {
            !declared.contains(*name)
                && !is_predefined(name)
                && !is_proxy(name)
                && !BUILTIN_ARGS.contains(&name.as_str())
        })
        .cloned()
        .collect()
}
