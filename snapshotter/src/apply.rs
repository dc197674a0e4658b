//! Applying a layer tar: streaming an uncompressed tar into a staging
//! directory (see `extract` for how each entry is written and which are
//! refused), computing its diffID on the way, and committing the result.
//!
//! Nothing half-written is ever visible: the staging directory is removed on
//! any error and renamed into the store only when the whole tar was read.
//! Decompression and digest verification of compressed blobs are the
//! caller's.

use std::io::{self, Read};

use crate::digest::HashingReader;
use crate::entries::LayerEntries;
use crate::error::{Error, Result};
use crate::extract::Extractor;
use crate::{AppliedLayer, SnapshotId, Snapshotter};

/// Whiteout prefix of OCI layers.
pub(crate) const WHITEOUT_PREFIX: &[u8] = b".wh.";
/// Opaque directory marker of OCI layers.
pub(crate) const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";

pub(crate) fn apply(
    snapshotter: &Snapshotter,
    layer_tar: impl Read,
    parent: Option<&SnapshotId>,
) -> Result<AppliedLayer> {
    let store = snapshotter.store();
    if let Some(parent) = parent {
        store.load_meta(parent)?;
    }
    let staging = store.new_staging()?;
    let mut extractor =
        Extractor::new(staging.fs(), snapshotter.id_map(), snapshotter.privileged());
    let mut reader = HashingReader::new(layer_tar);
    {
        let mut archive = tar::Archive::new(&mut reader);
        for entry in archive
            .entries()
            .map_err(|source| Error::ReadLayer { source })?
        {
            let entry = entry.map_err(|source| Error::ReadLayer { source })?;
            extractor.extract(entry)?;
        }
    }
    // The diffID covers the whole stream, end-of-archive padding included.
    io::copy(&mut reader, &mut io::sink()).map_err(|source| Error::ReadLayer { source })?;
    extractor.finish()?;
    let entries: LayerEntries = extractor.into_entries();
    let diff_id = reader.digest();
    let id = store.commit(
        staging,
        parent.cloned(),
        &entries,
        Some(diff_id.clone()),
        snapshotter.id_map().clone(),
    )?;
    Ok(AppliedLayer { id, diff_id })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

    use sha2::{Digest as _, Sha256};
    use tar::EntryType;

    use std::path::Path;

    use super::*;
    use crate::attrs::disk_path;
    use crate::path::LayerPath;
    use crate::testutil::{Attrs, LayerTar, ROOT_DIR, ROOT_FILE, is_root, store, tree};
    use crate::{DiffOptions, EntryKind};

    const USER: Attrs = Attrs {
        uid: 1000,
        gid: 1000,
        mode: 0o644,
        mtime: 1_650_000_000,
    };

    /// A layer with everything a base image may hold.
    fn rich_layer() -> Vec<u8> {
        let long_name = format!("opt/{}", "a".repeat(150));
        let long_target = format!("/usr/share/{}", "t".repeat(120));
        let su = Attrs {
            mode: 0o4755,
            ..ROOT_FILE
        };
        LayerTar::new()
            .dir("bin", ROOT_DIR)
            .file("bin/su", b"#!su\n", su)
            .hardlink("bin/sudo-link", "bin/su", su)
            .dir("dev", ROOT_DIR)
            .device("dev/fifo", EntryType::Fifo, 0, 0)
            .device("dev/null", EntryType::Char, 1, 3)
            .dir("etc", ROOT_DIR)
            .file(
                "etc/shadow",
                b"root:*:1::::::\n",
                Attrs {
                    gid: 42,
                    mode: 0o640,
                    ..ROOT_FILE
                },
            )
            .dir(
                "home",
                Attrs {
                    mode: 0o555,
                    ..ROOT_DIR
                },
            )
            .dir(
                "home/user",
                Attrs {
                    mode: 0o700,
                    ..USER
                },
            )
            .file("home/user/.profile", b"PS1='$ '\n", USER)
            .symlink(
                "home/user/link",
                "../../etc/shadow",
                Attrs {
                    mode: 0o777,
                    ..USER
                },
            )
            .file(
                "nobody",
                b"",
                Attrs {
                    uid: 65534,
                    gid: 65534,
                    mode: 0o000,
                    mtime: 7,
                },
            )
            .dir("opt", ROOT_DIR)
            .file(&long_name, b"long\n", ROOT_FILE)
            .symlink(
                "opt/long-link",
                &long_target,
                Attrs {
                    mode: 0o777,
                    ..ROOT_FILE
                },
            )
            .file_with_xattrs(
                "ping",
                b"\x7fELF",
                Attrs {
                    mode: 0o755,
                    ..ROOT_FILE
                },
                &[("security.capability", b"\x01\x00\x00\x02\x00\x20\x00\x00")],
            )
            .finish()
    }

    #[test]
    fn apply_then_diff_gives_back_the_same_bytes() {
        let (_dir, snapshotter) = store();
        let input = rich_layer();
        let applied = snapshotter.apply(&input[..], None).unwrap();
        let expected_digest = format!("sha256:{}", crate::id::to_hex(&Sha256::digest(&input)));
        assert_eq!(applied.diff_id, expected_digest);

        let mut output = Vec::new();
        let stats = snapshotter
            .diff(&applied.id, &mut output, DiffOptions::default())
            .unwrap();
        assert_eq!(stats.size, output.len() as u64);
        assert_eq!(stats.diff_id, expected_digest);
        if output != input {
            let list = |bytes: &[u8]| {
                let mut archive = tar::Archive::new(bytes);
                archive
                    .entries()
                    .unwrap()
                    .map(|entry| {
                        let entry = entry.unwrap();
                        let header = entry.header();
                        format!(
                            "{} {:?} {}:{} {:o} {}",
                            String::from_utf8_lossy(&entry.path_bytes()),
                            header.entry_type(),
                            header.uid().unwrap(),
                            header.gid().unwrap(),
                            header.mode().unwrap(),
                            header.mtime().unwrap()
                        )
                    })
                    .collect::<Vec<_>>()
            };
            assert_eq!(list(&output), list(&input));
            panic!("same entries but different bytes");
        }
    }

    #[test]
    fn apply_chowns_as_root_and_records_owners_otherwise() {
        let (_dir, snapshotter) = store();
        let applied = snapshotter.apply(&rich_layer()[..], None).unwrap();
        let layer = snapshotter.store().load_layer(&applied.id).unwrap();
        let profile = LayerPath::from_archive(b"home/user/.profile").unwrap();
        let on_disk = fs_err::metadata(disk_path(&layer.fs, &profile)).unwrap();
        let record = layer.entries.record(&profile).cloned().unwrap_or_default();
        if is_root() {
            assert_eq!((on_disk.uid(), on_disk.gid()), (1000, 1000));
            assert_eq!((record.uid, record.gid), (None, None));
        } else {
            assert_eq!(on_disk.uid(), nix::unistd::geteuid().as_raw());
            assert_eq!((record.uid, record.gid), (Some(1000), Some(1000)));
            // Unreadable and unwritable modes are kept in metadata only.
            let nobody = LayerPath::from_archive(b"nobody").unwrap();
            let mode = fs_err::metadata(disk_path(&layer.fs, &nobody))
                .unwrap()
                .permissions();
            assert_eq!(mode.mode() & 0o777, 0o600);
            assert_eq!(layer.entries.record(&nobody).unwrap().mode, Some(0));
        }
        let view = snapshotter.view(&applied.id).unwrap();
        let null = view.metadata(Path::new("/dev/null")).unwrap().unwrap();
        assert_eq!(null.kind, EntryKind::Char);
        assert_eq!(null.device, Some(crate::Device { major: 1, minor: 3 }));
        let nobody = view.metadata(Path::new("/nobody")).unwrap().unwrap();
        assert_eq!((nobody.uid, nobody.gid, nobody.mode), (65534, 65534, 0));
        let ping = view.metadata(Path::new("/ping")).unwrap().unwrap();
        assert_eq!(
            ping.xattrs.get("security.capability").map(Vec::len),
            Some(8)
        );
    }

    #[test]
    fn diff_of_a_rich_layer_is_read_by_system_tar() {
        let (dir, snapshotter) = store();
        let applied = snapshotter.apply(&rich_layer()[..], None).unwrap();
        let tar_path = dir.path().join("layer.tar");
        let file = fs_err::File::create(&tar_path).unwrap();
        snapshotter
            .diff(&applied.id, file, DiffOptions::default())
            .unwrap();
        let output = std::process::Command::new("tar")
            .env("TZ", "UTC")
            .args(["--numeric-owner", "--xattrs", "--xattrs-include=*", "-tvvf"])
            .arg(&tar_path)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        assert!(
            output.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let listing = String::from_utf8(output.stdout).unwrap();
        let listing = listing.split_whitespace().collect::<Vec<_>>().join(" ");
        for expected in [
            "-rwsr-xr-x 0/0 5",
            "bin/sudo-link link to bin/su",
            "prw-rw-rw- 0/0 0",
            "crw-rw-rw- 0/0 1,3",
            "drwx------ 1000/1000",
            "lrwxrwxrwx 1000/1000 0 2022-04-15 05:20 home/user/link -> ../../etc/shadow",
            "---------- 65534/65534",
            &format!("opt/{}", "a".repeat(150)),
            "-rwxr-xr-x* 0/0 4",
            "x: 8 security.capability",
        ] {
            assert!(listing.contains(expected), "{expected:?} not in\n{listing}");
        }
    }

    #[test]
    fn apply_keeps_hard_links() {
        let (_dir, snapshotter) = store();
        let applied = snapshotter.apply(&rich_layer()[..], None).unwrap();
        let layer = snapshotter.store().load_layer(&applied.id).unwrap();
        let inode = |name: &str| fs_err::metadata(layer.fs.join(name)).unwrap().ino();
        assert_eq!(inode("bin/su"), inode("bin/sudo-link"));
    }

    #[test]
    fn apply_reads_pax_long_names_and_times() {
        let (_dir, snapshotter) = store();
        let long = format!("deep/{}/file", "d".repeat(200));
        let mut builder = tar::Builder::new(Vec::new());
        builder
            .append_pax_extensions([
                ("path", long.as_bytes()),
                ("mtime", b"1234567890.75".as_slice()),
            ])
            .unwrap();
        let mut header = tar::Header::new_ustar();
        header.set_path("short").unwrap();
        header.set_size(3);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(1);
        header.set_cksum();
        builder.append(&header, &b"pax"[..]).unwrap();
        let applied = snapshotter
            .apply(&builder.into_inner().unwrap()[..], None)
            .unwrap();
        let view = snapshotter.view(&applied.id).unwrap();
        let stat = view.metadata(Path::new(&long)).unwrap().unwrap();
        assert_eq!((stat.size, stat.mtime), (3, 1_234_567_890));
        assert!(view.metadata(Path::new("short")).unwrap().is_none());
    }

    #[test]
    fn apply_refuses_a_truncated_tar_and_leaves_nothing() {
        let (dir, snapshotter) = store();
        let tar = rich_layer();
        let error = snapshotter.apply(&tar[..1500], None).unwrap_err();
        assert!(
            matches!(error, Error::ReadLayer { .. } | Error::ExtractEntry { .. }),
            "{error:?}"
        );
        assert_eq!(tree(&dir.path().join("store")), ["snapshots", "staging"]);
    }

    #[test]
    fn apply_records_whiteouts_and_opaque_dirs() {
        let (_dir, snapshotter) = store();
        let tar = LayerTar::new()
            .dir("etc", ROOT_DIR)
            .marker("etc/.wh.motd")
            .marker("var/cache/.wh..wh..opq")
            .finish();
        let applied = snapshotter.apply(&tar[..], None).unwrap();
        let layer = snapshotter.store().load_layer(&applied.id).unwrap();
        let path = |text: &str| LayerPath::from_archive(text.as_bytes()).unwrap();
        assert!(layer.entries.whiteouts.contains(&path("etc/motd")));
        assert!(layer.entries.opaque.contains(&path("var/cache")));
        assert!(layer.entries.is_implicit(&path("var")));
        // Markers are metadata, never files.
        assert_eq!(tree(&layer.fs), ["etc", "var", "var/cache"]);
    }

    #[test]
    fn apply_needs_an_existing_parent() {
        let (_dir, snapshotter) = store();
        let missing: SnapshotId = "0123456789abcdef0123456789abcdef".parse().unwrap();
        let error = snapshotter
            .apply(&LayerTar::new().finish()[..], Some(&missing))
            .unwrap_err();
        assert!(matches!(error, Error::FindSnapshot { .. }), "{error:?}");
    }
}
