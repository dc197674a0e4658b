//! The final filesystem as an output: extracted into a directory
//! (`type=local`) or written as a tar (`type=tar`, `-` for standard
//! output). The filesystem comes as a [`Rootfs`]: a directory (a
//! snapshot's view) or a producer of its tar (the snapshotter's flattening).
//! A directory is turned into a tar here, entries sorted and times clamped
//! to `SOURCE_DATE_EPOCH` when given.

use std::collections::HashMap;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use fs_err as fs;

use super::{Error, atomic};

/// Writes the flattened filesystem as a tar into the writer it is given.
pub type RootfsTar<'a> = &'a (dyn Fn(&mut dyn Write) -> io::Result<()> + Sync);

/// Where the final filesystem comes from.
#[derive(Clone, Copy)]
pub enum Rootfs<'a> {
    /// A directory holding it.
    Directory(&'a Path),
    /// A producer of its tar.
    Tar(RootfsTar<'a>),
}

impl Rootfs<'_> {
    /// Streams the filesystem as a tar into `out`.
    fn write_tar(&self, out: &mut dyn Write, epoch: Option<u64>) -> Result<(), Error> {
        match self {
            Rootfs::Directory(root) => write_directory_tar(root, out, epoch),
            Rootfs::Tar(produce) => produce(out).map_err(Error::ProduceRootfs),
        }
    }
}

/// Writes `rootfs` as a tar at `dest` (`-`: standard output).
/// `epoch` clamps file times when the filesystem comes as a directory.
pub fn export_tar(rootfs: &Rootfs<'_>, dest: &Path, epoch: Option<u64>) -> Result<(), Error> {
    atomic::write_file(dest, |out| rootfs.write_tar(out, epoch))
}

/// Extracts `rootfs` into `dest`. A new `dest` appears whole; an existing
/// directory is written into, as buildx does. Owners are restored only when
/// running as root; modes and times always.
pub fn export_local(rootfs: &Rootfs<'_>, dest: &Path) -> Result<(), Error> {
    let extract = |target: &Path| -> Result<(), Error> {
        let (reader, mut writer) = io::pipe().map_err(Error::ProduceRootfs)?;
        std::thread::scope(|scope| {
            let producer = scope.spawn(move || {
                let result = rootfs.write_tar(&mut writer, None);
                drop(writer);
                result
            });
            let mut archive = tar::Archive::new(reader);
            archive.set_preserve_permissions(true);
            archive.set_preserve_mtime(true);
            // Owners only where they can be given: real root, or root in
            // a user namespace with subordinate ids (not the caller alone).
            archive.set_preserve_ownerships(
                xb_snapshotter::DiskOwnership::detect().is_ok_and(|disk| disk.privileged),
            );
            archive.set_overwrite(true);
            let unpacked = archive.unpack(target).map_err(|source| Error::Extract {
                path: target.to_owned(),
                source,
            });
            // Drain what the producer may still write so it never blocks.
            let mut rest = archive.into_inner();
            let _ = io::copy(&mut rest, &mut io::sink());
            let produced = producer.join().expect("the rootfs producer does not panic");
            produced.and(unpacked)
        })
    };
    if fs::symlink_metadata(dest).is_ok_and(|metadata| metadata.is_dir()) {
        extract(dest)
    } else {
        atomic::write_directory(dest, |_| Ok(()), extract)
    }
}

/// Writes the tree under `root` as a tar: entries sorted by name, owners
/// as numbers without names, hard links kept, times clamped to `epoch`.
pub fn write_directory_tar(
    root: &Path,
    out: &mut dyn Write,
    epoch: Option<u64>,
) -> Result<(), Error> {
    let mut builder = tar::Builder::new(out);
    builder.follow_symlinks(false);
    let mut links: HashMap<(u64, u64), PathBuf> = HashMap::new();
    append_tree(&mut builder, root, Path::new(""), epoch, &mut links)?;
    builder.finish().map_err(Error::ProduceRootfs)
}

fn append_tree(
    builder: &mut tar::Builder<&mut dyn Write>,
    root: &Path,
    relative: &Path,
    epoch: Option<u64>,
    links: &mut HashMap<(u64, u64), PathBuf>,
) -> Result<(), Error> {
    let directory = root.join(relative);
    let read_error = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::ReadRootfs { path, source }
    };
    let mut names: Vec<_> = fs::read_dir(&directory)
        .map_err(read_error(&directory))?
        .map(|entry| entry.map(|entry| entry.file_name()))
        .collect::<Result<_, _>>()
        .map_err(read_error(&directory))?;
    names.sort();
    for name in names {
        let path = directory.join(&name);
        let relative = relative.join(&name);
        let metadata = fs::symlink_metadata(&path).map_err(read_error(&path))?;
        let file_type = metadata.file_type();
        if std::os::unix::fs::FileTypeExt::is_socket(&file_type) {
            continue;
        }
        let mut header = tar::Header::new_gnu();
        header.set_metadata_in_mode(&metadata, tar::HeaderMode::Complete);
        // Permission bits only, as Docker's and BuildKit's tars hold them.
        header.set_mode(metadata.mode() & 0o7777);
        if let Some(epoch) = epoch {
            header.set_mtime(header.mtime().unwrap_or(0).min(epoch));
        }
        let io_error = read_error(&path);
        if file_type.is_file() && metadata.nlink() > 1 {
            let key = (metadata.dev(), metadata.ino());
            if let Some(first) = links.get(&key) {
                header.set_entry_type(tar::EntryType::Link);
                header.set_size(0);
                builder
                    .append_link(&mut header, &relative, first)
                    .map_err(io_error)?;
                continue;
            }
            links.insert(key, relative.clone());
        }
        if file_type.is_symlink() {
            let target = fs::read_link(&path).map_err(read_error(&path))?;
            builder
                .append_link(&mut header, &relative, target)
                .map_err(io_error)?;
        } else if file_type.is_file() {
            let file = fs::File::open(&path).map_err(read_error(&path))?;
            builder
                .append_data(&mut header, &relative, file)
                .map_err(io_error)?;
        } else if file_type.is_dir() {
            header.set_size(0);
            builder
                .append_data(&mut header, &relative, io::empty())
                .map_err(io_error)?;
            append_tree(builder, root, &relative, epoch, links)?;
        } else {
            // Devices and FIFOs: the header says it all.
            header.set_size(0);
            builder
                .append_data(&mut header, &relative, io::empty())
                .map_err(io_error)?;
        }
    }
    Ok(())
}
