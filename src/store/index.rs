//! The cache index and named references. A record is a JSON file
//! `index/<key hex>.json` holding the caller's result and the blobs it needs
//! (which keeps those blobs from being pruned); a reference maps a name in a
//! namespace (e.g. `image-tag`, `docker.io/library/busybox:latest@linux/amd64`)
//! to a digest. Both are written atomically, and a hit sets the file's mtime,
//! the last-use time LRU eviction reads. What a record contains is the
//! solver's business.

use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::blobs::touch;
use super::error::{Error, Result};
use super::{INDEX, REFS, Store, check_name};
use crate::graph::Digest;

/// A record file as written: the caller's record and the blobs it needs.
#[derive(Serialize)]
struct RecordOut<'a, T> {
    blobs: &'a [Digest],
    record: &'a T,
}

#[derive(Deserialize)]
struct RecordIn<T> {
    blobs: Vec<Digest>,
    record: T,
}

/// A record's envelope, read without its content (for usage and prune).
#[derive(Deserialize)]
pub(super) struct RecordBlobs {
    pub(super) blobs: Vec<Digest>,
}

/// A reference file.
#[derive(Serialize, Deserialize)]
pub(super) struct RefFile {
    pub(super) name: String,
    pub(super) digest: Digest,
}

impl Store {
    /// Stores `record` under the cache key `key`, replacing any record there.
    /// `blobs` are the blobs the record needs: they stay while it does.
    pub fn put_record<T: Serialize>(
        &self,
        key: &Digest,
        record: &T,
        blobs: &[Digest],
    ) -> Result<()> {
        let bytes = serde_json::to_vec(&RecordOut { blobs, record })
            .map_err(|source| Error::SerializeRecord { key: *key, source })?;
        self.write_atomic(&self.record_path(key), &bytes, |path, source| {
            Error::WriteRecord { path, source }
        })
    }

    /// The record under `key`, counting the lookup as a use. A record that no
    /// longer parses as `T` (written by another xb version) or whose blobs are
    /// gone is a miss: the caller recomputes and overwrites it.
    pub fn get_record<T: DeserializeOwned>(&self, key: &Digest) -> Result<Option<T>> {
        let path = self.record_path(key);
        let Some(bytes) = read_touching(&path)? else {
            return Ok(None);
        };
        let parsed: RecordIn<T> = match serde_json::from_slice(&bytes) {
            Ok(parsed) => parsed,
            Err(error) => {
                tracing::warn!(
                    "ignoring unreadable cache record {}: {error}",
                    path.display()
                );
                return Ok(None);
            }
        };
        if let Some(missing) = parsed.blobs.iter().find(|blob| !self.has_blob(blob)) {
            tracing::debug!("cache record {key} lacks blob {missing}; treating as a miss");
            return Ok(None);
        }
        Ok(Some(parsed.record))
    }

    /// Whether a record is stored under `key` (not counted as a use).
    pub fn has_record(&self, key: &Digest) -> bool {
        self.record_path(key).is_file()
    }

    /// Points `name` in `namespace` at `digest`. `namespace` is lowercase
    /// letters, digits and `-`; `name` is any text.
    pub fn set_ref(&self, namespace: &str, name: &str, digest: &Digest) -> Result<()> {
        let path = self.ref_path(namespace, name)?;
        let directory = path.parent().expect("a ref lives in its namespace");
        super::create_dir(directory)?;
        let bytes = serde_json::to_vec(&RefFile {
            name: name.to_owned(),
            digest: *digest,
        })
        .expect("a name and a digest serialize");
        self.write_atomic(&path, &bytes, |path, source| Error::WriteRef {
            path,
            source,
        })
    }

    /// The digest `name` in `namespace` points at, counting the lookup as a use.
    pub fn get_ref(&self, namespace: &str, name: &str) -> Result<Option<Digest>> {
        let path = self.ref_path(namespace, name)?;
        let Some(bytes) = read_touching(&path)? else {
            return Ok(None);
        };
        match serde_json::from_slice::<RefFile>(&bytes) {
            Ok(file) if file.name == name => Ok(Some(file.digest)),
            Ok(_) => Ok(None),
            Err(error) => {
                tracing::warn!("ignoring unreadable reference {}: {error}", path.display());
                Ok(None)
            }
        }
    }

