//! COPY against real snapshots: a context directory or another snapshot
//! copied into a writable layer, checked through the layer's diff tar.

use std::collections::BTreeMap;
use std::path::Path;

use xb_snapshotter::{DiffOptions, SnapshotId, Snapshotter};

use super::copy::{CopyError, copy_into};
use super::owner::{Ids, resolve_owner};
use super::source::{DirectoryTree, SnapshotTree};
use crate::graph::{CopyAction, Mode, Owner};
use crate::test_support::settle;

fn action(sources: &[&str], dest: &str) -> CopyAction {
    CopyAction {
        source_input: 1,
        sources: sources.iter().map(|s| (*s).to_owned()).collect(),
        dest: dest.to_owned(),
        owner: None,
        mode: None,
        parents: false,
        exclude: Vec::new(),
        unpack_archives: false,
        allow_empty_wildcard: sources.iter().all(|s| s.contains('*')),
    }
}

/// path → (uid, gid, mode, kind char) of every entry in a layer's diff.
fn layer_entries(
    snapshotter: &Snapshotter,
    id: &SnapshotId,
) -> BTreeMap<String, (u64, u64, u32, char)> {
    let mut tar = Vec::new();
    snapshotter
        .diff(id, &mut tar, DiffOptions::default())
        .unwrap();
    let mut archive = tar::Archive::new(&tar[..]);
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let header = entry.header();
            let kind = match header.entry_type() {
                tar::EntryType::Directory => 'd',
                tar::EntryType::Symlink => 'l',
                tar::EntryType::Link => 'h',
                _ => 'f',
            };
            let path = entry.path().unwrap().display().to_string();
            (
                path.trim_end_matches('/').to_owned(),
                (
                    header.uid().unwrap(),
                    header.gid().unwrap(),
                    header.mode().unwrap() & 0o7777,
                    kind,
                ),
            )
        })
        .collect()
}

/// A base layer holding /etc/passwd, /etc/group and /srv owned by 1000.
fn base(snapshotter: &Snapshotter) -> SnapshotId {
    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |path: &str, body: &[u8], mode: u32, uid: u64, kind: tar::EntryType| {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_size(body.len() as u64);
        header.set_mode(mode);
        header.set_uid(uid);
        header.set_gid(uid);
        header.set_mtime(1_700_000_000);
        builder.append_data(&mut header, path, body).unwrap();
    };
    add("etc/", b"", 0o755, 0, tar::EntryType::Directory);
    add(
        "etc/passwd",
        b"root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
        0o644,
        0,
        tar::EntryType::Regular,
    );
    add(
        "etc/group",
        b"root:x:0:\napp:x:1000:\nstaff:x:50:\n",
        0o644,
        0,
        tar::EntryType::Regular,
    );
    add("srv/", b"", 0o750, 1000, tar::EntryType::Directory);
    add(
        "srv/data.txt",
        b"data",
        0o600,
        1000,
        tar::EntryType::Regular,
    );
    let tar = builder.into_inner().unwrap();
    snapshotter.apply(&tar[..], None).unwrap().id
}

fn context() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs_err::create_dir_all(dir.path().join("src/sub")).unwrap();
    fs_err::write(dir.path().join("src/a.go"), "package a").unwrap();
    fs_err::write(dir.path().join("src/b.go"), "package b").unwrap();
    fs_err::write(dir.path().join("src/sub/c.txt"), "c").unwrap();
    fs_err::write(dir.path().join("README"), "read me").unwrap();
    dir
}

fn copy(
    snapshotter: &Snapshotter,
    parent: &SnapshotId,
    tree: &dyn super::copy::SourceTree,
    action: &CopyAction,
) -> Result<SnapshotId, CopyError> {
    let mut active = snapshotter.prepare(Some(parent)).unwrap();
    let owner = match &action.owner {
        Some(owner) => {
            let view = snapshotter.view(parent).unwrap();
            let read = |path: &str| std::io::read_to_string(view.open(Path::new(path)).ok()?).ok();
            Some(
                resolve_owner(
                    owner,
                    read("/etc/passwd").as_deref(),
                    read("/etc/group").as_deref(),
                )
                .unwrap(),
            )
        }
        None => None,
    };
    copy_into(&mut active, Some(snapshotter), tree, action, owner, None)?;
    Ok(active.commit()?)
}

