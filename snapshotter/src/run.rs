//! [`RunSnapshot`]: the writable root filesystem of one RUN, and its commit
//! into a new layer (BuildKit `MutableRef.Commit`).
//!
//! With [`Backend::Overlay`] the snapshot is a set of directories for an
//! overlay mount ([`RunRoot::Overlay`]: lower directories from `lower`, a
//! fresh upper and work directory in the store's staging area); committing
//! turns overlay's whiteouts and opaque markers in the upper directory into
//! layer metadata (`upper`). With [`Backend::Native`] the merged chain is
//! copied into one fresh directory ([`RunRoot::Directory`]); committing keeps
//! what the RUN changed, compared with the copy (`native`).
//!
//! Mounting, namespaces and running the process are the runtime's business:
//! the overlay must be mounted with `userxattr` (also as real root), and
//! unmounted before [`RunSnapshot::commit`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::attrs::{self, Probe, disk_path, probe};
use crate::copy::{Manifest, copy_view};
use crate::error::{Error, Result};
use crate::path::LayerPath;
use crate::store::Staging;
use crate::view::View;
use crate::{Backend, SnapshotId, Snapshotter};

/// The directories a RUN's root filesystem is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunRoot {
    /// Mount overlayfs with `lowerdir` = `lower` joined by `:` (topmost
    /// first, as overlay wants them; `\`, `:` and `,` in a path escaped
    /// with `\`), `upperdir`, `workdir` and the `userxattr` option, always
    /// (also as real root: the masks use `user.overlay.*` marks). `upper`
    /// and `work` are on the same filesystem. Together the lower paths stay
    /// within [`MAX_LOWER_DIRS`](crate::MAX_LOWER_DIRS) directories and
    /// [`MAX_LOWERDIR_BYTES`](crate::MAX_LOWERDIR_BYTES), so the options fit
    /// in one page.
    Overlay {
        /// Read-only layers, topmost first; never empty.
        lower: Vec<PathBuf>,
        /// Where the RUN's changes go.
        upper: PathBuf,
        /// Overlay's work directory.
        work: PathBuf,
    },
    /// Use this directory as the root as it is (bind-mount it).
    Directory(PathBuf),
}

/// A writable root filesystem for one RUN on top of a committed chain.
/// Dropped without [`commit`](Self::commit), its directories are removed.
#[derive(Debug)]
pub struct RunSnapshot {
    snapshotter: Snapshotter,
    staging: Staging,
    parent: Option<SnapshotId>,
    lower: View,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Overlay { lower: Vec<PathBuf>, work: PathBuf },
    Native { manifest: Manifest },
}

impl RunSnapshot {
    pub(crate) fn new(
        snapshotter: &Snapshotter,
        parent: Option<&SnapshotId>,
        backend: Backend,
    ) -> Result<Self> {
        let lower = View::new(snapshotter.store().load_chain(parent)?);
        let staging = snapshotter.store().new_staging()?;
        attrs::chmod(staging.fs(), 0o755)?;
        let kind = match backend {
            Backend::Overlay => {
                let mut dirs = crate::lower::lower_dirs(snapshotter, &lower)?;
                if dirs.is_empty() {
                    // Overlay needs at least one lower directory.
                    let empty = staging.dir().join("empty");
                    create_dir(&empty)?;
                    attrs::chmod(&empty, 0o755)?;
                    dirs.push(empty);
                }
                let work = staging.dir().join("work");
                create_dir(&work)?;
                Kind::Overlay { lower: dirs, work }
            }
            Backend::Native => {
                let manifest = copy_view(
                    &lower,
                    staging.fs(),
                    snapshotter.id_map(),
                    snapshotter.privileged(),
                )?;
                // A change made within the same clock tick as the copy
                // would keep the copy's ctime; let the tick pass.
                std::thread::sleep(Duration::from_millis(20));
                Kind::Native { manifest }
            }
        };
        Ok(Self {
            snapshotter: snapshotter.clone(),
            staging,
            parent: parent.cloned(),
            lower,
            kind,
        })
    }

    /// The committed snapshot this one is built on.
    pub fn parent(&self) -> Option<&SnapshotId> {
        self.parent.as_ref()
    }

