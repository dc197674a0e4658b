//! SHA-256 while streaming: the diffID of a layer tar is the digest of its
//! uncompressed bytes, computed as they pass through.

use std::io::{self, Read, Write};

use sha2::{Digest as _, Sha256};

/// Hashes and counts what is read through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// `sha256:<hex>` of everything read so far.
    pub(crate) fn digest(self) -> String {
        format!("sha256:{}", crate::id::to_hex(&self.hasher.finalize()))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.hasher.update(&buf[..read]);
        Ok(read)
    }
}

/// Hashes and counts what is written through it.
pub(crate) struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    /// `sha256:<hex>` and length of everything written.
    pub(crate) fn finish(self) -> (String, u64) {
        (
            format!("sha256:{}", crate::id::to_hex(&self.hasher.finalize())),
            self.written,
        )
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.written += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_sha256_of_the_stream() {
        let empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let mut reader = HashingReader::new(&b""[..]);
        io::copy(&mut reader, &mut io::sink()).unwrap();
        assert_eq!(reader.digest(), empty);
        let mut writer = HashingWriter::new(Vec::new());
        writer.write_all(b"abc").unwrap();
        let (digest, size) = writer.finish();
        assert_eq!(
            digest,
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(size, 3);
    }
}