#[test]
fn copy_directory_contents_with_chown_by_name() {
    let store = tempfile::tempdir().unwrap();
    let snapshotter = Snapshotter::open(store.path().to_path_buf()).unwrap();
    let base = base(&snapshotter);
    let context = context();
    let mut copy_src = action(&["src"], "/app/");
    copy_src.owner = Some(Owner {
        user: "app".into(),
        group: Some("staff".into()),
    });
    let layer = copy(
        &snapshotter,
        &base,
        &DirectoryTree::new(context.path()),
        &copy_src,
    )
    .unwrap();
    let entries = layer_entries(&snapshotter, &layer);
    assert_eq!(entries["app/a.go"].0, 1000);
    assert_eq!(entries["app/a.go"].1, 50);
    assert_eq!(
        entries["app/sub/c.txt"].0, 1000,
        "chown reaches nested files"
    );
    assert!(
        !entries.contains_key("app/src"),
        "a directory source copies its contents"
    );
}

#[test]
fn copy_from_context_gives_root_and_keeps_modes() {
    let store = tempfile::tempdir().unwrap();
    let snapshotter = Snapshotter::open(store.path().to_path_buf()).unwrap();
    let base = base(&snapshotter);
    let context = context();
    let script = context.path().join("run.sh");
    fs_err::write(&script, "#!/bin/sh\n").unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(
        &mut fs_err::metadata(&script).unwrap().permissions(),
        0o755,
    );
    fs_err::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let layer = copy(
        &snapshotter,
        &base,
        &DirectoryTree::new(context.path()),
        &action(&["run.sh"], "/usr/bin/run"),
    )
    .unwrap();
    let entries = layer_entries(&snapshotter, &layer);
    assert_eq!(entries["usr/bin/run"], (0, 0, 0o755, 'f'));
}

#[test]
fn copy_wildcards_and_multiple_sources_need_a_directory() {
    let store = tempfile::tempdir().unwrap();
    let snapshotter = Snapshotter::open(store.path().to_path_buf()).unwrap();
    let base = base(&snapshotter);
    let context = context();
    let tree = DirectoryTree::new(context.path());
    let layer = copy(&snapshotter, &base, &tree, &action(&["src/*.go"], "/go/")).unwrap();
    let entries = layer_entries(&snapshotter, &layer);
    assert!(
        entries.contains_key("go/a.go") && entries.contains_key("go/b.go"),
        "{entries:?}"
    );
    let error = copy(
        &snapshotter,
        &base,
        &tree,
        &action(&["README", "src/a.go"], "/dest"),
    )
    .unwrap_err();
    assert!(
        matches!(error, CopyError::DestinationNotDirectory),
        "{error}"
    );
    let error = copy(&snapshotter, &base, &tree, &action(&["missing.txt"], "/x")).unwrap_err();
    assert_eq!(error.to_string(), "\"missing.txt\": not found");
    // A wildcard that matches nothing is fine.
    copy(&snapshotter, &base, &tree, &action(&["*.none"], "/x/")).unwrap();
}