    /// The merged view of the parent chain.
    pub fn lower(&self) -> &View {
        &self.lower
    }

    /// The backend this snapshot was prepared with.
    pub fn backend(&self) -> Backend {
        match self.kind {
            Kind::Overlay { .. } => Backend::Overlay,
            Kind::Native { .. } => Backend::Native,
        }
    }

    /// The directories to build the RUN's root from.
    pub fn root(&self) -> RunRoot {
        match &self.kind {
            Kind::Overlay { lower, work } => RunRoot::Overlay {
                lower: lower.clone(),
                upper: self.staging.fs().to_owned(),
                work: work.clone(),
            },
            Kind::Native { .. } => RunRoot::Directory(self.staging.fs().to_owned()),
        }
    }

    /// Commits what the RUN changed as a new layer on the parent. Call it
    /// once nothing is mounted on the snapshot's directories any more.
    ///
    /// `remove_stubs` are paths inside the image (`/etc/hosts`, `/proc`, a
    /// mount target and each parent the sandbox had to create for it) that
    /// the sandbox created only as mount points: each is left out of the
    /// layer if it is still an empty file or empty directory and the parent
    /// chain has nothing there. Deeper paths go first, so parents made for
    /// a stub empty out before they are looked at.
    pub fn commit(self, remove_stubs: &[String]) -> Result<SnapshotId> {
        let id_map = self.snapshotter.id_map().clone();
        let upper = self.staging.fs().to_owned();
        let mut stubs = remove_stubs
            .iter()
            .map(|stub| LayerPath::from_user(Path::new(stub)))
            .collect::<Result<Vec<_>>>()?;
        stubs.sort_by_key(|stub| std::cmp::Reverse(stub.components().count()));
        let entries = match &self.kind {
            Kind::Overlay { work, .. } => {
                remove_stubs_in(&upper, &stubs, |path| Ok(self.lower.entry(path)?.is_some()))?;
                if let Some(metadata) = attrs::lstat(work)? {
                    attrs::remove_any(work, &metadata)?;
                }
                crate::upper::commit_upper(&upper, &self.lower, &id_map)?
            }
            Kind::Native { manifest } => {
                remove_stubs_in(&upper, &stubs, |path| Ok(manifest.contains_key(path)))?;
                crate::native::commit_copy(
                    &upper,
                    manifest,
                    &id_map,
                    self.snapshotter.privileged(),
                )?
            }
        };
        let empty = self.staging.dir().join("empty");
        if let Some(metadata) = attrs::lstat(&empty)? {
            attrs::remove_any(&empty, &metadata)?;
        }
        self.snapshotter
            .store()
            .commit(self.staging, self.parent, &entries, None, id_map)
    }
}

fn create_dir(path: &Path) -> Result<()> {
    fs_err::create_dir(path).map_err(|source| Error::CreateDir {
        path: path.to_owned(),
        source,
    })
}

