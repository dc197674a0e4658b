//! `File` and `Merge` vertices: copies, mkdir, mkfile, rm and symlink into a
//! new layer over the destination's chain, and `COPY --link` merges. The
//! cache key covers the op, the inputs' keys and the checksum of every
//! context file a copy selects, so editing an unselected file changes
//! nothing.

use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};

use serde::Serialize;
use xb_snapshotter::{ActiveSnapshot, DiffOptions};

use crate::graph::{Digest, FileAction, FileOp, Owner, VertexId};
use crate::solver::file::copy::{CopyError, SourceStat, SourceTree, copy_into};
use crate::solver::file::owner::{Ids, resolve_owner};
use crate::solver::file::reuse::Reuse;
use crate::solver::file::source::{DirectoryTree, SnapshotTree};

use super::{BuildExecutor, ExecuteError, Layer, Output};

/// Resolves `--chown` in the destination's passwd and group files.
type ResolveOwner<'a> = dyn Fn(&Option<Owner>) -> Result<Option<Ids>, ExecuteError> + 'a;

#[derive(Serialize)]
struct FileKey<'a> {
    kind: &'static str,
    op: &'a FileOp,
    inputs: Vec<Digest>,
    selections: Vec<Digest>,
}

/// Names the earlier runs of one file op on one base layer.
#[derive(Serialize)]
struct ReuseKey<'a> {
    kind: &'static str,
    op: &'a FileOp,
    base: Option<&'a str>,
}

/// Nothing at all: what `--from=scratch` offers.
struct EmptyTree;

impl SourceTree for EmptyTree {
    fn stat(&self, _: &Path) -> Result<Option<SourceStat>, CopyError> {
        Ok(None)
    }
    fn list(&self, _: &Path) -> Result<Vec<String>, CopyError> {
        Ok(Vec::new())
    }
    fn open(&self, path: &Path) -> Result<Box<dyn Read + '_>, CopyError> {
        Err(CopyError::SourceNotFound(path.display().to_string()))
    }
    fn resolve(&self, path: &Path) -> Result<PathBuf, CopyError> {
        Ok(path.to_path_buf())
    }
    fn keeps_owners(&self) -> bool {
        true
    }
}

fn write_error(path: &str) -> impl FnOnce(std::io::Error) -> ExecuteError + '_ {
    move |source| {
        ExecuteError::Copy(CopyError::WriteLayer {
            path: path.to_owned(),
            source,
        })
    }
}

