//! ADD of a local archive: a tar, plain or compressed (gzip, zstd), is
//! recognised by its first bytes, not its name, and unpacked into the
//! destination. The tar goes through the snapshotter's safe apply (no entry
//! leaves the layer, links checked, owners kept), then its tree is copied
//! like any other source.

use std::io::{BufRead as _, BufReader, Read};

use super::copy::CopyError;

/// What the first bytes of a file say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    Tar,
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

/// The archive kind of a file starting with `head` (at least 262 bytes
/// when the file is that long), if it is one ADD unpacks.
pub fn archive_kind(head: &[u8]) -> Option<ArchiveKind> {
    if head.starts_with(&[0x1f, 0x8b]) {
        Some(ArchiveKind::Gzip)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(ArchiveKind::Zstd)
    } else if head.starts_with(b"BZh") {
        Some(ArchiveKind::Bzip2)
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some(ArchiveKind::Xz)
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        Some(ArchiveKind::Tar)
    } else {
        None
    }
}

/// The tar stream inside `reader`, decompressed; `None` when `reader` is
/// compressed but holds no tar (a plain `.gz` file is copied, not unpacked).
pub fn tar_stream<'a>(
    reader: Box<dyn Read + 'a>,
    kind: ArchiveKind,
    name: &str,
) -> Result<Option<Box<dyn Read + 'a>>, CopyError> {
    let read_error = |source| CopyError::ReadSource {
        path: name.to_owned(),
        source,
    };
    let decompressed: Box<dyn Read + 'a> = match kind {
        ArchiveKind::Tar => return Ok(Some(reader)),
        ArchiveKind::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        ArchiveKind::Zstd => {
            Box::new(zstd::stream::read::Decoder::new(reader).map_err(read_error)?)
        }
        ArchiveKind::Bzip2 | ArchiveKind::Xz => {
            return Err(CopyError::Unsupported(
                "ADD of a bzip2 or xz archive (gzip, zstd and plain tar are unpacked)",
            ));
        }
    };
    let mut buffered = BufReader::with_capacity(64 * 1024, decompressed);
    let head = buffered.fill_buf().map_err(read_error)?;
    if archive_kind(&head[..head.len().min(512)]) == Some(ArchiveKind::Tar) {
        Ok(Some(Box::new(buffered)))
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_magic_bytes() {
        assert_eq!(archive_kind(&[0x1f, 0x8b, 8]), Some(ArchiveKind::Gzip));
        assert_eq!(archive_kind(b"BZh91AY"), Some(ArchiveKind::Bzip2));
        let mut tar = vec![0_u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(archive_kind(&tar), Some(ArchiveKind::Tar));
        assert_eq!(archive_kind(b"just text"), None);
    }

    #[test]
    fn gzip_without_a_tar_is_not_unpacked() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, b"not really a tar").unwrap();
        let bytes = gz.finish().unwrap();
        let stream = tar_stream(Box::new(&bytes[..]), ArchiveKind::Gzip, "x.gz").unwrap();
        assert!(stream.is_none());
    }
}
