//! RUN → an `Exec` vertex: the command line (shell form wrapped in the
//! stage's shell, heredocs handled as BuildKit does), the environment, and
//! one `ExecMount` per `--mount` whose `from=` becomes an extra input.

use std::collections::BTreeMap;

use super::{NamedContext, StageBuild, file_source_vertex, scratch};
use crate::frontend::instructions::{CommandLine, MountType, Network, Sharing};
use crate::frontend::lower::{Plan, RunMount, RunStep};
use crate::frontend::parser::{Heredoc, chomp_heredoc_content};
use crate::graph::op::{CacheSharing, ExecMount, MountOwner, Network as ExecNetwork};
use crate::graph::{
    CopyAction, ExecOp, FileAction, FileOp, Graph, Op, Origin, Platform, SourceOp, Vertex, VertexId,
};

/// Where a heredoc script with a shebang is mounted to be run.
const HEREDOC_DIR: &str = "/dev/pipes";

#[expect(
    clippy::too_many_arguments,
    reason = "the conversion state of one stage"
)]
pub(super) fn convert_run(
    graph: &mut Graph,
    stages: &[Option<StageBuild>],
    current: VertexId,
    plan: &Plan,
    run: &RunStep,
    platform: &Platform,
    origin: Origin,
    named: &BTreeMap<String, NamedContext>,
) -> VertexId {
    let mut inputs = vec![current];
    let mut mounts = Vec::new();
    let (command, script) = command_line(run);
    mounts.extend(script);
    let mut ssh_count = 0;
    for mount in &run.mounts {
        if let Some(converted) = convert_mount(
            graph,
            stages,
            &mut inputs,
            mount,
            platform,
            named,
            &mut ssh_count,
        ) {
            mounts.push(converted);
        }
    }
    let mut env = run.env.clone();
    env.extend(plan.proxy_env());
    if let Some(ExecMount::Ssh { target, .. }) = mounts
        .iter()
        .find(|mount| matches!(mount, ExecMount::Ssh { .. }))
    {
        if !env.iter().any(|(name, _)| name == "SSH_AUTH_SOCK") {
            env.push(("SSH_AUTH_SOCK".to_owned(), target.clone()));
        }
    }
    graph.add(Vertex {
        op: Op::Exec(ExecOp {
            args: command,
            env,
            cwd: run.workdir.clone(),
            user: run.user.clone(),
            network: match run.network {
                Network::Default => ExecNetwork::Default,
                Network::None => ExecNetwork::None,
                Network::Host => ExecNetwork::Host,
            },
            mounts,
        }),
        inputs,
        origin,
    })
}

/// The argv, and the mount of a heredoc script that has a shebang.
fn command_line(run: &RunStep) -> (Vec<String>, Option<ExecMount>) {
    let shell = || {
        run.shell
            .clone()
            .unwrap_or_else(|| vec!["/bin/sh".to_owned(), "-c".to_owned()])
    };
    let text = match &run.command {
        CommandLine::Exec(args) => return (args.clone(), None),
        CommandLine::Shell(text) => text,
    };
    let mut script = None;
    let body = match run.heredocs.as_slice() {
        [] => text.clone(),
        [only] if is_bare_heredoc(text) => {
            let data = body_of(only);
            if data.starts_with("#!") {
                let target = format!("{HEREDOC_DIR}/{}", only.name);
                script = Some(ExecMount::File {
                    target: target.clone(),
                    data: data.into_bytes(),
                    mode: 0o755,
                });
                target
            } else {
                data
            }
        }
        heredocs => {
            // The shell reads the heredocs itself.
            let mut whole = text.clone();
            for heredoc in heredocs {
                whole.push('\n');
                whole.push_str(&heredoc.content);
                whole.push_str(&heredoc.name);
            }
            whole
        }
    };
    let mut args = shell();
    args.push(body);
    (args, script)
}

/// Whether the command is nothing but one heredoc opener (`<<EOF`,
/// `<<-"EOF"`).
fn is_bare_heredoc(text: &str) -> bool {
    let Some(rest) = text.trim().strip_prefix("<<") else {
        return false;
    };
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '"' | '\''))
}

