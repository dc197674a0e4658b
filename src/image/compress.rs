//! Layer compression: one uncompressed layer tar streamed through gzip, zstd
//! or nothing into a writer while its diff id and blob digest are computed
//! ([`compress_layer`]), and a set of layers made ready for a manifest in
//! parallel, reusing blobs the store already holds ([`compress_layers`]).
//!
//! gzip is written as Go's and BuildKit's is, with no name and mtime 0 in the
//! header, so a layer always compresses to the same bytes at a given level.
//! zstd uses the `zstd` crate (the reference C library, built and linked
//! statically by the crate's build script). Where the uncompressed bytes
//! come from and where blobs are kept is the caller's business.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use fs_err as fs;
use rayon::prelude::*;
use sha2::{Digest as _, Sha256};

use super::{Blob, Error, media_type};
use crate::graph::{Digest, Digester};

/// A compression algorithm for layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompressionKind {
    Uncompressed,
    Gzip,
    Zstd,
}

impl CompressionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CompressionKind::Uncompressed => "uncompressed",
            CompressionKind::Gzip => "gzip",
            CompressionKind::Zstd => "zstd",
        }
    }

    /// Reads a `compression=` value; `estargz` is refused.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        match name {
            "uncompressed" => Ok(CompressionKind::Uncompressed),
            "gzip" => Ok(CompressionKind::Gzip),
            "zstd" => Ok(CompressionKind::Zstd),
            other => Err(Error::UnsupportedCompression(other.to_owned())),
        }
    }

    /// The levels the algorithm takes and its default.
    fn levels(self) -> (i32, i32, i32) {
        match self {
            CompressionKind::Uncompressed => (0, 0, 0),
            CompressionKind::Gzip => (0, 9, 6),
            CompressionKind::Zstd => (1, 22, 3),
        }
    }
}

/// A compression and its level (`None`: the algorithm's default, gzip 6 and
/// zstd 3 as BuildKit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compression {
    pub kind: CompressionKind,
    pub level: Option<i32>,
}

impl Default for Compression {
    fn default() -> Self {
        Self {
            kind: CompressionKind::Gzip,
            level: None,
        }
    }
}

impl Compression {
    /// Reads `compression=` and `compression-level=` values.
    pub fn parse(kind: Option<&str>, level: Option<&str>) -> Result<Self, Error> {
        let kind = kind.map_or(Ok(CompressionKind::Gzip), CompressionKind::from_name)?;
        let level = match level {
            None => None,
            Some(text) => {
                let (min, max, _) = kind.levels();
                let error = || Error::CompressionLevel {
                    value: text.to_owned(),
                    kind: kind.as_str(),
                    min,
                    max,
                };
                let value: i32 = text.parse().map_err(|_| error())?;
                if !(min..=max).contains(&value) {
                    return Err(error());
                }
                Some(value)
            }
        };
        Ok(Self { kind, level })
    }

    fn effective_level(self) -> i32 {
        self.level.unwrap_or(self.kind.levels().2)
    }
}

/// Which side of [`compress_layer`] failed.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("reading the uncompressed layer")]
    Read(#[source] io::Error),
    #[error("writing the compressed layer")]
    Write(#[source] io::Error),
}

/// The digests and size [`compress_layer`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressedLayer {
    /// Digest of the compressed bytes (the blob's name).
    pub digest: Digest,
    /// Size of the compressed bytes.
    pub size: u64,
    /// Digest of the uncompressed tar.
    pub diff_id: Digest,
}

enum Encoder<W: Write> {
    Plain(W),
    Gzip(flate2::write::GzEncoder<W>),
    Zstd(zstd::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    fn new(output: W, compression: Compression) -> io::Result<Self> {
        let level = compression.effective_level();
        Ok(match compression.kind {
            CompressionKind::Uncompressed => Encoder::Plain(output),
            CompressionKind::Gzip => Encoder::Gzip(
                flate2::GzBuilder::new()
                    .mtime(0)
                    .write(output, flate2::Compression::new(level.unsigned_abs())),
            ),
            CompressionKind::Zstd => Encoder::Zstd(zstd::Encoder::new(output, level)?),
        })
    }

    fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Plain(output) => Ok(output),
            Encoder::Gzip(encoder) => encoder.finish(),
            Encoder::Zstd(encoder) => encoder.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Plain(output) => output.write(buffer),
            Encoder::Gzip(encoder) => encoder.write(buffer),
            Encoder::Zstd(encoder) => encoder.write(buffer),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Plain(output) => output.flush(),
            Encoder::Gzip(encoder) => encoder.flush(),
            Encoder::Zstd(encoder) => encoder.flush(),
        }
    }
}

