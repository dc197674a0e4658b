//! Blobs by digest: `blobs/sha256/<hex>`. Writes stream into scratch while
//! hashing, are fsynced, checked against the expected digest and renamed into
//! place; reads hash as they go and fail at the end if the content no longer
//! matches its name. What a blob holds (layer, config, manifest) is the
//! caller's business.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::error::{Error, Result};
use super::{BLOBS, Store};
use crate::graph::{Digest, Digester};

impl Store {
    /// Where the blob `digest` lives (whether or not it is there).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        blob_path(&self.root, digest)
    }

    /// Whether the store holds the blob `digest`.
    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// The size of the blob `digest`.
    pub fn blob_size(&self, digest: &Digest) -> Result<u64> {
        let path = self.blob_path(digest);
        match fs_err::metadata(&path) {
            Ok(metadata) => Ok(metadata.len()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                Err(Error::MissingBlob { digest: *digest })
            }
            Err(source) => Err(Error::StatBlob { path, source }),
        }
    }

    /// Starts writing a blob; bytes written to it stream into scratch.
    /// `expected`, when given, is checked at [`BlobWriter::commit`].
    pub fn blob_writer(&self, expected: Option<Digest>) -> Result<BlobWriter<'_>> {
        let (temp, file) = self.owner.create_file("blob")?;
        Ok(BlobWriter {
            store: self,
            temp,
            expected,
            digester: Some(Digester::new(io::BufWriter::with_capacity(1 << 16, file))),
        })
    }

    /// Streams `reader` into the store and returns the blob's digest and
    /// size. With `expected`, content that hashes otherwise is an error
    /// naming both digests, and nothing is stored. A blob already present is
    /// fine.
    pub fn write_blob(
        &self,
        expected: Option<Digest>,
        mut reader: impl Read,
    ) -> Result<(Digest, u64)> {
        let mut writer = self.blob_writer(expected)?;
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            let count = match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(count) => count,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => return Err(Error::ReadBlobInput { source }),
            };
            writer
                .write_all(&buffer[..count])
                .map_err(|source| Error::WriteBlob {
                    path: writer.temp.clone(),
                    source,
                })?;
        }
        writer.commit()
    }

    /// Opens the blob `digest` for reading. Reading it to the end checks its
    /// digest: a corrupt blob fails with [`Error::CorruptBlob`] (inside an
    /// `io::Error` of kind `InvalidData`). Opening counts as a use for LRU.
    pub fn open_blob(&self, digest: &Digest) -> Result<BlobReader> {
        let path = self.blob_path(digest);
        let file = match fs_err::File::open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(Error::MissingBlob { digest: *digest });
            }
            Err(source) => return Err(Error::OpenBlob { path, source }),
        };
        touch(&file);
        let size = file
            .metadata()
            .map_err(|source| Error::StatBlob {
                path: path.clone(),
                source,
            })?
            .len();
        Ok(BlobReader {
            file,
            path,
            expected: *digest,
            size,
            digester: Some(Digester::new(io::sink())),
        })
    }
}

pub(super) fn blob_path(root: &Path, digest: &Digest) -> PathBuf {
    root.join(BLOBS).join("sha256").join(digest.hex())
}

/// Marks a file used now (its mtime is the last-use time LRU reads).
pub(super) fn touch(file: &fs_err::File) {
    if let Err(error) = file.set_modified(SystemTime::now()) {
        tracing::debug!("cannot record a use of {}: {error}", file.path().display());
    }
}

/// A blob being written; see [`Store::blob_writer`]. Dropped without
/// [`commit`](Self::commit), it leaves nothing behind.
pub struct BlobWriter<'store> {
    store: &'store Store,
    temp: PathBuf,
    expected: Option<Digest>,
    digester: Option<Digester<io::BufWriter<fs_err::File>>>,
}

impl BlobWriter<'_> {
    /// Finishes the blob: fsync, check the digest, rename into place.
    pub fn commit(mut self) -> Result<(Digest, u64)> {
        let digester = self.digester.take().expect("a writer commits once");
        let (digest, size, buffered) = digester.finish();
        let write_error = |source| Error::WriteBlob {
            path: self.temp.clone(),
            source,
        };
        let file = buffered
            .into_inner()
            .map_err(|error| write_error(error.into_error()))?;
        file.sync_all().map_err(write_error)?;
        drop(file);
        if let Some(expected) = self.expected {
            if expected != digest {
                return Err(Error::BlobDigestMismatch {
                    expected,
                    actual: digest,
                });
            }
        }
        let path = self.store.blob_path(&digest);
        // Renaming over an existing blob replaces it with identical content.
        fs_err::rename(&self.temp, &path).map_err(|source| Error::CommitBlob {
            digest,
            path,
            source,
        })?;
        Ok((digest, size))
    }
}