#[test]
fn copy_from_a_stage_keeps_owners_and_applies_chmod() {
    let store = tempfile::tempdir().unwrap();
    let snapshotter = Snapshotter::open(store.path().to_path_buf()).unwrap();
    let base = base(&snapshotter);
    let empty = snapshotter.prepare(None).unwrap().commit().unwrap();
    let stage = SnapshotTree(snapshotter.view(&base).unwrap());
    let layer = copy(&snapshotter, &empty, &stage, &action(&["/srv"], "/copied")).unwrap();
    let entries = layer_entries(&snapshotter, &layer);
    assert_eq!(entries["copied"], (1000, 1000, 0o750, 'd'));
    assert_eq!(entries["copied/data.txt"], (1000, 1000, 0o600, 'f'));
    let mut chmod = action(&["/srv/data.txt"], "/data.txt");
    chmod.mode = Some(Mode::Symbolic("go+r".into()));
    let layer = copy(&snapshotter, &empty, &stage, &chmod).unwrap();
    assert_eq!(layer_entries(&snapshotter, &layer)["data.txt"].2, 0o644);
}

#[test]
fn copy_refuses_context_symlinks_that_escape() {
    let store = tempfile::tempdir().unwrap();
    let snapshotter = Snapshotter::open(store.path().to_path_buf()).unwrap();
    let base = base(&snapshotter);
    let context = context();
    std::os::unix::fs::symlink("/etc", context.path().join("hostetc")).unwrap();
    std::os::unix::fs::symlink("../../..", context.path().join("src/up")).unwrap();
    std::os::unix::fs::symlink("src", context.path().join("inside")).unwrap();
    let tree = DirectoryTree::new(context.path());
    for source in ["hostetc/passwd", "src/up/etc/passwd", "hostetc"] {
        let error = copy(&snapshotter, &base, &tree, &action(&[source], "/x")).unwrap_err();
        assert!(
            matches!(error, CopyError::SymlinkEscapes(_)),
            "{source}: {error}"
        );
    }
    // A link that stays inside the context is followed.
    let layer = copy(
        &snapshotter,
        &base,
        &tree,
        &action(&["inside/a.go"], "/a.go"),
    )
    .unwrap();
    assert!(layer_entries(&snapshotter, &layer).contains_key("a.go"));
}

#[test]
fn owner_ids_are_plain_numbers_without_passwd() {
    let ids = resolve_owner(
        &Owner {
            user: "7".into(),
            group: None,
        },
        None,
        None,
    )
    .unwrap();
    assert_eq!(ids, Ids { uid: 7, gid: 7 });
}

#[test]
fn copy_exclude_drops_matching_paths_below_the_source() {
    let store = tempfile::tempdir().unwrap();
    let snapshotter = Snapshotter::open(store.path().to_path_buf()).unwrap();
    let base = base(&snapshotter);
    let context = context();
    let tree = DirectoryTree::new(context.path());
    let mut copy_src = action(&["src"], "/app/");
    copy_src.exclude = vec!["*.go".into()];
    let entries = layer_entries(
        &snapshotter,
        &copy(&snapshotter, &base, &tree, &copy_src).unwrap(),
    );
    assert!(
        !entries.contains_key("app/a.go") && !entries.contains_key("app/b.go"),
        "{entries:?}"
    );
    assert!(entries.contains_key("app/sub/c.txt"), "{entries:?}");
    copy_src.exclude = vec!["sub".into()];
    let entries = layer_entries(
        &snapshotter,
        &copy(&snapshotter, &base, &tree, &copy_src).unwrap(),
    );
    assert!(entries.contains_key("app/a.go"), "{entries:?}");
    assert!(
        !entries.keys().any(|path| path.starts_with("app/sub")),
        "{entries:?}"
    );
    // A wildcard match whose own name is excluded is dropped.
    let mut wildcard = action(&["src/*"], "/w/");
    wildcard.exclude = vec!["b.go".into()];
    let entries = layer_entries(
        &snapshotter,
        &copy(&snapshotter, &base, &tree, &wildcard).unwrap(),
    );
    assert!(
        entries.contains_key("w/a.go") && !entries.contains_key("w/b.go"),
        "{entries:?}"
    );
}