/// The blob's digest and size from `output`, flushed, and the diff id from
/// the hash of what went in.
fn finish_layer<W: Write>(
    output: Digester<W>,
    diff_id: Sha256,
) -> Result<(CompressedLayer, W), StreamError> {
    let (digest, size, mut output) = output.finish();
    output.flush().map_err(StreamError::Write)?;
    let diff_id = format!("sha256:{}", hex::encode(diff_id.finalize()))
        .parse()
        .expect("a sha256 sum formats as a digest");
    Ok((
        CompressedLayer {
            digest,
            size,
            diff_id,
        },
        output,
    ))
}

/// Uncompressed bytes per gzip chunk compressed on its own thread.
const GZIP_CHUNK: usize = 1024 * 1024;

/// Fills `buffer` from `reader` as far as it goes; returns the length.
pub(crate) fn read_full(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(count) => filled += count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// Raw deflate of one chunk: sync-flushed (byte-aligned, not final) so
/// chunks concatenate into one stream, or finished when `last`.
fn deflate_chunk(data: &[u8], level: u32, last: bool) -> io::Result<Vec<u8>> {
    let level = if is_incompressible(data)? { 0 } else { level };
    let mut encoder = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(data.len() / 2 + 64),
        flate2::Compression::new(level),
    );
    encoder.write_all(data)?;
    if last {
        return encoder.finish();
    }
    encoder.flush()?;
    Ok(std::mem::take(encoder.get_mut()))
}

/// Whether `chunk` is a whole [`GZIP_CHUNK`] of zero bytes (for data that
/// is not, this stops at the first nonzero byte).
fn is_zero_chunk(chunk: &[u8]) -> bool {
    chunk.len() == GZIP_CHUNK
        && chunk
            .chunks_exact(8)
            .all(|word| u64::from_ne_bytes(word.try_into().expect("8 bytes")) == 0)
}

/// Bytes of a chunk tried at the fastest level to judge it.
const SAMPLE: usize = 64 * 1024;

/// Whether a chunk looks already compressed or random: its first
/// [`SAMPLE`] bytes shrink by less than 2% at the fastest level. Such a
/// chunk is stored as is (as klauspost/compress, BuildKit's deflate, skips
/// incompressible data), which costs a copy instead of a search.
fn is_incompressible(data: &[u8]) -> io::Result<bool> {
    if data.len() < SAMPLE {
        return Ok(false);
    }
    let sample = &data[..SAMPLE];
    let mut encoder = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(SAMPLE + 64),
        flate2::Compression::new(1),
    );
    encoder.write_all(sample)?;
    let compressed = encoder.finish()?.len();
    Ok(compressed * 100 > SAMPLE * 98)
}

/// gzip on every core, as pigz does: the stream is cut into chunks that
/// are deflated in parallel (a few at a time, so memory stays bounded) and
/// joined into one ordinary gzip member. The output depends only on the
/// input and the level.
fn gzip_in_parallel<W: Write>(
    mut uncompressed: impl Read,
    level: u32,
    mut output: W,
) -> Result<W, StreamError> {
    // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=unknown
    output
        .write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])
        .map_err(StreamError::Write)?;
    let mut crc = crc32fast::Hasher::new();
    // Every full chunk of zeros deflates to the same bytes (chunks are
    // compressed independently): zero-filled regions (sparse or
    // preallocated files, images) are compressed once per layer.
    let zero_chunk: OnceLock<io::Result<Vec<u8>>> = OnceLock::new();
    let mut total: u64 = 0;
    let in_flight = rayon::current_num_threads().max(1) * 2;
    let mut buffers: Vec<Vec<u8>> = (0..in_flight).map(|_| vec![0_u8; GZIP_CHUNK]).collect();
    let mut finished = false;
    while !finished {
        let mut lengths = Vec::with_capacity(in_flight);
        for buffer in &mut buffers {
            let length = read_full(&mut uncompressed, buffer).map_err(StreamError::Read)?;
            lengths.push(length);
            if length < GZIP_CHUNK {
                finished = true;
                break;
            }
        }
        let count = lengths.len();
        let chunks: Vec<&[u8]> = buffers
            .iter()
            .zip(&lengths)
            .map(|(buffer, length)| &buffer[..*length])
            .collect();
        for chunk in &chunks {
            crc.update(chunk);
            total += chunk.len() as u64;
        }
        let compressed: Vec<Vec<u8>> = chunks
            .par_iter()
            .enumerate()
            .map(|(index, chunk)| {
                let last = finished && index + 1 == count;
                if !last && is_zero_chunk(chunk) {
                    return match zero_chunk.get_or_init(|| deflate_chunk(chunk, level, false)) {
                        Ok(bytes) => Ok(bytes.clone()),
                        Err(error) => Err(io::Error::new(error.kind(), error.to_string())),
                    };
                }
                deflate_chunk(chunk, level, last)
            })
            .collect::<io::Result<_>>()
            .map_err(StreamError::Write)?;
        for block in &compressed {
            output.write_all(block).map_err(StreamError::Write)?;
        }
    }
    output
        .write_all(&crc.finalize().to_le_bytes())
        .map_err(StreamError::Write)?;
    // ISIZE is the length modulo 2^32.
    let size_mod = u32::try_from(total & u64::from(u32::MAX)).expect("masked to 32 bits");
    output
        .write_all(&size_mod.to_le_bytes())
        .map_err(StreamError::Write)?;
    Ok(output)
}

