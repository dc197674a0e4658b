//! Lowered plan → build graph (BuildKit's `dockerfile2llb`). Each needed
//! stage becomes a chain of vertices: its base (scratch, an image source or
//! another stage's last vertex), then one `File` vertex per COPY, ADD or
//! WORKDIR and one `Exec` vertex per RUN. Metadata instructions make no
//! vertex: the image config travels beside the graph in [`StageBuild`],
//! and history is written from the plan's steps at export.

mod copy;
mod run;

use std::collections::BTreeMap;

use crate::frontend::lower::{Base, FileSource, ImageConfig, Plan, Stage, StepKind};
use crate::graph::{
    FileAction, FileOp, Graph, Op, Origin, Owner, Platform, SourceOp, Vertex, VertexId,
};

/// What the solver builds and what the exporter needs beside it.
#[derive(Debug, Clone)]
pub struct Build {
    pub graph: Graph,
    /// One entry per stage of the plan; `None` for stages not needed.
    pub stages: Vec<Option<StageBuild>>,
    /// The stage to export.
    pub target: usize,
}

/// One stage's result: its last vertex and the config beside it.
#[derive(Debug, Clone)]
pub struct StageBuild {
    pub vertex: VertexId,
    /// The image the stage starts from, when it is an image (its config is
    /// the base the stage's config applies to).
    pub base_image: Option<String>,
    /// The stage this one starts from, when it is a stage.
    pub base_stage: Option<usize>,
    /// The image source vertex at the bottom of this stage's chain (through
    /// base stages), whose config the final config starts from.
    pub base_image_vertex: Option<VertexId>,
    pub platform: Platform,
    pub config: ImageConfig,
    /// The stage's index in the plan (its steps give the history).
    pub stage: usize,
}

impl Build {
    pub fn target_stage(&self) -> &StageBuild {
        self.stages[self.target]
            .as_ref()
            .expect("the target stage is always needed")
    }
}

/// What a `--build-context` name stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedContext {
    /// `name=DIR`: a local directory, as the source named `name`.
    Directory,
    /// `name=docker-image://REF`: this image instead.
    Image(String),
    /// `name=oci-layout://PATH[:TAG|@DIGEST]`.
    OciLayout {
        path: String,
        tag: Option<String>,
        digest: Option<crate::graph::Digest>,
    },
}

/// The vertex a named context gives, if `name` (as written, or normalized)
/// is one.
fn named_vertex(
    graph: &mut Graph,
    named: &BTreeMap<String, NamedContext>,
    names: &[&str],
    platform: &Platform,
) -> Option<VertexId> {
    let (name, context) = names.iter().find_map(|name| named.get_key_value(*name))?;
    Some(match context {
        NamedContext::Directory => graph.add(Vertex {
            op: Op::Source(SourceOp::Local { name: name.clone() }),
            inputs: Vec::new(),
            origin: Origin {
                name: format!("[context {name}] load from client"),
                lines: None,
            },
        }),
        NamedContext::Image(reference) => image_vertex(graph, reference, platform),
        NamedContext::OciLayout { path, tag, digest } => graph.add(Vertex {
            op: Op::Source(SourceOp::OciLayout {
                path: path.clone(),
                tag: tag.clone(),
                digest: *digest,
                platform: platform.clone(),
            }),
            inputs: Vec::new(),
            origin: Origin {
                name: format!("[context {name}] load metadata for oci-layout://{path}"),
                lines: None,
            },
        }),
    })
}

/// Converts `plan` into a graph for `target_platform`.
pub fn convert(plan: &Plan, target_platform: &Platform) -> Build {
    convert_with(plan, target_platform, &BTreeMap::new())
}

/// [`convert`] with `--build-context` names replacing image references.
pub fn convert_with(
    plan: &Plan,
    target_platform: &Platform,
    named: &BTreeMap<String, NamedContext>,
) -> Build {
    let mut graph = Graph::new();
    let mut stages: Vec<Option<StageBuild>> = vec![None; plan.stages.len()];
    // `needed` is ascending and a stage only depends on earlier ones.
    for &index in &plan.needed {
        let stage = &plan.stages[index];
        let platform = stage
            .platform
            .clone()
            .unwrap_or_else(|| target_platform.clone());
        let built = convert_stage(&mut graph, &stages, stage, &platform, plan, named);
        stages[index] = Some(built);
    }
    Build {
        graph,
        stages,
        target: plan.target,
    }
}

/// The vertex of an image source; the graph makes one per (reference,
/// platform), however often it is named.
pub(crate) fn image_vertex(graph: &mut Graph, reference: &str, platform: &Platform) -> VertexId {
    graph.add(Vertex {
        op: Op::Source(SourceOp::Image {
            reference: reference.to_owned(),
            platform: platform.clone(),
        }),
        inputs: Vec::new(),
        origin: Origin {
            name: format!("[internal] load metadata for {reference}"),
            lines: None,
        },
    })
}

