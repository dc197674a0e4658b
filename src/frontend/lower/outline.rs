//! `--call=outline`: the build arguments, secrets and SSH sockets the target
//! uses, with descriptions and where each is declared, following BuildKit's
//! rules. An arg counts as used when FROM expands it or the stage declares it
//! (and, transitively, the global args its default refers to); the walk goes
//! through the target, its base stages and the stages it copies or mounts from.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::location::Location;
use super::plan::Plan;
use crate::frontend::Span;

/// What the outline needs to know about one declared ARG.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ArgInfo {
    pub name: String,
    pub value: String,
    pub description: Option<String>,
    pub span: Span,
    /// Global args the default referred to.
    pub deps: BTreeSet<String>,
}

/// A secret or SSH id a RUN mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountUse {
    pub id: String,
    pub required: bool,
    pub span: Span,
}

/// Per-stage outline facts gathered while lowering.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StageOutline {
    /// Arg names FROM expanded or the stage declared.
    pub used: BTreeSet<String>,
    /// ARGs the stage declared itself (not just re-declared globals).
    pub declared: Vec<ArgInfo>,
    pub secrets: Vec<MountUse>,
    pub ssh: Vec<MountUse>,
    /// The base stage.
    pub base: Option<usize>,
    /// Stages copied or mounted from.
    pub deps: BTreeSet<usize>,
}

/// Outline facts of the whole plan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutlineData {
    pub global: BTreeMap<String, ArgInfo>,
    pub stages: Vec<StageOutline>,
}

/// The `--call=outline` result, with BuildKit's JSON field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outline {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<OutlineArg>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<OutlineSecret>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ssh: Vec<OutlineSecret>,
}

/// One build argument of the outline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutlineArg {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub value: String,
    pub location: Location,
}

/// One secret or SSH id of the outline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutlineSecret {
    pub name: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    pub location: Location,
}

/// The outline of `plan`'s target.
pub fn outline(plan: &Plan) -> Outline {
    let data = &plan.outline;
    let mut args = Vec::new();
    let mut secrets = Vec::new();
    let mut ssh = Vec::new();
    let mut seen_args = BTreeSet::new();
    let mut seen_secrets = BTreeSet::new();
    let mut seen_ssh = BTreeSet::new();
    let mut visited = BTreeSet::new();
    let mut queue = vec![plan.target];
    // Depth-first: the target first, then its base, then what it uses.
    while let Some(index) = queue.pop() {
        if !visited.insert(index) {
            continue;
        }
        let Some(stage) = data.stages.get(index) else {
            continue;
        };
        let known = known_args(data, stage);
        for name in used_closure(&stage.used, &known) {
            if let Some(info) = known.get(name.as_str()) {
                if seen_args.insert(name.clone()) {
                    args.push((*info).clone());
                }
            }
        }
        for (uses, into, seen) in [
            (&stage.secrets, &mut secrets, &mut seen_secrets),
            (&stage.ssh, &mut ssh, &mut seen_ssh),
        ] {
            for used in uses {
                if seen.insert(used.id.clone()) {
                    into.push(used.clone());
                }
            }
        }
        queue.extend(stage.deps.iter().rev());
        queue.extend(stage.base);
    }
    args.sort_by_key(|info| info.span.start.line);
    secrets.sort_by_key(|used| used.span.start.line);
    ssh.sort_by_key(|used| used.span.start.line);
    let target = plan.target_stage();
    let to_secret = |used: MountUse| OutlineSecret {
        name: used.id,
        required: used.required,
        location: Location::from(used.span),
    };
    Outline {
        name: target.name.clone(),
        description: target.description.clone(),
        args: args
            .into_iter()
            .map(|info| OutlineArg {
                name: info.name,
                description: info.description,
                value: info.value,
                location: Location::from(info.span),
            })
            .collect(),
        secrets: secrets.into_iter().map(to_secret).collect(),
        ssh: ssh.into_iter().map(to_secret).collect(),
    }
}

/// The args a stage knows: the globals, overridden by its own declarations.
fn known_args<'a>(
    data: &'a OutlineData,
    stage: &'a StageOutline,
) -> BTreeMap<&'a str, &'a ArgInfo> {
    let mut known: BTreeMap<&str, &ArgInfo> = data
        .global
        .iter()
        .map(|(name, info)| (name.as_str(), info))
        .collect();
    for info in &stage.declared {
        known.insert(info.name.as_str(), info);
    }
    known
}

/// `used` plus every arg their defaults referred to, transitively.
fn used_closure(used: &BTreeSet<String>, known: &BTreeMap<&str, &ArgInfo>) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    let mut pending: Vec<String> = used.iter().cloned().collect();
    while let Some(name) = pending.pop() {
        if !all.insert(name.clone()) {
            continue;
        }
        if let Some(info) = known.get(name.as_str()) {
            pending.extend(info.deps.iter().cloned());
        }
    }
    all
}
