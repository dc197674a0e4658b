//! Writing one layer (not the chain) as a deterministic tar.
//!
//! The same layer always gives the same bytes:
//!
//! - entries sorted bytewise by path, so parents come before children;
//!   directories end in `/`; no leading `./`;
//! - GNU headers (long names as GNU long-name records), numeric uid/gid from
//!   the layer's metadata or the id-mapped owner on disk, empty user and
//!   group names, no atime or ctime;
//! - mtimes clamped to [`DiffOptions::clamp_mtime`] when set
//!   (`SOURCE_DATE_EPOCH`);
//! - whiteouts as empty `.wh.<name>` files and opaque directories as
//!   `<dir>/.wh..wh..opq` (mode 0, owner 0:0, mtime the clamp or 0);
//! - hard links as link entries to the first name in that order;
//! - extended attributes as PAX `SCHILY.xattr.<name>` records;
//! - parent-only directories with the attributes of the directory below.
//!
//! Compressing the tar is the caller's business.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::Metadata;
use std::io::{self, Write};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use fs_err::os::unix::fs::OpenOptionsExt as _;
use tar::{EntryType, Header};

use crate::apply::{OPAQUE_MARKER, WHITEOUT_PREFIX};
use crate::attrs::{self, disk_path};
use crate::digest::HashingWriter;
use crate::error::{Error, Result};
use crate::path::LayerPath;
use crate::stat::{EntryKind, EntryStat};
use crate::store::Layer;
use crate::view::View;

/// How to write a layer tar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiffOptions {
    /// Clamp every mtime to at most this many seconds since the epoch
    /// (`SOURCE_DATE_EPOCH`).
    pub clamp_mtime: Option<i64>,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffStats {
    /// `sha256:<hex>` of the uncompressed tar (the layer's diffID).
    pub diff_id: String,
    /// Bytes written.
    pub size: u64,
}

/// One tar entry to write.
enum Item {
    /// A file on disk.
    Disk(Metadata),
    /// A whiteout marker for a path of a lower layer.
    Whiteout,
    /// The opaque marker of a directory.
    Opaque,
}