/// The vertex whose files a `--from` (COPY, or a RUN mount) reads: the
/// build context when there is none.
pub(super) fn file_source_vertex(
    graph: &mut Graph,
    stages: &[Option<StageBuild>],
    from: Option<&FileSource>,
    platform: &Platform,
    named: &BTreeMap<String, NamedContext>,
) -> VertexId {
    match from {
        None => graph.add(Vertex {
            op: Op::Source(SourceOp::Local {
                name: "context".to_owned(),
            }),
            inputs: Vec::new(),
            origin: Origin {
                name: "[internal] load build context".to_owned(),
                lines: None,
            },
        }),
        Some(FileSource::Stage(index)) => {
            stages[*index]
                .as_ref()
                .expect("a stage read from is needed before its users")
                .vertex
        }
        Some(FileSource::Image(reference)) => {
            let names = [reference.written.as_str(), reference.normalized.as_str()];
            named_vertex(graph, named, &names, platform)
                .unwrap_or_else(|| image_vertex(graph, &reference.normalized, platform))
        }
        Some(FileSource::Scratch) => scratch(graph),
    }
}

fn scratch(graph: &mut Graph) -> VertexId {
    graph.add(Vertex {
        op: Op::Source(SourceOp::Scratch),
        inputs: Vec::new(),
        origin: Origin {
            name: "scratch".to_owned(),
            lines: None,
        },
    })
}

fn convert_stage(
    graph: &mut Graph,
    stages: &[Option<StageBuild>],
    stage: &Stage,
    platform: &Platform,
    plan: &Plan,
    named: &BTreeMap<String, NamedContext>,
) -> StageBuild {
    let (mut current, base_image, base_stage, base_image_vertex) = match &stage.base {
        Base::Scratch => (scratch(graph), None, None, None),
        Base::Image(reference) => {
            let names = [reference.written.as_str(), reference.normalized.as_str()];
            let vertex = named_vertex(graph, named, &names, platform)
                .unwrap_or_else(|| image_vertex(graph, &reference.normalized, platform));
            (
                vertex,
                Some(reference.normalized.clone()),
                None,
                Some(vertex),
            )
        }
        Base::Stage(parent) => {
            let parent_build = stages[*parent]
                .as_ref()
                .expect("a base stage is needed before the stages built on it");
            (
                parent_build.vertex,
                None,
                Some(*parent),
                parent_build.base_image_vertex,
            )
        }
    };
    let total = stage.steps.len() + 1;
    let stage_name = stage.display_name();
    for (position, step) in stage.steps.iter().enumerate() {
        let origin = Origin {
            name: format!("[{stage_name} {}/{total}] {}", position + 2, step.original),
            lines: Some((step.span.start.line, step.span.end.line)),
        };
        let next = match &step.kind {
            StepKind::Copy(copy) | StepKind::Add(copy) => {
                let is_add = matches!(step.kind, StepKind::Add(_));
                Some(copy::convert_copy(
                    graph, stages, current, copy, is_add, platform, origin, named,
                ))
            }
            StepKind::Workdir(path) => Some(graph.add(Vertex {
                op: Op::File(FileOp {
                    actions: vec![FileAction::Mkdir {
                        path: path.clone(),
                        mode: 0o755,
                        owner: None,
                        parents: true,
                    }],
                }),
                inputs: vec![current],
                origin,
            })),
            StepKind::Run(run) => Some(run::convert_run(
                graph, stages, current, plan, run, platform, origin, named,
            )),
            _ => None,
        };
        if let Some(next) = next {
            current = next;
        }
    }
    StageBuild {
        vertex: current,
        base_image,
        base_stage,
        base_image_vertex,
        platform: platform.clone(),
        config: stage.config.clone(),
        stage: stage.index,
    }
}