/// Streams `uncompressed` through `compression` into `output`, hashing
/// nothing: for callers that already know the diff id (the layer diff
/// computes it) and whose output names the blob (the store's blob writer
/// hashes what it is given). Each SHA-256 pass over a 300 MB layer costs
/// about 0.2 s here.
pub fn compress_stream<W: Write>(
    mut uncompressed: impl Read,
    compression: Compression,
    output: W,
) -> Result<W, StreamError> {
    if compression.kind == CompressionKind::Gzip {
        let level = compression.effective_level().unsigned_abs();
        return gzip_in_parallel(uncompressed, level, output);
    }
    let mut encoder = Encoder::new(output, compression).map_err(StreamError::Write)?;
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let count = match uncompressed.read(&mut buffer) {
            Ok(0) => break,
            Ok(count) => count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(StreamError::Read(error)),
        };
        encoder
            .write_all(&buffer[..count])
            .map_err(StreamError::Write)?;
    }
    encoder.finish().map_err(StreamError::Write)
}

/// A reader that hashes what passes through it.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let count = self.inner.read(buffer)?;
        self.hasher.update(&buffer[..count]);
        Ok(count)
    }
}

/// Streams `uncompressed` through `compression` into `output`, returning
/// the blob digest and size and the layer's diff id.
pub fn compress_layer<W: Write>(
    uncompressed: impl Read,
    compression: Compression,
    output: W,
) -> Result<(CompressedLayer, W), StreamError> {
    let mut input = HashingReader {
        inner: uncompressed,
        hasher: Sha256::new(),
    };
    let output = compress_stream(&mut input, compression, Digester::new(output))?;
    finish_layer(output, input.hasher)
}

/// Opens a layer's uncompressed tar stream.
pub type OpenLayer<'a> = &'a (dyn Fn() -> io::Result<Box<dyn Read>> + Sync);

/// A layer to put in a manifest: its diff id, the compressed blobs the
/// store already has for it, and how to read it uncompressed.
pub struct LayerBlob<'a> {
    pub diff_id: Digest,
    /// Blobs already stored for this layer (any compression).
    pub compressed: Vec<Blob>,
    /// Called only when no stored blob can be used.
    pub open_uncompressed: OpenLayer<'a>,
}

/// Picks a stored blob to reuse: one in the requested compression, or,
/// unless `force`, any one (BuildKit keeps base layers as they were).
fn reusable<'b>(layer: &'b LayerBlob<'_>, kind: CompressionKind, force: bool) -> Option<&'b Blob> {
    let known = |blob: &&Blob| media_type::layer_compression(&blob.media_type).is_some();
    layer
        .compressed
        .iter()
        .filter(known)
        .find(|blob| media_type::layer_compression(&blob.media_type) == Some(kind))
        .or_else(|| {
            if force {
                None
            } else {
                layer.compressed.iter().find(known)
            }
        })
}