/// A gzip tar with `entries` (path, owner, mode, contents; a path ending
/// in `/` is a directory).
fn gzip_tar(entries: &[(&str, u64, u32, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, owner, mode, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_uid(*owner);
        header.set_gid(*owner);
        header.set_mode(*mode);
        header.set_mtime(0);
        if path.ends_with('/') {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_size(0);
        } else {
            header.set_size(data.len() as u64);
        }
        // Written raw: the builder itself refuses `..`, which is the point.
        let name = &mut header.as_old_mut().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_cksum();
        builder.append(&header, *data).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    gz.finish().unwrap()
}

#[test]
fn add_unpacks_local_archives_and_copies_other_files() {
    let store = tempfile::tempdir().unwrap();
    let snapshotter = Snapshotter::open(store.path().to_path_buf()).unwrap();
    let base = base(&snapshotter);
    let context = context();
    let bundle = gzip_tar(&[
        ("app/", 0, 0o755, b""),
        ("app/run.sh", 1000, 0o750, b"#!/bin/sh\n"),
        ("top.txt", 0, 0o644, b"top"),
    ]);
    fs_err::write(context.path().join("bundle.tgz"), bundle).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, b"not really a tar").unwrap();
    fs_err::write(context.path().join("notes.gz"), gz.finish().unwrap()).unwrap();
    let tree = DirectoryTree::new(context.path());

    let mut add = action(&["bundle.tgz"], "/opt/");
    add.unpack_archives = true;
    let entries = layer_entries(
        &snapshotter,
        &copy(&snapshotter, &base, &tree, &add).unwrap(),
    );
    assert_eq!(
        entries["opt/app/run.sh"],
        (1000, 1000, 0o750, 'f'),
        "{entries:?}"
    );
    assert!(entries.contains_key("opt/top.txt"));
    assert!(!entries.contains_key("opt/bundle.tgz"));

    // A gzip file that holds no tar is copied as it is.
    add.sources = vec!["notes.gz".into()];
    let entries = layer_entries(
        &snapshotter,
        &copy(&snapshotter, &base, &tree, &add).unwrap(),
    );
    assert!(entries.contains_key("opt/notes.gz"), "{entries:?}");

    // --unpack=false (COPY semantics) copies the archive itself.
    add.sources = vec!["bundle.tgz".into()];
    add.unpack_archives = false;
    let entries = layer_entries(
        &snapshotter,
        &copy(&snapshotter, &base, &tree, &add).unwrap(),
    );
    assert!(entries.contains_key("opt/bundle.tgz"), "{entries:?}");
}

#[test]
fn add_refuses_an_archive_entry_that_escapes() {
    let store = tempfile::tempdir().unwrap();
    let snapshotter = Snapshotter::open(store.path().to_path_buf()).unwrap();
    let base = base(&snapshotter);
    let context = context();
    let evil = gzip_tar(&[("../../escape.txt", 0, 0o644, b"out")]);
    fs_err::write(context.path().join("evil.tgz"), evil).unwrap();
    let tree = DirectoryTree::new(context.path());
    let mut add = action(&["evil.tgz"], "/opt/");
    add.unpack_archives = true;
    let error = copy(&snapshotter, &base, &tree, &add).unwrap_err();
    let text = format!("{:#}", anyhow::Error::new(error));
    assert!(
        text.contains("evil.tgz") && text.contains("escape.txt"),
        "{text}"
    );
}

#[test]
fn parents_keeps_the_path_below_the_pivot() {
    let store = tempfile::tempdir().unwrap();
    let snapshotter = Snapshotter::open(store.path().to_path_buf()).unwrap();
    let base = base(&snapshotter);
    let context = context();
    let tree = DirectoryTree::new(context.path());
    let mut parents = action(&["src/./sub/c.txt"], "/out/");
    parents.parents = true;
    let entries = layer_entries(
        &snapshotter,
        &copy(&snapshotter, &base, &tree, &parents).unwrap(),
    );
    assert!(entries.contains_key("out/sub/c.txt"), "{entries:?}");
    assert!(!entries.contains_key("out/src/sub/c.txt"), "{entries:?}");
    parents.sources = vec!["./src/./s*/*.txt".into()];
    let entries = layer_entries(
        &snapshotter,
        &copy(&snapshotter, &base, &tree, &parents).unwrap(),
    );
    assert!(entries.contains_key("out/sub/c.txt"), "{entries:?}");
    // Without a pivot, --parents keeps the whole source path.
    parents.sources = vec!["src/sub/c.txt".into()];
    let entries = layer_entries(
        &snapshotter,
        &copy(&snapshotter, &base, &tree, &parents).unwrap(),
    );
    assert!(entries.contains_key("out/src/sub/c.txt"), "{entries:?}");
}

/// Scans `dir` as a build does, for copies that may reuse earlier files.
fn scanned_tree(dir: &Path) -> DirectoryTree {
    let rules = crate::frontend::ignore::IgnoreRules::default();
    let tree = crate::source::context::scan_context(dir, &rules).unwrap();
    let checksums = crate::source::context::checksum_tree(&tree, None).unwrap();
    DirectoryTree::new(dir).with_scan(std::sync::Arc::new(
        crate::source::context::ScannedContext { tree, checksums },
    ))
}

#[test]
fn a_second_copy_links_the_files_that_did_not_change() {
    use std::os::unix::fs::MetadataExt as _;
    let store = tempfile::tempdir().unwrap();
    let snapshotter = Snapshotter::open(store.path().to_path_buf()).unwrap();
    let base = base(&snapshotter);
    let dir = context();
    for file in ["src/a.go", "src/b.go", "src/sub/c.txt", "README"] {
        settle(&dir.path().join(file));
    }
    let hint = dir.path().join("hint.json");
    let action = action(&["src"], "/app/");
    let run = |tree: &DirectoryTree| {
        let mut reuse = super::reuse::Reuse::load(&hint);
        let mut active = snapshotter.prepare(Some(&base)).unwrap();
        copy_into(
            &mut active,
            Some(&snapshotter),
            tree,
            &action,
            None,
            Some(&mut reuse),
        )
        .unwrap();
        let id = active.commit().unwrap();
        reuse.save(&hint, &id).unwrap();
        id
    };
    let first = run(&scanned_tree(dir.path()));
    fs_err::write(dir.path().join("src/b.go"), "package bee").unwrap();
    settle(&dir.path().join("src/b.go"));
    let second = run(&scanned_tree(dir.path()));

    let inode = |id: &SnapshotId, path: &str| {
        let view = snapshotter.view(id).unwrap();
        view.open(Path::new(path))
            .unwrap()
            .metadata()
            .unwrap()
            .ino()
    };
    let read = |id: &SnapshotId, path: &str| {
        std::io::read_to_string(snapshotter.view(id).unwrap().open(Path::new(path)).unwrap())
            .unwrap()
    };
    // Files come out root-owned only where this process can own files as
    // root; elsewhere the owner is an override and every file is copied.
    let own_is_root = snapshotter
        .id_map()
        .container_uid(nix::unistd::geteuid().as_raw())
        == 0;
    assert_eq!(
        inode(&first, "/app/a.go") == inode(&second, "/app/a.go"),
        own_is_root
    );
    assert_eq!(
        inode(&first, "/app/sub/c.txt") == inode(&second, "/app/sub/c.txt"),
        own_is_root
    );
    assert_ne!(inode(&first, "/app/b.go"), inode(&second, "/app/b.go"));
    assert_eq!(read(&second, "/app/a.go"), "package a");
    assert_eq!(read(&second, "/app/b.go"), "package bee");
    assert_eq!(read(&first, "/app/b.go"), "package b");
    // The layer says the same whether its files were linked or written.
    let listed = layer_entries(&snapshotter, &second);
    assert_eq!(listed, layer_entries(&snapshotter, &first));
    assert_eq!(listed["app/a.go"], (0, 0, 0o644, 'f'));
}