pub(crate) fn diff(
    layer: &Layer,
    below: &View,
    writer: impl Write,
    options: DiffOptions,
) -> Result<DiffStats> {
    let mut items = Vec::new();
    collect(&layer.fs, &LayerPath::root(), &mut items)?;
    for path in &layer.entries.whiteouts {
        let mut name = WHITEOUT_PREFIX.to_vec();
        name.extend_from_slice(path.file_name());
        items.push((path.parent().join(&name), Item::Whiteout));
    }
    for dir in &layer.entries.opaque {
        items.push((dir.join(OPAQUE_MARKER), Item::Opaque));
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));

    // Tar writes a header, the data and padding per entry: without a
    // buffer a layer of 20,000 small files is 60,000 writes into a pipe.
    let mut builder = tar::Builder::new(io::BufWriter::with_capacity(
        DIFF_BUFFER,
        HashingWriter::new(writer),
    ));
    let mut first_names: HashMap<(u64, u64), LayerPath> = HashMap::new();
    let clamp = |mtime: i64| {
        let mtime = options.clamp_mtime.map_or(mtime, |clamp| mtime.min(clamp));
        u64::try_from(mtime).unwrap_or(0)
    };
    for (path, item) in items {
        let tar_path = Path::new(OsStr::from_bytes(path.as_bytes()));
        let write_error = |source| Error::WriteDiff {
            path: tar_path.to_owned(),
            source,
        };
        let metadata = match item {
            Item::Whiteout | Item::Opaque => {
                let mut header = Header::new_gnu();
                header.set_entry_type(EntryType::Regular);
                header.set_mode(0);
                header.set_uid(0);
                header.set_gid(0);
                header.set_size(0);
                header.set_mtime(
                    options
                        .clamp_mtime
                        .map_or(0, |epoch| u64::try_from(epoch).unwrap_or(0)),
                );
                builder
                    .append_data(&mut header, tar_path, io::empty())
                    .map_err(write_error)?;
                continue;
            }
            Item::Disk(metadata) => metadata,
        };
        let disk = disk_path(&layer.fs, &path);
        let stat = if metadata.is_dir() && layer.entries.is_implicit(&path) {
            below.dir_stat_below(0, &path)?
        } else {
            EntryStat::compose(
                &disk,
                &metadata,
                layer.entries.record(&path),
                &layer.meta.id_map,
            )?
        };
        let mut header = Header::new_gnu();
        header.set_uid(u64::from(stat.uid));
        header.set_gid(u64::from(stat.gid));
        header.set_mode(stat.mode);
        header.set_mtime(clamp(stat.mtime));
        header.set_size(0);
        if !stat.xattrs.is_empty() {
            let keys: Vec<(String, &[u8])> = stat
                .xattrs
                .iter()
                .map(|(name, value)| (format!("SCHILY.xattr.{name}"), value.as_slice()))
                .collect();
            builder
                .append_pax_extensions(keys.iter().map(|(key, value)| (key.as_str(), *value)))
                .map_err(write_error)?;
        }
        match stat.kind {
            EntryKind::File => {
                let inode = (metadata.dev(), metadata.ino());
                if metadata.nlink() > 1 {
                    if let Some(first) = first_names.get(&inode) {
                        header.set_entry_type(EntryType::Link);
                        builder
                            .append_link(&mut header, tar_path, first.to_relative())
                            .map_err(write_error)?;
                        continue;
                    }
                    first_names.insert(inode, path.clone());
                }
                header.set_entry_type(EntryType::Regular);
                header.set_size(stat.size);
                let file = fs_err::OpenOptions::new()
                    .read(true)
                    .custom_flags(nix::libc::O_NOFOLLOW)
                    .open(&disk)
                    .map_err(|source| Error::OpenFile {
                        path: disk.clone(),
                        source,
                    })?;
                builder
                    .append_data(&mut header, tar_path, file)
                    .map_err(write_error)?;
            }
            EntryKind::Dir => {
                header.set_entry_type(EntryType::Directory);
                let mut dir_path = path.as_bytes().to_vec();
                dir_path.push(b'/');
                let dir_path = PathBuf::from(std::ffi::OsString::from_vec(dir_path));
                builder
                    .append_data(&mut header, &dir_path, io::empty())
                    .map_err(write_error)?;
            }
            EntryKind::Symlink => {
                header.set_entry_type(EntryType::Symlink);
                let target = stat.link_target.unwrap_or_default();
                builder
                    .append_link(&mut header, tar_path, &target)
                    .map_err(write_error)?;
            }
            EntryKind::Char | EntryKind::Block | EntryKind::Fifo => {
                header.set_entry_type(match stat.kind {
                    EntryKind::Char => EntryType::Char,
                    EntryKind::Block => EntryType::Block,
                    _ => EntryType::Fifo,
                });
                if let Some(device) = stat.device {
                    let number = |value: u64| {
                        u32::try_from(value).map_err(|_| {
                            write_error(io::Error::other("device number out of range"))
                        })
                    };
                    header
                        .set_device_major(number(device.major)?)
                        .map_err(write_error)?;
                    header
                        .set_device_minor(number(device.minor)?)
                        .map_err(write_error)?;
                }
                builder
                    .append_data(&mut header, tar_path, io::empty())
                    .map_err(write_error)?;
            }
            // Tar has no sockets; like tar(1), leave them out.
            EntryKind::Socket => {}
        }
    }
    let finish_error = |source| Error::WriteDiff {
        path: PathBuf::new(),
        source,
    };
    let (diff_id, size) = builder
        .into_inner()
        .map_err(finish_error)?
        .into_inner()
        .map_err(|error| finish_error(error.into_error()))?
        .finish();
    Ok(DiffStats { diff_id, size })
}

/// Bytes of tar gathered before they go to the writer.
const DIFF_BUFFER: usize = 256 * 1024;

