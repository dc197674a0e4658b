//! `ADD https://…`: a `Source` vertex whose result is one layer holding the
//! downloaded file (mode 0600, its mtime from `Last-Modified`, as Docker
//! gives). With `--checksum` the checksum is the cache key, so a cached
//! build never downloads; without it the content's digest is, so the file
//! is fetched each time and the steps after it rerun only when it changed.
//! The body streams to disk through the digest; a mismatch keeps nothing.

use std::path::Path;
use std::time::SystemTime;

use crate::graph::{Digest, Digester, VertexId};

use super::{BuildExecutor, ExecuteError, Layer, Output};

/// A downloaded body in the store's scratch, removed on drop.
struct Download {
    path: std::path::PathBuf,
    digest: Digest,
    modified: Option<SystemTime>,
}

impl Drop for Download {
    fn drop(&mut self) {
        let _ = fs_err::remove_file(&self.path);
    }
}

impl BuildExecutor<'_> {
    pub(super) fn fetch_http(
        &self,
        id: VertexId,
        url: &str,
        checksum: Option<&Digest>,
        filename: Option<&str>,
    ) -> Result<(Output, bool), ExecuteError> {
        let filename = filename.unwrap_or("index.html");
        if let Some(expected) = checksum {
            let key = Self::key_of(&("http", url, expected, filename));
            return self.cached_or(id, key, || {
                let download = self.download(url)?;
                if download.digest != *expected {
                    return Err(ExecuteError::ChecksumMismatch {
                        url: url.to_owned(),
                        expected: *expected,
                        actual: download.digest,
                    });
                }
                self.commit_download(key, &download, filename)
            });
        }
        let download = self.download(url)?;
        let key = Self::key_of(&("http", url, download.digest, filename));
        self.cached_or(id, key, || self.commit_download(key, &download, filename))
    }

    fn download(&self, url: &str) -> Result<Download, ExecuteError> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let failed = |source: std::io::Error| ExecuteError::Download {
            url: url.to_owned(),
            source,
        };
        let response = self.registry.get_url(url)?;
        let modified = response
            .headers()
            .get("last-modified")
            .and_then(|value| value.to_str().ok())
            .and_then(|text| httpdate::parse_http_date(text).ok());
        let path = self.store.temp_dir().join(format!(
            "download-{}",
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let mut download = Download {
            path,
            digest: Digest::of(b""),
            modified,
        };
        let file = fs_err::File::create(&download.path).map_err(failed)?;
        let mut writer = Digester::new(file);
        let mut body = response.into_body().into_reader();
        std::io::copy(&mut body, &mut writer).map_err(failed)?;
        let (digest, _, file) = writer.finish();
        file.sync_all().map_err(failed)?;
        download.digest = digest;
        Ok(download)
    }

    fn commit_download(
        &self,
        key: Digest,
        download: &Download,
        filename: &str,
    ) -> Result<Output, ExecuteError> {
        let failed = |source: std::io::Error| ExecuteError::Download {
            url: filename.to_owned(),
            source,
        };
        let mut active = self.snapshotter.prepare(None)?;
        let disk = active.upper_dir().join(filename);
        fs_err::copy(&download.path, &disk).map_err(failed)?;
        let target = Path::new("/").join(filename);
        active.set_owner(&target, 0, 0)?;
        active.set_mode(&target, 0o600)?;
        if let Some(modified) = download.modified {
            let seconds = modified
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_secs());
            active.set_mtime(&target, i64::try_from(seconds).unwrap_or(0))?;
        }
        let snapshot = active.commit()?;
        Ok(Output {
            cache_key: key,
            layers: vec![Layer {
                snapshot,
                blob: None,
            }],
            image: None,
            local: None,
            created: super::now_seconds(),
        })
    }
}