impl BuildExecutor<'_> {
    pub(super) fn run_file(
        &self,
        id: VertexId,
        file: &FileOp,
        inputs: &[Output],
    ) -> Result<(Output, bool), ExecuteError> {
        let mut selections = Vec::new();
        for action in &file.actions {
            if let FileAction::Copy(copy) = action {
                if let Some(name) = &inputs[copy.source_input].local {
                    let context = self
                        .contexts
                        .get(name)
                        .ok_or_else(|| ExecuteError::UnknownContext(name.clone()))?;
                    selections.push(context.selection_key(
                        self.store,
                        &copy.sources,
                        &copy.exclude,
                    )?);
                }
            }
        }
        let key = Self::key_of(&FileKey {
            kind: "file",
            op: file,
            inputs: inputs.iter().map(|input| input.cache_key).collect(),
            selections,
        });
        self.cached_or(id, key, || {
            let base = &inputs[0];
            let mut active = self.snapshotter.prepare(base.top())?;
            let passwd = super::read_text(Some(active.lower()), "/etc/passwd");
            let group = super::read_text(Some(active.lower()), "/etc/group");
            let resolve = |owner: &Option<Owner>| -> Result<Option<Ids>, ExecuteError> {
                owner
                    .as_ref()
                    .map(|owner| resolve_owner(owner, passwd.as_deref(), group.as_deref()))
                    .transpose()
                    .map_err(ExecuteError::from)
            };
            let hint = self.reuse_hint(file, base)?;
            let mut reuse = Reuse::load(&hint);
            for action in &file.actions {
                self.apply_action(&mut active, action, inputs, &resolve, &mut reuse)?;
            }
            let snapshot = active.commit()?;
            if !reuse.is_empty() {
                // A hint only: failing to keep it costs the next build time, not data.
                let _ = reuse.save(&hint, &snapshot);
            }
            let mut layers = base.layers.clone();
            layers.push(Layer {
                snapshot,
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

    /// Where what this op's copies write is noted for the next run of the
    /// same op on the same layers ([`Reuse`]).
    fn reuse_hint(&self, file: &FileOp, base: &Output) -> Result<PathBuf, ExecuteError> {
        let lineage = Self::key_of(&ReuseKey {
            kind: "copy-reuse",
            op: file,
            base: base.top().map(xb_snapshotter::SnapshotId::as_str),
        });
        Ok(self
            .store
            .dir("copy-reuse")?
            .join(format!("{}.json", lineage.hex())))
    }

    fn apply_action(
        &self,
        active: &mut ActiveSnapshot,
        action: &FileAction,
        inputs: &[Output],
        resolve: &ResolveOwner<'_>,
        reuse: &mut Reuse,
    ) -> Result<(), ExecuteError> {
        match action {
            FileAction::Copy(copy) => {
                let source = &inputs[copy.source_input];
                let owner = resolve(&copy.owner)?;
                if let Some(name) = &source.local {
                    let context = self
                        .contexts
                        .get(name)
                        .ok_or_else(|| ExecuteError::UnknownContext(name.clone()))?;
                    let tree = DirectoryTree::new(context.root())
                        .with_ignore(context.rules().clone())
                        .with_scan(context.scanned(self.store)?);
                    copy_into(
                        active,
                        Some(self.snapshotter),
                        &tree,
                        copy,
                        owner,
                        Some(reuse),
                    )?;
                } else if let Some(top) = source.top() {
                    let tree = SnapshotTree(self.snapshotter.view(top)?);
                    copy_into(active, Some(self.snapshotter), &tree, copy, owner, None)?;
                } else {
                    copy_into(
                        active,
                        Some(self.snapshotter),
                        &EmptyTree,
                        copy,
                        owner,
                        None,
                    )?;
                }
            }
            FileAction::Mkdir {
                path,
                mode,
                owner,
                parents: _,
            } => {
                let existed = active.lower().metadata(Path::new(path))?.is_some();
                active.create_dir_all(Path::new(path))?;
                if !existed {
                    let ids = resolve(owner)?.unwrap_or(Ids { uid: 0, gid: 0 });
                    active.set_owner(Path::new(path), ids.uid, ids.gid)?;
                    active.set_mode(Path::new(path), *mode)?;
                }
            }
            FileAction::Mkfile {
                path,
                mode,
                owner,
                data,
            } => {
                let target = Path::new(path);
                if let Some(parent) = target.parent() {
                    active.create_dir_all(parent)?;
                }
                let disk = active
                    .upper_dir()
                    .join(target.strip_prefix("/").unwrap_or(target));
                let mut out = fs_err::File::create(&disk).map_err(write_error(path))?;
                out.write_all(data).map_err(write_error(path))?;
                let ids = resolve(owner)?.unwrap_or(Ids { uid: 0, gid: 0 });
                active.set_owner(target, ids.uid, ids.gid)?;
                active.set_mode(target, *mode)?;
            }
            FileAction::Rm {
                path,
                allow_not_found,
            } => {
                let exists = active.lower().metadata(Path::new(path))?.is_some();
                if exists {
                    active.whiteout(Path::new(path))?;
                } else if !allow_not_found {
                    return Err(CopyError::SourceNotFound(path.clone()).into());
                }
            }
            FileAction::Symlink { target, link } => {
                let link_path = Path::new(link);
                if let Some(parent) = link_path.parent() {
                    active.create_dir_all(parent)?;
                }
                let disk = active
                    .upper_dir()
                    .join(link_path.strip_prefix("/").unwrap_or(link_path));
                fs_err::os::unix::fs::symlink(target, &disk).map_err(write_error(link))?;
                active.set_owner(link_path, 0, 0)?;
            }
        }
        Ok(())
    }

    /// `COPY --link`: the later inputs' layers re-applied over the first's.
    pub(super) fn run_merge(
        &self,
        id: VertexId,
        inputs: &[Output],
    ) -> Result<(Output, bool), ExecuteError> {
        let key = Self::key_of(&(
            "merge",
            inputs
                .iter()
                .map(|input| input.cache_key)
                .collect::<Vec<_>>(),
        ));
        self.cached_or(id, key, || {
            let mut layers = inputs[0].layers.clone();
            for input in &inputs[1..] {
                for layer in &input.layers {
                    let (reader, writer) = std::io::pipe().map_err(write_error("merge"))?;
                    let parent = layers.last().map(|layer: &Layer| layer.snapshot.clone());
                    let applied = std::thread::scope(|scope| {
                        let producer = scope.spawn(move || {
                            let mut writer = writer;
                            let result = self.snapshotter.diff(
                                &layer.snapshot,
                                &mut writer,
                                DiffOptions::default(),
                            );
                            drop(writer);
                            result
                        });
                        let applied = self.snapshotter.apply(reader, parent.as_ref());
                        let produced = producer.join().expect("the diff thread does not panic");
                        produced.and(applied)
                    })?;
                    layers.push(Layer {
                        snapshot: applied.id,
                        blob: layer.blob.clone(),
                    });
                }
            }
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
