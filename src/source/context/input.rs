//! Finds the Dockerfile and the build context the way `docker buildx build`
//! does: `CONTEXT` is a directory or `-`; `-f` is relative to the current
//! directory, `-` for standard input, or (with a `-` context) a path inside the
//! tar read from standard input. A lone Dockerfile on standard input gives an
//! empty context.

use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::frontend::Source;
use crate::hint::Hinted;

/// The default Dockerfile name, and the name errors use for stdin input.
pub const DEFAULT_DOCKERFILE: &str = "Dockerfile";

/// The build context a build reads files from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Context {
    /// A directory on disk.
    Directory(PathBuf),
    /// A tar archive that came on standard input (its Dockerfile already read).
    StdinArchive,
    /// No files at all: the Dockerfile came alone on standard input.
    Empty,
}

/// What `xb build` reads before it can plan anything.
#[derive(Debug, Clone)]
pub struct BuildInput {
    pub dockerfile: Source,
    /// Where the Dockerfile lives on disk, when it does (for `<Dockerfile>.dockerignore`).
    pub dockerfile_path: Option<PathBuf>,
    pub context: Context,
}

/// The compression of a tar on standard input, from its first bytes.
fn compression_of(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(&[0x1f, 0x8b]) {
        Some("gzip")
    } else if head.starts_with(b"BZh") {
        Some("bzip2")
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some("xz")
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some("zstd")
    } else {
        None
    }
}

fn is_tar(head: &[u8]) -> bool {
    head.len() >= 262 && &head[257..262] == b"ustar"
}

/// Reads `CONTEXT` and `-f` into a [`BuildInput`].
pub fn read_build_input(
    context: &Path,
    file: Option<&Path>,
    stdin: impl Read,
) -> anyhow::Result<BuildInput> {
    let dash = Path::new("-");
    if context == dash {
        if file == Some(dash) {
            bail!("cannot read both the build context and the Dockerfile from standard input");
        }
        return read_stdin_context(file, stdin);
    }
    if !context.is_dir() {
        if context.exists() {
            bail!(
                "unable to prepare context: {} is not a directory",
                context.display()
            );
        }
        let text = context.to_string_lossy();
        if text.contains("://") || text.starts_with("git@") {
            bail!(
                "remote build contexts ({text}) are not supported yet; clone or download it and pass the directory"
            );
        }
        bail!(
            "unable to prepare context: path {:?} not found",
            context.display().to_string()
        );
    }
    let dockerfile = match file {
        Some(path) if path == dash => {
            let text = read_text(stdin, "standard input")?;
            return Ok(BuildInput {
                dockerfile: Source::new(DEFAULT_DOCKERFILE, text),
                dockerfile_path: None,
                context: Context::Directory(context.to_path_buf()),
            });
        }
        Some(path) => path.to_path_buf(),
        None => {
            let default = context.join(DEFAULT_DOCKERFILE);
            let lowercase = context.join("dockerfile");
            if !default.exists() && lowercase.exists() {
                lowercase
            } else {
                default
            }
        }
    };
    let bytes = fs_err::read(&dockerfile).map_err(|error| {
        let message = format!("failed to read the Dockerfile: {error}");
        if error.kind() == io::ErrorKind::NotFound && file.is_none() {
            anyhow::Error::new(Hinted::new(
                message,
                "name the Dockerfile with -f PATH, or pass the directory that holds it",
            ))
        } else {
            anyhow::anyhow!(message)
        }
    })?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{} is not valid UTF-8 text", dockerfile.display()))?;
    let name = file.map_or(DEFAULT_DOCKERFILE.to_owned(), |path| {
        path.display().to_string()
    });
    Ok(BuildInput {
        dockerfile: Source::new(name, text),
        dockerfile_path: Some(dockerfile),
        context: Context::Directory(context.to_path_buf()),
    })
}

fn read_text(reader: impl Read, what: &str) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    BufReader::new(reader)
        .read_to_end(&mut bytes)
        .with_context(|| format!("failed to read {what}"))?;
    String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("the Dockerfile on {what} is not valid UTF-8 text"))
}

