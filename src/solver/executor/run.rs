//! `Exec` vertices (RUN): the cache key (the op with its mounts, and the
//! inputs' keys; never a secret's value), then on a miss a writable root
//! from the snapshotter, the command run by `xb-runtime`'s sandbox with its
//! mounts, and the root's changes committed as a new layer. A command that
//! exits nonzero fails the vertex with its exit code and last output lines.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;
use xb_runtime::{ExitStatus, RootFs, SandboxSpec};
use xb_snapshotter::{Backend, RunRoot};

use crate::graph::op::Network;
use crate::graph::{Digest, ExecOp, VertexId};
use crate::solver::event::{self, LogStream};
use crate::solver::exec::environment::command_environment;
use crate::solver::exec::identity::resolve_identity;

use super::mounts::PreparedMounts;
use super::{BuildExecutor, ExecuteError, Layer, Output};

/// How many of a failed command's last output lines its error shows.
const TAIL_LINES: usize = 10;

/// The hostname a RUN command sees, in `/etc/hostname` and `/etc/hosts`.
pub const SANDBOX_HOSTNAME: &str = "xbsandbox";

#[derive(Serialize)]
struct ExecKey<'a> {
    kind: &'static str,
    op: &'a ExecOp,
    inputs: Vec<Digest>,
}

/// The last lines a command wrote, for its error.
#[derive(Default)]
struct Tail {
    lines: VecDeque<String>,
    partial: String,
}

impl Tail {
    fn push(&mut self, bytes: &[u8]) {
        self.partial.push_str(&String::from_utf8_lossy(bytes));
        while let Some(end) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=end).collect();
            self.lines.push_back(line.trim_end().to_owned());
            if self.lines.len() > TAIL_LINES {
                self.lines.pop_front();
            }
        }
    }

    fn text(mut self) -> String {
        if !self.partial.is_empty() {
            self.lines.push_back(std::mem::take(&mut self.partial));
            if self.lines.len() > TAIL_LINES {
                self.lines.pop_front();
            }
        }
        self.lines.into_iter().collect::<Vec<_>>().join("\n")
    }
}

/// The command line as BuildKit names it in errors.
fn describe(args: &[String]) -> String {
    format!("{:?}", args.join(" "))
}

fn hosts_file() -> String {
    format!("127.0.0.1\tlocalhost {SANDBOX_HOSTNAME}\n::1\tlocalhost ip6-localhost ip6-loopback\n")
}

impl BuildExecutor<'_> {
    pub(super) fn run_exec(
        &self,
        id: VertexId,
        exec: &ExecOp,
        inputs: &[Output],
    ) -> Result<(Output, bool), ExecuteError> {
        let key = Self::key_of(&ExecKey {
            kind: "exec",
            op: exec,
            inputs: inputs.iter().map(|input| input.cache_key).collect(),
        });
        self.cached_or(id, key, || {
            let base = &inputs[0];
            let view = base
                .top()
                .map(|top| self.snapshotter.view(top))
                .transpose()?;
            let identity = resolve_identity(
                exec.user.as_deref(),
                super::read_text(view.as_ref(), "/etc/passwd").as_deref(),
                super::read_text(view.as_ref(), "/etc/group").as_deref(),
            )?;
            drop(view);
            let event_id = event::VertexId(self.event_offset + id.0 as u64);
            if self.run.caller_only {
                if identity.uid != 0 || identity.gid != 0 {
                    return Err(ExecuteError::OnlyRootMapped {
                        user: exec.user.clone().unwrap_or_default(),
                    });
                }
                if self.run.first_caller_only_step() {
                    self.reporter.on_vertex_warning(
                        event_id,
                        "no subordinate ids for this user (see /etc/subuid): RUN steps run as root only, and their chown calls change nothing",
                        super::now(),
                    );
                }
            }
            let mut env = command_environment(&exec.env, &identity.home);
            let mounts = PreparedMounts::prepare(self, exec, inputs, &mut env)?;
            let network = match (exec.network, self.run.network_none) {
                (Network::None, _) | (_, true) => xb_runtime::Network::None,
                (Network::Default | Network::Host, false) => xb_runtime::Network::Host,
            };
            let resolv_conf = match network {
                xb_runtime::Network::None => String::new(),
                xb_runtime::Network::Host => {
                    fs_err::read_to_string("/etc/resolv.conf").unwrap_or_default()
                }
            };
            let (snapshot, report) = loop {
                let backend = self.run.backend();
                let snapshot = self.snapshotter.prepare_run(base.top(), backend)?;
                let root = match snapshot.root() {
                    RunRoot::Overlay { lower, upper, work } => {
                        RootFs::Overlay { lower, upper, work }
                    }
                    RunRoot::Directory(dir) => RootFs::Directory(dir),
                };
                let spec = SandboxSpec {
                    root,
                    args: exec.args.clone(),
                    env: env.clone(),
                    cwd: exec.cwd.clone(),
                    uid: identity.uid,
                    gid: identity.gid,
                    additional_gids: identity.additional_gids.clone(),
                    mounts: mounts.runtime_mounts(),
                    network,
                    hostname: SANDBOX_HOSTNAME.to_owned(),
                    hosts: hosts_file(),
                    resolv_conf: resolv_conf.clone(),
                    stdin: None,
                    isolation: self.run.isolation(),
                    scratch: Some(self.store.temp_dir().to_path_buf()),
                    hardening: xb_runtime::HardeningSpec {
                        ignore_chown: self.run.caller_only,
                        ..xb_runtime::HardeningSpec::default()
                    },
                };
                let tail = Mutex::new(Tail::default());
                let result = xb_runtime::Sandbox::run(&spec, &mut |stream, bytes| {
                    tail.lock().expect("no panic while held").push(bytes);
                    let stream = match stream {
                        xb_runtime::Stream::Stdout => LogStream::Stdout,
                        xb_runtime::Stream::Stderr => LogStream::Stderr,
                    };
                    self.reporter
                        .on_vertex_log(event_id, stream, bytes, super::now());
                });
                match result {
                    Err(xb_runtime::Error::OverlayRefused { .. })
                        if backend == Backend::Overlay && self.run.overlay_refused() => {}
                    Err(xb_runtime::Error::NamespacesRefused { .. })
                        if self.run.namespaces_refused() => {}
                    Err(source) => return Err(ExecuteError::Sandbox(source)),
                    Ok(report) => {
                        let tail = tail.into_inner().expect("no panic while held").text();
                        match report.status {
                            ExitStatus::Code(0) => break (snapshot, report),
                            status => {
                                return Err(ExecuteError::CommandFailed {
                                    command: describe(&exec.args),
                                    status: status.to_string(),
                                    tail,
                                });
                            }
                        }
                    }
                }
            };
            drop(mounts);
            let top = snapshot.commit(&report.created_paths)?;
            let mut layers = base.layers.clone();
            layers.push(Layer {
                snapshot: top,
                blob: None,
            });
            Ok(Output {
                cache_key: key,
                layers,
                image: None,
                local: None,
                created: super::now_seconds(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        let mut tail = Tail::default();
        for n in 0..15 {
            tail.push(format!("line {n}\n").as_bytes());
        }
        tail.push(b"no newline");
        let text = tail.text();
        assert!(text.starts_with("line 6\n"), "{text}");
        assert!(text.ends_with("line 14\nno newline"), "{text}");
    }
}