/// Every entry below `dir` of the layer directory `fs`, not following
/// symlinks.
fn collect(fs: &Path, dir: &LayerPath, items: &mut Vec<(LayerPath, Item)>) -> Result<()> {
    let disk = disk_path(fs, dir);
    let read_dir_error = |source| Error::ReadDir {
        path: disk.clone(),
        source,
    };
    for entry in fs_err::read_dir(&disk).map_err(read_dir_error)? {
        let name = entry.map_err(read_dir_error)?.file_name().into_vec();
        let path = dir.join(&name);
        if name.starts_with(WHITEOUT_PREFIX) {
            return Err(Error::ReservedName {
                path: path.to_absolute(),
            });
        }
        let metadata = attrs::lstat_existing(&disk_path(fs, &path))?;
        let is_dir = metadata.is_dir();
        items.push((path.clone(), Item::Disk(metadata)));
        if is_dir {
            collect(fs, &path, items)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::testutil::{Attrs, LayerTar, ROOT_DIR, ROOT_FILE, store};
    use crate::{SnapshotId, Snapshotter};

    fn layer() -> Vec<u8> {
        LayerTar::new()
            .dir(
                "app",
                Attrs {
                    uid: 1000,
                    gid: 1000,
                    mtime: 2_000_000_000,
                    ..ROOT_DIR
                },
            )
            .marker("app/.wh.gone")
            .file(
                "app/new",
                b"new",
                Attrs {
                    uid: 1000,
                    gid: 1000,
                    mtime: 2_000_000_000,
                    ..ROOT_FILE
                },
            )
            .file(
                "app/old",
                b"old",
                Attrs {
                    mtime: 1_000,
                    ..ROOT_FILE
                },
            )
            .hardlink(
                "app/old-link",
                "app/old",
                Attrs {
                    mtime: 1_000,
                    ..ROOT_FILE
                },
            )
            .file(
                "nobody",
                b"",
                Attrs {
                    uid: 65534,
                    gid: 65534,
                    mode: 0o600,
                    mtime: 5,
                },
            )
            .finish()
    }

    fn diff_bytes(snapshotter: &Snapshotter, id: &SnapshotId, options: DiffOptions) -> Vec<u8> {
        let mut out = Vec::new();
        snapshotter.diff(id, &mut out, options).unwrap();
        out
    }

    fn mtimes(tar: &[u8]) -> Vec<(String, u64)> {
        let mut archive = tar::Archive::new(tar);
        archive
            .entries()
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                (
                    String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
                    entry.header().mtime().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn diff_clamps_mtimes_to_source_date_epoch() {
        let (_dir, snapshotter) = store();
        let id = snapshotter.apply(&layer()[..], None).unwrap().id;
        let epoch = 1_500_000_000;
        let clamped = diff_bytes(
            &snapshotter,
            &id,
            DiffOptions {
                clamp_mtime: Some(epoch),
            },
        );
        let epoch = u64::try_from(epoch).unwrap();
        assert_eq!(
            mtimes(&clamped),
            [
                ("app/".to_owned(), epoch),
                ("app/.wh.gone".to_owned(), epoch),
                ("app/new".to_owned(), epoch),
                ("app/old".to_owned(), 1_000),
                ("app/old-link".to_owned(), 1_000),
                ("nobody".to_owned(), 5),
            ]
        );
        let unclamped = diff_bytes(&snapshotter, &id, DiffOptions::default());
        assert!(
            unclamped == layer(),
            "unclamped diff differs from the applied tar"
        );
        assert!(clamped != unclamped);
    }

    #[test]
    fn diff_is_identical_across_stores_and_runs() {
        let (_first_dir, first) = store();
        let (_second_dir, second) = store();
        let first_id = first.apply(&layer()[..], None).unwrap().id;
        let second_id = second.apply(&layer()[..], None).unwrap().id;
        let options = DiffOptions {
            clamp_mtime: Some(1_700_000_000),
        };
        let once = diff_bytes(&first, &first_id, options);
        assert!(once == diff_bytes(&first, &first_id, options));
        assert!(once == diff_bytes(&second, &second_id, options));
    }

    #[test]
    fn diff_is_read_back_by_system_tar_with_numeric_owners() {
        let (dir, snapshotter) = store();
        let id = snapshotter.apply(&layer()[..], None).unwrap().id;
        let tar_path = dir.path().join("layer.tar");
        let file = fs_err::File::create(&tar_path).unwrap();
        snapshotter.diff(&id, file, DiffOptions::default()).unwrap();
        let output = Command::new("tar")
            .args(["--numeric-owner", "-tvf"])
            .arg(&tar_path)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let listing = String::from_utf8(output.stdout).unwrap();
        let lines: Vec<(&str, &str)> = listing
            .lines()
            .map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                (fields[1], fields[5])
            })
            .collect();
        assert_eq!(
            lines,
            [
                ("1000/1000", "app/"),
                ("0/0", "app/.wh.gone"),
                ("1000/1000", "app/new"),
                ("0/0", "app/old"),
                ("0/0", "app/old-link"),
                ("65534/65534", "nobody"),
            ]
        );
        assert!(
            listing.contains("app/old-link link to app/old"),
            "{listing}"
        );
    }

    #[test]
    fn diff_refuses_files_named_like_whiteouts() {
        let (_dir, snapshotter) = store();
        let active = snapshotter.prepare(None).unwrap();
        fs_err::write(active.upper_dir().join(".wh.sneaky"), "x").unwrap();
        let id = active.commit().unwrap();
        assert!(matches!(
            snapshotter.diff(&id, io::sink(), DiffOptions::default()),
            Err(Error::ReservedName { .. })
        ));
    }

    /// Writes `bytes` as a blob of the OCI layout at `layout`; returns its
    /// descriptor fields.
    fn write_blob(layout: &Path, bytes: &[u8]) -> (String, usize) {
        use sha2::{Digest as _, Sha256};
        let hex = crate::id::to_hex(&Sha256::digest(bytes));
        fs_err::write(layout.join("blobs/sha256").join(&hex), bytes).unwrap();
        (format!("sha256:{hex}"), bytes.len())
    }

    #[test]
    fn diffs_unpack_with_umoci_whiteouts_and_owners_included() {
        let (dir, snapshotter) = store();
        let base_tar = LayerTar::new()
            .dir("etc", ROOT_DIR)
            .file("etc/motd", b"hi", ROOT_FILE)
            .file("etc/passwd", b"root:x:0:0::/:/bin/sh", ROOT_FILE)
            .finish();
        let base = snapshotter.apply(&base_tar[..], None).unwrap();
        let mut active = snapshotter.prepare(Some(&base.id)).unwrap();
        active.create_dir_all(Path::new("/app")).unwrap();
        fs_err::write(active.upper_dir().join("app/run"), "run").unwrap();
        active.set_owner(Path::new("/app/run"), 1000, 1000).unwrap();
        active.set_mode(Path::new("/app/run"), 0o750).unwrap();
        active.whiteout(Path::new("/etc/motd")).unwrap();
        let top = active.commit().unwrap();

        let layout = dir.path().join("layout");
        fs_err::create_dir_all(layout.join("blobs/sha256")).unwrap();
        fs_err::write(
            layout.join("oci-layout"),
            r#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        let mut layers = Vec::new();
        let mut diff_ids = Vec::new();
        for id in [&base.id, &top] {
            let tar = diff_bytes(&snapshotter, id, DiffOptions::default());
            let (digest, size) = write_blob(&layout, &tar);
            diff_ids.push(digest.clone());
            layers.push(serde_json::json!({
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": digest,
                "size": size,
            }));
        }
        let config = serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": { "type": "layers", "diff_ids": diff_ids },
        });
        let (config_digest, config_size) = write_blob(&layout, config.to_string().as_bytes());
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": config_size,
            },
            "layers": layers,
        });
        let (manifest_digest, manifest_size) = write_blob(&layout, manifest.to_string().as_bytes());
        let index = serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest,
                "size": manifest_size,
                "annotations": { "org.opencontainers.image.ref.name": "test" },
            }],
        });
        fs_err::write(layout.join("index.json"), index.to_string()).unwrap();

        let rootfs = dir.path().join("rootfs");
        let mut command = Command::new("umoci");
        command.args(["raw", "unpack", "--image"]);
        command
            .arg(format!("{}:test", layout.display()))
            .arg(&rootfs);
        if !crate::testutil::is_root() {
            command.arg("--rootless");
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        assert!(!rootfs.join("etc/motd").exists());
        assert!(rootfs.join("etc/passwd").exists());
        let run = fs_err::metadata(rootfs.join("app/run")).unwrap();
        {
            use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
            assert_eq!(run.permissions().mode() & 0o7777, 0o750);
            if crate::testutil::is_root() {
                assert_eq!((run.uid(), run.gid()), (1000, 1000));
            }
        }
    }
}