/// `user[:group]` split as Docker reads `--chown`.
pub(crate) fn parse_owner(chown: &str) -> Owner {
    match chown.split_once(':') {
        Some((user, group)) => Owner {
            user: user.to_owned(),
            group: Some(group.to_owned()),
        },
        None => Owner {
            user: chown.to_owned(),
            group: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::Source;
    use crate::frontend::lower::{LowerOptions, lower};
    use crate::graph::op::ExecMount;
    use crate::graph::{ExecOp, Op};

    fn build(dockerfile: &str, target: Option<&str>) -> Build {
        let options = LowerOptions {
            target: target.map(str::to_owned),
            build_args: Vec::new(),
            target_platform: Platform::host(),
            build_platform: Platform::host(),
        };
        let plan = lower(&Source::new("Dockerfile", dockerfile), &options).unwrap();
        convert(&plan, &Platform::host())
    }

    const MULTI: &str = "\
FROM busybox AS one
COPY a /a
FROM busybox AS two
COPY b /b
FROM scratch AS unused
COPY c /c
FROM two
WORKDIR /app
COPY --from=one /a /a
ENV X=1
";

    #[test]
    fn stages_share_identical_sources_and_skip_unused() {
        let build = build(MULTI, None);
        assert!(
            build.stages[2].is_none(),
            "the unused stage makes no vertices"
        );
        let sources: Vec<&Op> = (0..build.graph.len())
            .map(|i| &build.graph.vertex(VertexId(i)).op)
            .filter(|op| matches!(op, Op::Source(_)))
            .collect();
        // One busybox image and one context, though both are named twice.
        assert_eq!(sources.len(), 2, "{sources:?}");
        let target = build.target_stage();
        assert_eq!(target.base_stage, Some(1));
        assert_eq!(target.stage, 3);
        let last = build.graph.vertex(target.vertex);
        assert!(
            last.origin
                .name
                .starts_with("[stage-3 3/4] COPY --from=one"),
            "{}",
            last.origin.name
        );
        let one = build.stages[0].as_ref().unwrap().vertex;
        assert!(
            last.inputs.contains(&one),
            "COPY --from=one reads stage one"
        );
        assert_eq!(last.origin.lines, Some((9, 9)));
    }

    #[test]
    fn target_limits_the_graph() {
        let build = build(MULTI, Some("one"));
        assert!(build.stages[1].is_none());
        assert!(build.stages[3].is_none());
        assert_eq!(build.graph.closure(build.target_stage().vertex).len(), 3);
    }

    #[test]
    fn link_merges_a_copy_made_on_scratch() {
        let build = build("FROM busybox\nCOPY --link a /a\n", None);
        let last = build.graph.vertex(build.target_stage().vertex);
        assert!(matches!(last.op, Op::Merge(_)));
        assert_eq!(last.inputs.len(), 2);
    }

    fn last_exec(build: &Build) -> (&ExecOp, &[VertexId]) {
        let last = build.graph.vertex(build.target_stage().vertex);
        let Op::Exec(exec) = &last.op else {
            panic!("not an exec op: {:?}", last.op)
        };
        (exec, &last.inputs)
    }

    #[test]
    fn run_heredocs_follow_buildkit() {
        let built = build("FROM scratch\nRUN <<EOF\necho hi\nEOF\n", None);
        let (exec, _) = last_exec(&built);
        assert_eq!(exec.args, ["/bin/sh", "-c", "echo hi\n"]);

        let built = build(
            "FROM scratch\nRUN <<EOF\n#!/bin/busybox ash\necho hi\nEOF\n",
            None,
        );
        let (exec, _) = last_exec(&built);
        assert_eq!(exec.args, ["/bin/sh", "-c", "/dev/pipes/EOF"]);
        assert!(
            matches!(&exec.mounts[..], [ExecMount::File { target, mode: 0o755, .. }]
            if target == "/dev/pipes/EOF")
        );

        let built = build("FROM scratch\nRUN cat <<A >/a\nx\nA\n", None);
        let (exec, _) = last_exec(&built);
        assert_eq!(exec.args, ["/bin/sh", "-c", "cat <<A >/a\nx\nA"]);
    }

    #[test]
    fn run_mounts_read_the_context_through_a_copy() {
        let built = build(
            "FROM scratch\nWORKDIR /w\nRUN --mount=target=src --mount=type=cache,target=/c --mount=type=secret,id=tok true\n",
            None,
        );
        let (exec, inputs) = last_exec(&built);
        assert_eq!(inputs.len(), 2, "the root and the bind's source");
        assert!(
            matches!(&exec.mounts[0], ExecMount::Bind { input: 1, target, readonly: true, .. }
            if target == "/w/src")
        );
        assert!(matches!(&exec.mounts[1], ExecMount::Cache { id, seed: None, .. } if id == "/c"));
        assert!(
            matches!(&exec.mounts[2], ExecMount::Secret { target: Some(target), .. }
            if target == "/run/secrets/tok")
        );
        let bound = built.graph.vertex(inputs[1]);
        assert!(matches!(bound.op, Op::File(_)), "{:?}", bound.op);
    }

    #[test]
    fn heredoc_copy_becomes_mkfile() {
        let build = build("FROM scratch\nCOPY <<EOF /etc/motd\nhello\nEOF\n", None);
        let last = build.graph.vertex(build.target_stage().vertex);
        let Op::File(file) = &last.op else {
            panic!("not a file op")
        };
        assert!(
            matches!(&file.actions[..], [FileAction::Mkfile { path, data, .. }]
            if path == "/etc/motd" && data == b"hello\n")
        );
    }
}
