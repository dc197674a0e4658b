//! Outputs that appear whole or not at all: a file or directory is written
//! under `DEST.tmp-<pid>` and renamed to `DEST` once complete; on failure
//! the temporary is removed.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use fs_err as fs;

use super::Error;

/// `DEST.tmp-<pid>` beside `dest`.
fn temp_path(dest: &Path, tag: &str) -> PathBuf {
    let mut name = dest.file_name().unwrap_or(dest.as_os_str()).to_os_string();
    name.push(format!(".{tag}-{}", std::process::id()));
    dest.with_file_name(name)
}

/// Removes a temporary left by a failed write; a failure to remove it only
/// leaves litter, never a wrong output.
fn discard(path: &Path) {
    let _ = if path.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
}

/// Writes a file at `dest` through `write`, or to standard output for `-`.
pub(super) fn write_file(
    dest: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<(), Error>,
) -> Result<(), Error> {
    if dest == Path::new("-") {
        let stdout = io::stdout();
        let mut out = BufWriter::new(stdout.lock());
        write(&mut out)?;
        return out.flush().map_err(Error::WriteStdout);
    }
    let temp = temp_path(dest, "tmp");
    let result = (|| {
        let file = fs::File::create(&temp).map_err(|source| Error::CreateOutput {
            path: temp.clone(),
            source,
        })?;
        let mut out = BufWriter::new(file);
        write(&mut out)?;
        // No fsync: an output can be written again, and syncing a large
        // archive costs as much as writing it (buildx does not either).
        // The rename still keeps a half-written file from showing.
        out.into_inner()
            .map(drop)
            .map_err(|error| Error::WriteOutput {
                path: temp.clone(),
                source: error.into_error(),
            })
    })();
    if let Err(error) = result {
        discard(&temp);
        return Err(error);
    }
    rename(&temp, dest)
}

fn rename(from: &Path, to: &Path) -> Result<(), Error> {
    fs::rename(from, to).map_err(|source| Error::Rename {
        from: from.to_owned(),
        to: to.to_owned(),
        source,
    })
}

/// Writes a directory at `dest` through `write` (given the temporary
/// directory to fill). An existing `dest` is replaced only when `replace`
/// allows (it is checked first, so nothing is written otherwise).
pub(super) fn write_directory(
    dest: &Path,
    replace: impl FnOnce(&Path) -> Result<(), Error>,
    write: impl FnOnce(&Path) -> Result<(), Error>,
) -> Result<(), Error> {
    if dest == Path::new("-") {
        return Err(Error::DirectoryToStdout);
    }
    let exists = fs::symlink_metadata(dest).is_ok();
    if exists {
        replace(dest)?;
    }
    let temp = temp_path(dest, "tmp");
    discard(&temp);
    fs::create_dir_all(&temp).map_err(|source| Error::CreateOutput {
        path: temp.clone(),
        source,
    })?;
    if let Err(error) = write(&temp) {
        discard(&temp);
        return Err(error);
    }
    if exists {
        let old = temp_path(dest, "old");
        rename(dest, &old)?;
        if let Err(error) = rename(&temp, dest) {
            // Put the previous output back rather than leave nothing.
            let _ = fs::rename(&old, dest);
            discard(&temp);
            return Err(error);
        }
        discard(&old);
        Ok(())
    } else {
        rename(&temp, dest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_file_leaves_nothing_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.tar");
        let error = write_file(&dest, |out| {
            out.write_all(b"partial").unwrap();
            Err(Error::WriteStdout(io::Error::other("boom")))
        })
        .unwrap_err();
        assert!(matches!(error, Error::WriteStdout(_)));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        write_file(&dest, |out| {
            out.write_all(b"whole").map_err(Error::WriteStdout)
        })
        .unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"whole");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn write_directory_replaces_only_when_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("layout");
        fs::create_dir(&dest).unwrap();
        fs::write(dest.join("keep"), b"x").unwrap();
        let refused = write_directory(
            &dest,
            |path| {
                Err(Error::DestinationNotLayout {
                    path: path.to_owned(),
                })
            },
            |_| panic!("nothing is written when replacing is refused"),
        );
        assert!(refused.is_err());
        assert!(dest.join("keep").exists());
        write_directory(
            &dest,
            |_| Ok(()),
            |temp| {
                fs::write(temp.join("new"), b"y").unwrap();
                Ok(())
            },
        )
        .unwrap();
        assert!(!dest.join("keep").exists());
        assert!(dest.join("new").exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