fn body_of(heredoc: &Heredoc) -> String {
    if heredoc.chomp {
        chomp_heredoc_content(&heredoc.content)
    } else {
        heredoc.content.clone()
    }
}

fn owner(mount: &crate::frontend::instructions::Mount, mode: u32) -> MountOwner {
    MountOwner {
        uid: mount.uid.unwrap_or(0),
        gid: mount.gid.unwrap_or(0),
        mode: mount.mode.unwrap_or(mode),
    }
}

fn convert_mount(
    graph: &mut Graph,
    stages: &[Option<StageBuild>],
    inputs: &mut Vec<VertexId>,
    run_mount: &RunMount,
    platform: &Platform,
    named: &BTreeMap<String, NamedContext>,
    ssh_count: &mut usize,
) -> Option<ExecMount> {
    let mount = &run_mount.mount;
    let target = run_mount.target.clone();
    let source = mount.source.clone().unwrap_or_else(|| "/".to_owned());
    let mut input_for = |graph: &mut Graph| {
        let mut vertex =
            file_source_vertex(graph, stages, run_mount.from.as_ref(), platform, named);
        if matches!(graph.vertex(vertex).op, Op::Source(SourceOp::Local { .. })) {
            vertex = context_snapshot(graph, vertex, &source);
        }
        inputs.push(vertex);
        inputs.len() - 1
    };
    Some(match mount.kind {
        MountType::Bind => ExecMount::Bind {
            input: input_for(graph),
            source,
            target: target?,
            readonly: mount.readonly,
        },
        MountType::Cache => ExecMount::Cache {
            id: mount.id.clone().unwrap_or_default(),
            target: target?,
            sharing: match mount.sharing.unwrap_or(Sharing::Shared) {
                Sharing::Shared => CacheSharing::Shared,
                Sharing::Private => CacheSharing::Private,
                Sharing::Locked => CacheSharing::Locked,
            },
            readonly: mount.readonly,
            seed: run_mount
                .from
                .is_some()
                .then(|| (input_for(graph), source.clone())),
            owner: owner(mount, 0o755),
        },
        MountType::Tmpfs => ExecMount::Tmpfs {
            target: target?,
            size: mount.size,
        },
        MountType::Secret => ExecMount::Secret {
            id: mount.id.clone().unwrap_or_default(),
            target,
            env: mount.env.clone(),
            required: mount.required,
            owner: owner(mount, 0o400),
        },
        MountType::Ssh => {
            *ssh_count += 1;
            ExecMount::Ssh {
                id: mount.id.clone().unwrap_or_else(|| "default".to_owned()),
                target: target
                    .unwrap_or_else(|| format!("/run/buildkit/ssh_agent.{}", *ssh_count - 1)),
                required: mount.required,
                owner: owner(mount, 0o600),
            }
        }
    })
}

/// A local context cannot be mounted as it is (`.dockerignore`, symlinks
/// that leave it): what a mount reads of it is copied, at the same path,
/// onto scratch first, and the mount reads that.
fn context_snapshot(graph: &mut Graph, context: VertexId, source: &str) -> VertexId {
    let base = scratch(graph);
    graph.add(Vertex {
        op: Op::File(FileOp {
            actions: vec![FileAction::Copy(CopyAction {
                source_input: 1,
                sources: vec![source.to_owned()],
                dest: "/".to_owned(),
                owner: None,
                mode: None,
                parents: true,
                exclude: Vec::new(),
                unpack_archives: false,
                allow_empty_wildcard: false,
            })],
        }),
        inputs: vec![base, context],
        origin: Origin {
            name: format!("[internal] load {source} of the build context for a mount"),
            lines: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_heredoc_openers_are_recognised() {
        for text in ["<<EOF", "<<-EOF", "<<'EOF'", " <<\"END\" "] {
            assert!(is_bare_heredoc(text), "{text}");
        }
        for text in ["cat <<EOF", "<<EOF > file", "<<"] {
            assert!(!is_bare_heredoc(text), "{text}");
        }
    }
}