/// Removes each stub (deepest first) that is still an empty file or empty
/// directory in `root` and that `in_lower` says the parent chain lacks.
fn remove_stubs_in(
    root: &Path,
    stubs: &[LayerPath],
    in_lower: impl Fn(&LayerPath) -> Result<bool>,
) -> Result<()> {
    for stub in stubs {
        if stub.is_root() || in_lower(stub)? {
            continue;
        }
        let Probe::Found(metadata) = probe(root, stub)? else {
            continue;
        };
        let disk = disk_path(root, stub);
        let empty = if metadata.is_dir() {
            fs_err::read_dir(&disk)
                .map_err(|source| Error::ReadDir {
                    path: disk.clone(),
                    source,
                })?
                .next()
                .is_none()
        } else {
            metadata.is_file() && metadata.len() == 0
        };
        if empty {
            attrs::remove_any(&disk, &metadata)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;
    use crate::DiffOptions;
    use crate::testutil::{
        Attrs, LayerTar, ROOT_DIR, ROOT_FILE, is_root, mount_run, store, view_listing,
    };

    const USER: Attrs = Attrs {
        uid: 1000,
        gid: 1000,
        mode: 0o644,
        mtime: 1_000,
    };

    fn base(snapshotter: &Snapshotter) -> SnapshotId {
        let tar = LayerTar::new()
            .dir("doomed", ROOT_DIR)
            .dir("doomed/sub", ROOT_DIR)
            .file("doomed/sub/file", b"gone", ROOT_FILE)
            .dir("etc", ROOT_DIR)
            .file("etc/motd", b"hi", ROOT_FILE)
            .file("etc/passwd", b"root\n", ROOT_FILE)
            .dir("home", ROOT_DIR)
            .dir(
                "home/user",
                Attrs {
                    mode: 0o700,
                    ..USER
                },
            )
            .file("home/user/.profile", b"p\n", USER)
            .dir("opt", ROOT_DIR)
            .dir("opt/dir", ROOT_DIR)
            .file("opt/dir/x", b"x", ROOT_FILE)
            .file("srv", b"file", ROOT_FILE)
            .dir("usr", ROOT_DIR)
            .dir("usr/bin", ROOT_DIR)
            .file_with_xattrs(
                "usr/bin/ping",
                b"ping",
                Attrs {
                    mode: 0o755,
                    ..ROOT_FILE
                },
                &[("security.capability", b"\x01\x00\x00\x02")],
            )
            .dir("var", ROOT_DIR)
            .dir("var/cache", ROOT_DIR)
            .file("var/cache/a", b"a", ROOT_FILE)
            .file("var/cache/b", b"b", ROOT_FILE)
            .finish();
        let base = snapshotter.apply(&tar[..], None).unwrap().id;
        // A second layer, so the RUN sits on a chain with a mask.
        let tar = LayerTar::new()
            .dir("etc", ROOT_DIR)
            .file("etc/group", b"root:x:0:\n", ROOT_FILE)
            .marker("opt/.wh.gone")
            .finish();
        snapshotter.apply(&tar[..], Some(&base)).unwrap().id
    }

    /// What a RUN does, with ordinary file operations under `root`.
    fn run_step(root: &Path) {
        use std::io::Write as _;
        let append = |path: &str, text: &str| {
            fs_err::OpenOptions::new()
                .append(true)
                .open(root.join(path))
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        };
        append("etc/passwd", "user\n");
        fs_err::remove_dir_all(root.join("doomed")).unwrap();
        fs_err::remove_file(root.join("etc/motd")).unwrap();
        append("home/user/.profile", "more\n");
        fs_err::remove_dir_all(root.join("var/cache")).unwrap();
        fs_err::create_dir(root.join("var/cache")).unwrap();
        fs_err::write(root.join("var/cache/c"), "c").unwrap();
        fs_err::remove_dir_all(root.join("opt/dir")).unwrap();
        fs_err::write(root.join("opt/dir"), "now a file").unwrap();
        fs_err::remove_file(root.join("srv")).unwrap();
        fs_err::create_dir(root.join("srv")).unwrap();
        fs_err::write(root.join("srv/f"), "f").unwrap();
        fs_err::create_dir(root.join("app")).unwrap();
        fs_err::write(root.join("app/new"), "new").unwrap();
        std::os::unix::fs::chown(root.join("app/new"), Some(1000), Some(1000)).unwrap();
        fs_err::set_permissions(root.join("app/new"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        fs_err::set_permissions(
            root.join("usr/bin/ping"),
            std::fs::Permissions::from_mode(0o4755),
        )
        .unwrap();
        // Mount points the sandbox made.
        fs_err::write(root.join("etc/hosts"), "").unwrap();
        fs_err::create_dir(root.join("proc")).unwrap();
        fs_err::create_dir_all(root.join("run/secrets")).unwrap();
        fs_err::write(root.join("run/secrets/token"), "").unwrap();
        fs_err::create_dir_all(root.join("mnt/data")).unwrap();
        fs_err::write(root.join("mnt/data/kept"), "written by the RUN").unwrap();
    }

    const STUBS: [&str; 7] = [
        "/etc/hosts",
        "/etc/passwd",
        "/proc",
        "/run",
        "/run/secrets",
        "/run/secrets/token",
        "/mnt/data",
    ];

    /// Path, owner, mode and content or target of each entry (no times).
    fn listing(view: &View) -> Vec<String> {
        view_listing(view)
            .into_iter()
            .map(|line| {
                let fields: Vec<&str> = line.splitn(5, ' ').collect();
                format!("{} {} {} {}", fields[0], fields[1], fields[2], fields[4])
            })
            .collect()
    }

    fn tar_names(snapshotter: &Snapshotter, id: &SnapshotId) -> Vec<String> {
        let mut tar = Vec::new();
        snapshotter
            .diff(id, &mut tar, DiffOptions::default())
            .unwrap();
        crate::testutil::tar_listing(&tar)
    }

    const EXPECTED_VIEW: [&str; 18] = [
        "app 0:0 755 dir",
        "app/new 1000:1000 600 \"new\"",
        "etc 0:0 755 dir",
        "etc/group 0:0 644 \"root:x:0:\\n\"",
        "etc/passwd 0:0 644 \"root\\nuser\\n\"",
        "home 0:0 755 dir",
        "home/user 1000:1000 700 dir",
        "home/user/.profile 1000:1000 644 \"p\\nmore\\n\"",
        "mnt 0:0 755 dir",
        "mnt/data 0:0 755 dir",
        "mnt/data/kept 0:0 644 \"written by the RUN\"",
        "opt 0:0 755 dir",
        "opt/dir 0:0 644 \"now a file\"",
        "srv 0:0 755 dir",
        "srv/f 0:0 644 \"f\"",
        "usr 0:0 755 dir",
        "usr/bin 0:0 755 dir",
        "usr/bin/ping 0:0 4755 \"ping\"",
    ];

    fn commit_run(backend: Backend) -> (tempfile::TempDir, Snapshotter, SnapshotId) {
        let (dir, snapshotter) = store();
        let base = base(&snapshotter);
        let run = snapshotter.prepare_run(Some(&base), backend).unwrap();
        assert_eq!(run.backend(), backend);
        {
            let mounted = mount_run(&run.root(), &dir.path().join("mnt"));
            run_step(mounted.path());
        }
        let stubs: Vec<String> = STUBS.iter().map(|stub| (*stub).to_owned()).collect();
        let top = run.commit(&stubs).unwrap();
        (dir, snapshotter, top)
    }

    fn check_committed_run(snapshotter: &Snapshotter, top: &SnapshotId) {
        let view = snapshotter.view(top).unwrap();
        let mut expected: Vec<String> = EXPECTED_VIEW
            .iter()
            .map(|line| (*line).to_owned())
            .collect();
        expected.extend(
            [
                "var 0:0 755 dir",
                "var/cache 0:0 755 dir",
                "var/cache/c 0:0 644 \"c\"",
            ]
            .map(str::to_owned),
        );
        assert_eq!(listing(&view), expected);
        let ping = view.metadata(Path::new("/usr/bin/ping")).unwrap().unwrap();
        assert_eq!(
            ping.xattrs.get("security.capability").map(Vec::as_slice),
            Some(&b"\x01\x00\x00\x02"[..]),
            "an xattr kept in metadata survives a change of the file"
        );
        // Both backends write the same layer: changes, one whiteout, one
        // opaque directory, parents; no stub, nothing unchanged.
        assert_eq!(
            tar_names(snapshotter, top),
            [
                ".wh.doomed 0:0 0",
                "app/ 0:0 755",
                "app/new 1000:1000 600",
                "etc/ 0:0 755",
                "etc/.wh.motd 0:0 0",
                "etc/passwd 0:0 644",
                "home/ 0:0 755",
                "home/user/ 1000:1000 700",
                "home/user/.profile 1000:1000 644",
                "mnt/ 0:0 755",
                "mnt/data/ 0:0 755",
                "mnt/data/kept 0:0 644",
                "opt/ 0:0 755",
                "opt/dir 0:0 644",
                "srv/ 0:0 755",
                "srv/f 0:0 644",
                "usr/ 0:0 755",
                "usr/bin/ 0:0 755",
                "usr/bin/ping 0:0 4755",
                "var/ 0:0 755",
                "var/cache/ 0:0 755",
                "var/cache/.wh..wh..opq 0:0 0",
                "var/cache/c 0:0 644",
            ]
        );
    }

    #[test]
    fn overlay_run_commits_whiteouts_opaque_dirs_and_changes() {
        if !is_root() {
            eprintln!("skipping: mounting overlay in a test needs root");
            return;
        }
        let (_dir, snapshotter, top) = commit_run(Backend::Overlay);
        check_committed_run(&snapshotter, &top);
    }

    #[test]
    fn native_run_commits_whiteouts_opaque_dirs_and_changes() {
        if !is_root() {
            eprintln!("skipping: chown to 1000 in the RUN step needs root");
            return;
        }
        let (_dir, snapshotter, top) = commit_run(Backend::Native);
        check_committed_run(&snapshotter, &top);
    }

    #[test]
    fn run_keeps_owners_only_metadata_held_and_records_new_xattrs() {
        if !is_root() {
            eprintln!("skipping: mounting overlay in a test needs root");
            return;
        }
        for backend in [Backend::Overlay, Backend::Native] {
            let (dir, snapshotter) = store();
            // Only root mapped, as for a rootless caller: 1000 lives in
            // entries.json, the disk says 0.
            let snapshotter = snapshotter.with_id_map(crate::IdMap::single(0, 0));
            let base = base(&snapshotter);
            let run = snapshotter.prepare_run(Some(&base), backend).unwrap();
            {
                let mounted = mount_run(&run.root(), &dir.path().join("mnt"));
                let root = mounted.path();
                fs_err::write(root.join("home/user/.profile"), "rewritten\n").unwrap();
                fs_err::write(root.join("home/user/new"), "new").unwrap();
                fs_err::write(root.join("tagged"), "t").unwrap();
                assert!(crate::xattrs::write(&root.join("tagged"), "user.tag", b"v").unwrap());
            }
            let top = run.commit(&[]).unwrap();
            let view = snapshotter.view(&top).unwrap();
            let owner = |path: &str| {
                let stat = view.metadata(Path::new(path)).unwrap().unwrap();
                (stat.uid, stat.gid)
            };
            assert_eq!(owner("/home/user/.profile"), (1000, 1000), "{backend:?}");
            assert_eq!(owner("/home/user"), (1000, 1000), "{backend:?}");
            // Created by the RUN as root: the disk is right.
            assert_eq!(owner("/home/user/new"), (0, 0), "{backend:?}");
            let tagged = view.metadata(Path::new("/tagged")).unwrap().unwrap();
            assert_eq!(
                tagged.xattrs.get("user.tag").map(Vec::as_slice),
                Some(&b"v"[..]),
                "{backend:?}"
            );
            assert!(
                !tagged.xattrs.keys().any(|name| name.contains("overlay")),
                "{backend:?}: {:?}",
                tagged.xattrs
            );
        }
    }

    #[test]
    fn dropped_run_snapshot_leaves_nothing() {
        let (dir, snapshotter) = store();
        let base = base(&snapshotter);
        for backend in [Backend::Overlay, Backend::Native] {
            let run = snapshotter.prepare_run(Some(&base), backend).unwrap();
            drop(run);
        }
        let staging = dir.path().join("store/staging");
        assert_eq!(crate::testutil::tree(&staging), Vec::<String>::new());
    }

    #[test]
    fn overlay_run_on_nothing_has_one_empty_lower_dir() {
        let (_dir, snapshotter) = store();
        let run = snapshotter.prepare_run(None, Backend::Overlay).unwrap();
        let RunRoot::Overlay { lower, upper, work } = run.root() else {
            panic!("overlay backend gives overlay directories");
        };
        assert_eq!(lower.len(), 1);
        assert_eq!(crate::testutil::tree(&lower[0]), Vec::<String>::new());
        assert_eq!(upper.parent(), work.parent());
        fs_err::write(upper.join("hello"), "hi").unwrap();
        let id = run.commit(&[]).unwrap();
        assert_eq!(
            listing(&snapshotter.view(&id).unwrap()),
            ["hello 0:0 644 \"hi\""]
        );
    }
}