fn read_stdin_context(file: Option<&Path>, stdin: impl Read) -> anyhow::Result<BuildInput> {
    let mut reader = BufReader::with_capacity(64 * 1024, stdin);
    let head = reader
        .fill_buf()
        .context("failed to read standard input")?
        .to_vec();
    if let Some(compression) = compression_of(&head) {
        if compression != "gzip" {
            bail!(
                "a {compression}-compressed context on standard input is not supported yet; send an uncompressed or gzip tar"
            );
        }
        let decoder = flate2::bufread::GzDecoder::new(reader);
        return read_dockerfile_from_tar(decoder, file);
    }
    if is_tar(&head) {
        return read_dockerfile_from_tar(reader, file);
    }
    if let Some(path) = file {
        bail!(
            "-f {} names a file inside the context, but standard input is not a tar archive",
            path.display()
        );
    }
    let text = read_text(reader, "standard input")?;
    Ok(BuildInput {
        dockerfile: Source::new(DEFAULT_DOCKERFILE, text),
        dockerfile_path: None,
        context: Context::Empty,
    })
}

fn read_dockerfile_from_tar(reader: impl Read, file: Option<&Path>) -> anyhow::Result<BuildInput> {
    let wanted = file.unwrap_or(Path::new(DEFAULT_DOCKERFILE));
    let wanted = wanted.strip_prefix("./").unwrap_or(wanted);
    let mut archive = tar::Archive::new(reader);
    let entries = archive
        .entries()
        .context("failed to read the context tar on standard input")?;
    for entry in entries {
        let mut entry = entry.context("failed to read the context tar on standard input")?;
        let path = entry
            .path()
            .context("a context tar entry has an unreadable path")?
            .into_owned();
        let path = path.strip_prefix("./").unwrap_or(&path);
        if path == wanted {
            let text = read_text(&mut entry, "the context tar")?;
            return Ok(BuildInput {
                dockerfile: Source::new(wanted.display().to_string(), text),
                dockerfile_path: None,
                context: Context::StdinArchive,
            });
        }
    }
    bail!(
        "the context tar on standard input has no {}",
        wanted.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_with(files: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, body) in files {
            let mut header = tar::Header::new_ustar();
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, name, body.as_bytes())
                .unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn stdin_dockerfile_gives_empty_context() {
        let input = read_build_input(Path::new("-"), None, "FROM scratch\n".as_bytes()).unwrap();
        assert_eq!(input.context, Context::Empty);
        assert_eq!(input.dockerfile.text(), "FROM scratch\n");
    }

    #[test]
    fn stdin_tar_yields_its_dockerfile() {
        let tar = tar_with(&[("a.txt", "x"), ("build/Dockerfile.dev", "FROM scratch\n")]);
        let input = read_build_input(
            Path::new("-"),
            Some(Path::new("build/Dockerfile.dev")),
            &tar[..],
        )
        .unwrap();
        assert_eq!(input.context, Context::StdinArchive);
        assert_eq!(input.dockerfile.name(), "build/Dockerfile.dev");
        let error = read_build_input(Path::new("-"), None, &tar[..]).unwrap_err();
        assert!(error.to_string().contains("has no Dockerfile"), "{error}");
    }

    #[test]
    fn stdin_gzip_tar_is_read() {
        use std::io::Write as _;
        let tar = tar_with(&[("Dockerfile", "FROM scratch\n")]);
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&tar).unwrap();
        let gz = encoder.finish().unwrap();
        let input = read_build_input(Path::new("-"), None, &gz[..]).unwrap();
        assert_eq!(input.dockerfile.text(), "FROM scratch\n");
    }

    #[test]
    fn directory_context_errors_name_the_path() {
        let error = read_build_input(Path::new("/nonexistent/ctx"), None, io::empty()).unwrap_err();
        assert!(error.to_string().contains("/nonexistent/ctx"), "{error}");
        let dir = tempfile::tempdir().unwrap();
        let error = read_build_input(dir.path(), None, io::empty()).unwrap_err();
        assert!(
            error.to_string().contains("failed to read the Dockerfile"),
            "{error}"
        );
        let error =
            read_build_input(Path::new("-"), Some(Path::new("-")), io::empty()).unwrap_err();
        assert!(error.to_string().contains("both"), "{error}");
    }
}
