//! Lowered plan → build graph (BuildKit's `dockerfile2llb`). Each needed
//! stage becomes a chain of vertices: its base (scratch, an image source or
//! another stage's last vertex), then one `File` vertex per COPY, ADD or
//! WORKDIR and one `Exec` vertex per RUN. Metadata instructions make no
//! vertex: the image config travels beside the graph in [`StageBuild`],
//! and history is written from the plan's steps at export.

mod copy;

use std::collections::BTreeMap;

use crate::frontend::lower::{Base, ImageConfig, Plan, Stage, StepKind};
use crate::graph::{
    ExecOp, FileAction, FileOp, Graph, Op, Origin, Owner, Platform, SourceOp, Vertex, VertexId,
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
            StepKind::Run(run) => {
                let args = match &run.command {
                    crate::frontend::instructions::CommandLine::Exec(args) => args.clone(),
                    crate::frontend::instructions::CommandLine::Shell(text) => {
                        let mut shell = run
                            .shell
                            .clone()
                            .unwrap_or_else(|| vec!["/bin/sh".to_owned(), "-c".to_owned()]);
                        shell.push(text.clone());
                        shell
                    }
                };
                let mut env = run.env.clone();
                env.extend(plan.proxy_env());
                Some(graph.add(Vertex {
                    op: Op::Exec(ExecOp {
                        args,
                        env,
                        cwd: run.workdir.clone(),
                        user: run.user.clone(),
                        network: format!("{:?}", run.network).to_lowercase(),
                        stdin: None,
                    }),
                    inputs: vec![current],
                    origin,
                }))
            }
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
    use crate::graph::Op;

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