/// The path of a blob under `blob_dir` (`<blob_dir>/sha256/<hex>`).
pub fn blob_path(blob_dir: &Path, digest: &Digest) -> PathBuf {
    blob_dir.join("sha256").join(digest.hex())
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn write_blob(
    layer: &LayerBlob<'_>,
    compression: Compression,
    blob_dir: &Path,
) -> Result<Blob, Error> {
    let directory = blob_dir.join("sha256");
    let temp = directory.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::WriteLayer { path, source }
    };
    fs::create_dir_all(&directory).map_err(write_error(&directory))?;
    let reader = (layer.open_uncompressed)().map_err(|source| Error::ReadLayer {
        diff_id: layer.diff_id,
        source,
    })?;
    let file = fs::File::create(&temp).map_err(write_error(&temp))?;
    let result = compress_layer(reader, compression, io::BufWriter::new(file));
    let finished = match result {
        Ok((compressed, writer)) => writer
            .into_inner()
            .map_err(io::IntoInnerError::into_error)
            .map(|_| compressed)
            .map_err(write_error(&temp)),
        Err(StreamError::Read(source)) => Err(Error::ReadLayer {
            diff_id: layer.diff_id,
            source,
        }),
        Err(StreamError::Write(source)) => Err(Error::WriteLayer {
            path: temp.clone(),
            source,
        }),
    };
    let compressed = match finished {
        Ok(compressed) if compressed.diff_id != layer.diff_id => Err(Error::DiffIdMismatch {
            diff_id: layer.diff_id,
            actual: compressed.diff_id,
        }),
        other => other,
    };
    let compressed = match compressed {
        Ok(compressed) => compressed,
        Err(error) => {
            // Best effort: a leftover temp file is only litter.
            let _ = fs::remove_file(&temp);
            return Err(error);
        }
    };
    let path = blob_path(blob_dir, &compressed.digest);
    fs::rename(&temp, &path).map_err(write_error(&path))?;
    Ok(Blob {
        digest: compressed.digest,
        size: compressed.size,
        media_type: media_type::layer(compression.kind, true).to_owned(),
        path,
    })
}

