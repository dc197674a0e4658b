//! A snapshot's merged filesystem as one tar (for `type=tar` and
//! `type=local`): entries in sorted order, owners and modes as the image
//! says, times clamped to `SOURCE_DATE_EPOCH` when given. Sockets are left
//! out; hard-linked files are written as separate files.

use std::io::{self, Write};
use std::path::Path;

use xb_snapshotter::{EntryKind, View};

fn other(error: xb_snapshotter::Error) -> io::Error {
    io::Error::other(error)
}

/// Writes everything `view` shows into `out` as a tar.
pub fn write_view_tar(view: &View, out: &mut dyn Write, epoch: Option<i64>) -> io::Result<()> {
    let mut builder = tar::Builder::new(out);
    builder.mode(tar::HeaderMode::Complete);
    walk(view, Path::new("/"), &mut builder, epoch)?;
    builder.finish()
}

fn walk(
    view: &View,
    dir: &Path,
    builder: &mut tar::Builder<&mut dyn Write>,
    epoch: Option<i64>,
) -> io::Result<()> {
    for name in view.read_dir(dir).map_err(other)? {
        let path = dir.join(&name);
        let Some(stat) = view.metadata(&path).map_err(other)? else {
            continue;
        };
        let relative = path.strip_prefix("/").unwrap_or(&path);
        let mut header = tar::Header::new_gnu();
        header.set_uid(u64::from(stat.uid));
        header.set_gid(u64::from(stat.gid));
        header.set_mode(stat.mode);
        let mtime = epoch.map_or(stat.mtime, |epoch| stat.mtime.min(epoch));
        header.set_mtime(u64::try_from(mtime).unwrap_or(0));
        match stat.kind {
            EntryKind::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                builder.append_data(&mut header, relative, io::empty())?;
                walk(view, &path, builder, epoch)?;
            }
            EntryKind::File => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(stat.size);
                let file = view.open(&path).map_err(other)?;
                builder.append_data(&mut header, relative, file)?;
            }
            EntryKind::Symlink => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                let target = stat.link_target.clone().unwrap_or_default();
                builder.append_link(&mut header, relative, target)?;
            }
            EntryKind::Char | EntryKind::Block | EntryKind::Fifo => {
                header.set_entry_type(match stat.kind {
                    EntryKind::Char => tar::EntryType::Char,
                    EntryKind::Block => tar::EntryType::Block,
                    _ => tar::EntryType::Fifo,
                });
                header.set_size(0);
                if let Some(device) = stat.device {
                    header.set_device_major(u32::try_from(device.major).unwrap_or(0))?;
                    header.set_device_minor(u32::try_from(device.minor).unwrap_or(0))?;
                }
                builder.append_data(&mut header, relative, io::empty())?;
            }
            EntryKind::Socket => {}
        }
    }
    Ok(())
}