    pub(super) fn record_path(&self, key: &Digest) -> PathBuf {
        self.root.join(INDEX).join(format!("{}.json", key.hex()))
    }

    fn ref_path(&self, namespace: &str, name: &str) -> Result<PathBuf> {
        check_name(namespace)?;
        Ok(self
            .root
            .join(REFS)
            .join(namespace)
            .join(format!("{}.json", Digest::of(name.as_bytes()).hex())))
    }
}

/// Reads a whole small file and marks it used; `None` when it is absent.
fn read_touching(path: &Path) -> Result<Option<Vec<u8>>> {
    let read_error = |source| Error::ReadRecord {
        path: path.to_owned(),
        source,
    };
    let mut file = match fs_err::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(read_error(source)),
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(read_error)?;
    touch(&file);
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Layer {
        diff_id: String,
        size: u64,
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn records_round_trip_and_miss_when_absent() {
        let (_dir, store) = store();
        let key = Digest::of(b"key");
        assert_eq!(store.get_record::<Layer>(&key).unwrap(), None);
        let (blob, _) = store.write_blob(None, &b"layer"[..]).unwrap();
        let layer = Layer {
            diff_id: "x".into(),
            size: 5,
        };
        store.put_record(&key, &layer, &[blob]).unwrap();
        assert!(store.has_record(&key));
        assert_eq!(store.get_record::<Layer>(&key).unwrap(), Some(layer));
        let text = fs_err::read_to_string(store.record_path(&key)).unwrap();
        assert!(text.contains(&blob.to_string()), "{text}");
    }

    #[test]
    fn record_hit_updates_last_use() {
        let (_dir, store) = store();
        let key = Digest::of(b"key");
        store.put_record(&key, &1u32, &[]).unwrap();
        let path = store.record_path(&key);
        let old = SystemTime::now() - Duration::from_secs(3600);
        fs_err::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(store.get_record::<u32>(&key).unwrap(), Some(1));
        let used = fs_err::metadata(&path).unwrap().modified().unwrap();
        assert!(used > old + Duration::from_secs(3000));
    }

    #[test]
    fn record_of_another_shape_or_missing_blob_is_a_miss() {
        let (_dir, store) = store();
        let key = Digest::of(b"key");
        store.put_record(&key, &"text", &[]).unwrap();
        assert_eq!(store.get_record::<Layer>(&key).unwrap(), None);
        store
            .put_record(&key, &"text", &[Digest::of(b"gone")])
            .unwrap();
        assert_eq!(store.get_record::<String>(&key).unwrap(), None);
    }

    #[test]
    fn record_written_to_scratch_but_not_renamed_is_invisible() {
        let (_dir, store) = store();
        let key = Digest::of(b"key");
        // What a crash mid-write leaves: a partial file in scratch.
        let (temp, _) = store.owner.create_file("write").unwrap();
        fs_err::write(&temp, br#"{"blobs":[],"rec"#).unwrap();
        assert_eq!(store.get_record::<String>(&key).unwrap(), None);
        assert!(!store.has_record(&key));
    }

    #[test]
    fn refs_map_names_to_digests_per_namespace() {
        let (_dir, store) = store();
        let name = "docker.io/library/busybox:latest@linux/amd64";
        let digest = Digest::of(b"manifest");
        assert_eq!(store.get_ref("image-tag", name).unwrap(), None);
        store.set_ref("image-tag", name, &digest).unwrap();
        assert_eq!(store.get_ref("image-tag", name).unwrap(), Some(digest));
        assert_eq!(store.get_ref("other", name).unwrap(), None);
        let newer = Digest::of(b"manifest v2");
        store.set_ref("image-tag", name, &newer).unwrap();
        assert_eq!(store.get_ref("image-tag", name).unwrap(), Some(newer));
        assert!(matches!(
            store.set_ref("Image Tag", name, &digest),
            Err(Error::InvalidName { .. })
        ));
    }
}