/// Makes every layer ready for a manifest, in parallel: a stored blob is
/// reused when one has the requested compression (or, unless `force`, any compression), others are compressed into
/// `<blob_dir>/sha256/<hex>` (written to a temporary name, then renamed).
/// Media types come back in the OCI spelling; the manifest converts them.
pub fn compress_layers(
    layers: &[LayerBlob<'_>],
    compression: Compression,
    force: bool,
    blob_dir: &Path,
) -> Result<Vec<Blob>, Error> {
    layers
        .par_iter()
        .map(|layer| match reusable(layer, compression.kind, force) {
            Some(blob) => Ok(blob.clone()),
            None => write_blob(layer, compression, blob_dir),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    #[test]
    fn parallel_gzip_is_one_ordinary_member_and_deterministic() {
        // Several chunks, some compressible, ending mid-chunk.
        let mut data = Vec::new();
        for i in 0..(3 * GZIP_CHUNK + 12_345) {
            data.push(
                u8::try_from((i * 7919) % 251).unwrap() ^ u8::try_from(i / 4096 % 2).unwrap(),
            );
        }
        for input in [&data[..], &data[..GZIP_CHUNK], &[][..]] {
            let gzip = Compression {
                kind: CompressionKind::Gzip,
                level: Some(6),
            };
            let (first, bytes) = compress_layer(input, gzip, Vec::new()).unwrap();
            let again = compress_stream(input, gzip, Vec::new()).unwrap();
            assert_eq!(bytes, again);
            assert_eq!(first.digest, Digest::of(&bytes));
            // A single-member reader sees everything: one gzip member.
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_end(&mut plain)
                .unwrap();
            assert_eq!(plain, input);
            assert_eq!(first.diff_id, Digest::of(input));
        }
    }

    #[test]
    fn zero_filled_chunks_come_out_as_if_each_were_compressed() {
        let gzip = Compression {
            kind: CompressionKind::Gzip,
            level: Some(6),
        };
        // Zero chunks between, before and after data, and a zero tail.
        let mut data = vec![0_u8; 3 * GZIP_CHUNK];
        data.extend((0..GZIP_CHUNK + 99).map(|i| u8::try_from(i % 7).unwrap()));
        data.extend(vec![0_u8; 2 * GZIP_CHUNK + 5]);
        let compressed = compress_stream(&data[..], gzip, Vec::new()).unwrap();
        // The same stream as deflating every chunk on its own.
        let mut expected = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        let chunks: Vec<&[u8]> = data.chunks(GZIP_CHUNK).collect();
        for (index, chunk) in chunks.iter().enumerate() {
            expected.extend(deflate_chunk(chunk, 6, index + 1 == chunks.len()).unwrap());
        }
        let mut crc = crc32fast::Hasher::new();
        crc.update(&data);
        expected.extend(crc.finalize().to_le_bytes());
        expected.extend(u32::try_from(data.len()).unwrap().to_le_bytes());
        assert_eq!(compressed, expected);
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&compressed[..])
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, data);
    }

    fn sample_tar() -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        let body = b"hello, layer\n".repeat(100);
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, "etc/greeting", body.as_slice())
            .unwrap();
        builder.into_inner().unwrap()
    }

    fn decompress(kind: CompressionKind, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match kind {
            CompressionKind::Uncompressed => out.extend_from_slice(bytes),
            CompressionKind::Gzip => {
                flate2::read::MultiGzDecoder::new(bytes)
                    .read_to_end(&mut out)
                    .unwrap();
            }
            CompressionKind::Zstd => {
                zstd::Decoder::new(bytes)
                    .unwrap()
                    .read_to_end(&mut out)
                    .unwrap();
            }
        }
        out
    }

    #[test]
    fn compress_layer_round_trips_and_names_both_digests() {
        let tar = sample_tar();
        for kind in [
            CompressionKind::Uncompressed,
            CompressionKind::Gzip,
            CompressionKind::Zstd,
        ] {
            let compression = Compression { kind, level: None };
            let (layer, bytes) =
                compress_layer(Cursor::new(&tar), compression, Vec::new()).unwrap();
            assert_eq!(layer.diff_id, Digest::of(&tar));
            assert_eq!(layer.digest, Digest::of(&bytes));
            assert_eq!(layer.size, bytes.len() as u64);
            assert_eq!(decompress(kind, &bytes), tar, "{kind:?}");
            if kind != CompressionKind::Uncompressed {
                assert!(bytes.len() < tar.len(), "{kind:?} did not shrink the layer");
            }
        }
    }

    #[test]
    fn gzip_is_deterministic_with_a_bare_header() {
        let tar = sample_tar();
        let compress = || {
            compress_layer(Cursor::new(&tar), Compression::default(), Vec::new())
                .unwrap()
                .1
        };
        let first = compress();
        assert_eq!(first, compress());
        // Magic, deflate, no flags (no name, no comment), mtime 0.
        assert_eq!(&first[..8], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn compression_parses_levels_within_range() {
        let zstd = Compression::parse(Some("zstd"), Some("19")).unwrap();
        assert_eq!(zstd.level, Some(19));
        assert!(Compression::parse(Some("gzip"), Some("10")).is_err());
        assert!(Compression::parse(Some("gzip"), Some("fast")).is_err());
        assert!(matches!(
            Compression::parse(Some("estargz"), None),
            Err(Error::UnsupportedCompression(_))
        ));
        assert_eq!(
            Compression::parse(None, None).unwrap(),
            Compression::default()
        );
    }

    fn stored(kind: CompressionKind) -> Blob {
        Blob {
            digest: Digest::of(kind.as_str().as_bytes()),
            size: 1,
            media_type: media_type::layer(kind, false).to_owned(),
            path: PathBuf::from("/nonexistent"),
        }
    }

    #[test]
    fn compress_layers_reuses_stored_blobs_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let tar = sample_tar();
        let open = || -> io::Result<Box<dyn Read>> { Ok(Box::new(Cursor::new(sample_tar()))) };
        let layer = LayerBlob {
            diff_id: Digest::of(&tar),
            compressed: vec![stored(CompressionKind::Gzip)],
            open_uncompressed: &open,
        };
        let zstd = Compression {
            kind: CompressionKind::Zstd,
            level: None,
        };
        let kept = compress_layers(std::slice::from_ref(&layer), zstd, false, dir.path()).unwrap();
        assert_eq!(kept[0], stored(CompressionKind::Gzip));

        let forced = compress_layers(std::slice::from_ref(&layer), zstd, true, dir.path()).unwrap();
        assert_eq!(forced[0].media_type, media_type::OCI_LAYER_ZSTD);
        assert_eq!(forced[0].path, blob_path(dir.path(), &forced[0].digest));
        let bytes = fs::read(&forced[0].path).unwrap();
        assert_eq!(Digest::of(&bytes), forced[0].digest);
        assert_eq!(decompress(CompressionKind::Zstd, &bytes), tar);
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("sha256"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");

        let gzip = Compression::default();
        let matching =
            compress_layers(std::slice::from_ref(&layer), gzip, true, dir.path()).unwrap();
        assert_eq!(matching[0], stored(CompressionKind::Gzip));
    }

    #[test]
    fn compress_layers_refuses_a_stream_that_is_not_the_layer() {
        let dir = tempfile::tempdir().unwrap();
        let open = || -> io::Result<Box<dyn Read>> { Ok(Box::new(Cursor::new(b"other".to_vec()))) };
        let layer = LayerBlob {
            diff_id: Digest::of(b"expected"),
            compressed: Vec::new(),
            open_uncompressed: &open,
        };
        let error =
            compress_layers(&[layer], Compression::default(), false, dir.path()).unwrap_err();
        assert!(matches!(error, Error::DiffIdMismatch { .. }), "{error}");
        assert_eq!(fs::read_dir(dir.path().join("sha256")).unwrap().count(), 0);
    }
}