impl Write for BlobWriter<'_> {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        self.digester
            .as_mut()
            .expect("not yet committed")
            .write(buffer)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.digester.as_mut().expect("not yet committed").flush()
    }
}

impl Drop for BlobWriter<'_> {
    fn drop(&mut self) {
        drop(self.digester.take());
        // After a successful commit the temp is gone and this is a no-op.
        let _ = fs_err::remove_file(&self.temp);
    }
}

/// Reads a blob, checking its digest at the end; see [`Store::open_blob`].
pub struct BlobReader {
    file: fs_err::File,
    path: PathBuf,
    expected: Digest,
    size: u64,
    digester: Option<Digester<io::Sink>>,
}

impl BlobReader {
    /// The blob's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The digest the blob is stored under.
    pub fn digest(&self) -> Digest {
        self.expected
    }

    /// Where the blob lives.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Read for BlobReader {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let count = self.file.read(buffer)?;
        if count > 0 {
            if let Some(digester) = self.digester.as_mut() {
                digester.write_all(&buffer[..count])?;
            }
        } else if !buffer.is_empty() {
            if let Some(digester) = self.digester.take() {
                let (actual, _, _) = digester.finish();
                if actual != self.expected {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        Error::CorruptBlob {
                            path: self.path.clone(),
                            expected: self.expected,
                            actual,
                        },
                    ));
                }
            }
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    fn scratch_files(store: &Store) -> usize {
        fs_err::read_dir(store.temp_dir()).unwrap().count()
    }

    #[test]
    fn write_blob_stores_by_digest_and_reads_back() {
        let (_dir, store) = store();
        let (digest, size) = store.write_blob(None, &b"hello"[..]).unwrap();
        assert_eq!(digest, Digest::of(b"hello"));
        assert_eq!(size, 5);
        assert!(store.has_blob(&digest));
        assert_eq!(store.blob_size(&digest).unwrap(), 5);
        assert!(
            store
                .blob_path(&digest)
                .ends_with(format!("blobs/sha256/{}", digest.hex()))
        );
        let mut text = String::new();
        store
            .open_blob(&digest)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "hello");
        // Writing it again is fine and leaves no scratch.
        assert_eq!(
            store.write_blob(Some(digest), &b"hello"[..]).unwrap(),
            (digest, 5)
        );
        assert_eq!(scratch_files(&store), 0);
    }

    #[test]
    fn write_blob_refuses_a_digest_mismatch_naming_both() {
        let (_dir, store) = store();
        let expected = Digest::of(b"what the manifest said");
        let error = store
            .write_blob(Some(expected), &b"what arrived"[..])
            .unwrap_err();
        let message = error.to_string();
        assert!(message.contains(&expected.to_string()), "{message}");
        assert!(
            message.contains(&Digest::of(b"what arrived").to_string()),
            "{message}"
        );
        assert!(!store.has_blob(&expected));
        assert!(!store.has_blob(&Digest::of(b"what arrived")));
        assert_eq!(scratch_files(&store), 0);
    }

    #[test]
    fn blob_writer_dropped_uncommitted_leaves_nothing() {
        let (_dir, store) = store();
        let mut writer = store.blob_writer(None).unwrap();
        writer.write_all(b"partial").unwrap();
        drop(writer);
        assert_eq!(scratch_files(&store), 0);
        assert!(!store.has_blob(&Digest::of(b"partial")));
    }

    #[test]
    fn open_blob_detects_corruption_at_the_end() {
        let (_dir, store) = store();
        let (digest, _) = store.write_blob(None, &b"good content"[..]).unwrap();
        fs_err::write(store.blob_path(&digest), "evil content").unwrap();
        let mut reader = store.open_blob(&digest).unwrap();
        let error = io::copy(&mut reader, &mut io::sink()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        let inner = error.into_inner().unwrap().downcast::<Error>().unwrap();
        assert!(
            matches!(*inner, Error::CorruptBlob { expected, actual, .. }
                if expected == digest && actual == Digest::of(b"evil content")),
            "{inner}"
        );
    }

    #[test]
    fn open_blob_of_a_missing_digest_says_so() {
        let (_dir, store) = store();
        let digest = Digest::of(b"never written");
        assert!(matches!(
            store.open_blob(&digest),
            Err(Error::MissingBlob { .. })
        ));
        assert!(matches!(
            store.blob_size(&digest),
            Err(Error::MissingBlob { .. })
        ));
    }
}
