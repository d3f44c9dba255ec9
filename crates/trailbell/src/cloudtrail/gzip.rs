//! Decompressing whole gzip files: libdeflate for the common case, flate2 for everything else.
//!
//! libdeflate decompresses a whole buffer about twice as fast as a streaming inflater, but it
//! needs the output size in advance and reads only the first gzip member. The fast path takes the
//! size from the file's trailer (ISIZE, the size modulo 2^32), decompresses into a buffer of
//! exactly that size and then checks that the output's size and CRC-32 are those of the last
//! member's trailer, which holds only when the file is a single member. Anything else (several
//! members, a file over 4 GiB whose ISIZE wrapped, trailing bytes, a corrupt or truncated file)
//! falls back to flate2's multi-member decoder, whose answer is final: the data, or the reason it
//! cannot be read. The only files the check cannot tell from a single member are those whose
//! members all decompress to the same bytes, and those members would only repeat the first's
//! events, which a scan deduplicates anyway.
//!
//! Both paths stop at a cap on the decompressed size, so a small file that inflates to gigabytes
//! (a decompression bomb) is rejected with [`GzipError::TooLarge`] instead of exhausting memory.

use std::io::{self, Read};

use flate2::read::MultiGzDecoder;

/// The first two bytes of every gzip member.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Whether `data` starts like a gzip file.
///
/// ```
/// assert!(trailbell::cloudtrail::is_gzip(&[0x1f, 0x8b, 8, 0]));
/// assert!(!trailbell::cloudtrail::is_gzip(b"{\"Records\": []}"));
/// ```
pub fn is_gzip(data: &[u8]) -> bool {
    data.starts_with(&GZIP_MAGIC)
}

/// Why a gzip file could not be decompressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GzipError {
    /// The data is not valid gzip.
    #[error("corrupt gzip: {0}")]
    Corrupt(String),
    /// The data ends before the compressed stream does.
    #[error("truncated gzip: the data ends inside the compressed stream")]
    Truncated,
    /// The data decompresses to more than the cap.
    #[error("gzip data decompresses to more than {max_bytes} bytes, the limit for one file")]
    TooLarge {
        /// The cap.
        max_bytes: u64,
    },
}

/// A reusable gzip decompressor with a cap on the output size; one per thread.
pub struct Decompressor {
    inner: libdeflater::Decompressor,
    max_bytes: u64,
}

impl std::fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decompressor")
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

/// How much larger than its compressed form DEFLATE data can be, at most (about 1032:1), with room
/// to spare: a trailer claiming more is not believed.
const MAX_RATIO: u64 = 1100;

impl Decompressor {
    /// A decompressor that refuses output larger than `max_bytes`.
    pub fn new(max_bytes: u64) -> Decompressor {
        Decompressor {
            inner: libdeflater::Decompressor::new(),
            max_bytes,
        }
    }

    /// Decompresses the gzip file `data` into `out`, which is working memory reused across calls
    /// (its contents beyond the returned slice are unspecified), and returns the decompressed
    /// bytes.
    ///
    /// ```
    /// use std::io::Write as _;
    /// use trailbell::cloudtrail::{Decompressor, GzipError};
    ///
    /// let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    /// gz.write_all(b"{\"Records\": []}")?;
    /// let data = gz.finish()?;
    /// let mut out = Vec::new();
    /// assert_eq!(Decompressor::new(1024).decompress(&data, &mut out)?, b"{\"Records\": []}");
    /// assert_eq!(
    ///     Decompressor::new(4).decompress(&data, &mut out),
    ///     Err(GzipError::TooLarge { max_bytes: 4 })
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decompress<'o>(
        &mut self,
        data: &[u8],
        out: &'o mut Vec<u8>,
    ) -> Result<&'o [u8], GzipError> {
        if let Some(len) = self.single_member(data, out) {
            return Ok(&out[..len]);
        }
        self.multi_member(data, out)
    }

    /// The fast path: the length of the output when `data` is one gzip member whose trailer can be
    /// believed, `None` for anything else.
    fn single_member(&mut self, data: &[u8], out: &mut Vec<u8>) -> Option<usize> {
        let trailer = data.len().checked_sub(8).and_then(|at| data.get(at..))?;
        let crc = u32::from_le_bytes(trailer[..4].try_into().ok()?);
        let size = u32::from_le_bytes(trailer[4..].try_into().ok()?);
        let size_u64 = u64::from(size);
        if size_u64 > self.max_bytes || size_u64 > (data.len() as u64).saturating_mul(MAX_RATIO) {
            return None;
        }
        let size = usize::try_from(size).ok()?;
        if out.len() < size {
            out.resize(size, 0);
        }
        let written = self.inner.gzip_decompress(data, &mut out[..size]).ok()?;
        (written == size && libdeflater::crc32(&out[..size]) == crc).then_some(size)
    }

    /// The general path: every member, streamed, up to the cap.
    fn multi_member<'o>(
        &mut self,
        data: &[u8],
        out: &'o mut Vec<u8>,
    ) -> Result<&'o [u8], GzipError> {
        out.clear();
        let mut decoder = MultiGzDecoder::new(data).take(self.max_bytes.saturating_add(1));
        match decoder.read_to_end(out) {
            Ok(_) if out.len() as u64 > self.max_bytes => Err(GzipError::TooLarge {
                max_bytes: self.max_bytes,
            }),
            Ok(_) => Ok(&out[..]),
            Err(err) => Err(gzip_error(&err)),
        }
    }
}

/// The reason a flate2 decoder gave, as a [`GzipError`].
pub(crate) fn gzip_error(err: &io::Error) -> GzipError {
    match err.kind() {
        io::ErrorKind::UnexpectedEof => GzipError::Truncated,
        _ => GzipError::Corrupt(err.to_string()),
    }
}

/// A streaming decoder for gzip data of unknown length (standard input), every member in turn.
pub fn stream_decoder<R: Read>(reader: R) -> impl Read {
    MultiGzDecoder::new(reader)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).expect("in memory");
        encoder.finish().expect("in memory")
    }

    fn decompress(data: &[u8], max_bytes: u64) -> Result<Vec<u8>, GzipError> {
        let mut out = Vec::new();
        Decompressor::new(max_bytes)
            .decompress(data, &mut out)
            .map(<[u8]>::to_vec)
    }

    #[test]
    fn single_members_use_the_fast_path() {
        let text = b"{\"Records\": [{\"eventID\": \"a\"}]}".repeat(100);
        let data = gzip(&text);
        let mut out = Vec::new();
        let mut decompressor = Decompressor::new(1 << 20);
        assert_eq!(
            decompressor.single_member(&data, &mut out),
            Some(text.len())
        );
        assert_eq!(decompress(&data, 1 << 20).expect("valid"), text);
    }

    #[test]
    fn every_member_is_read() {
        for (a, b) in [
            (&b"first "[..], &b"second"[..]),
            (b"same size", b"same-size"),
            (b"", b"x"),
        ] {
            let mut data = gzip(a);
            data.extend(gzip(b));
            assert_eq!(decompress(&data, 100).expect("valid"), [a, b].concat());
        }
    }

    #[test]
    fn members_that_repeat_the_first_exactly_read_as_one() {
        // The documented blind spot of the fast path: nothing is lost but repeats.
        let data = [gzip(b"same"), gzip(b"same")].concat();
        assert_eq!(decompress(&data, 100).expect("valid"), b"same");
    }

    #[test]
    fn bombs_are_refused_whatever_the_trailer_says() {
        let text = vec![b' '; 1 << 20];
        let mut data = gzip(&text);
        assert_eq!(
            decompress(&data, 1000),
            Err(GzipError::TooLarge { max_bytes: 1000 })
        );
        // A forged trailer claiming a small size changes nothing.
        let at = data.len() - 4;
        data[at..].copy_from_slice(&10u32.to_le_bytes());
        assert_eq!(
            decompress(&data, 1000),
            Err(GzipError::TooLarge { max_bytes: 1000 })
        );
        assert_eq!(decompress(&gzip(&text), 1 << 20).expect("at the cap"), text);
    }

    #[test]
    fn truncated_and_corrupt_data_are_told_apart() {
        let data = gzip(&b"{\"Records\": []}".repeat(1000));
        for cut in [data.len() - 1, data.len() - 8, data.len() / 2, 11] {
            assert_eq!(
                decompress(&data[..cut], 1 << 20),
                Err(GzipError::Truncated),
                "cut at {cut}"
            );
        }
        let mut corrupt = data.clone();
        corrupt[12] ^= 0xff;
        corrupt[13] ^= 0x55;
        assert!(matches!(
            decompress(&corrupt, 1 << 20),
            Err(GzipError::Corrupt(_))
        ));
        let mut bad_crc = data.clone();
        let at = bad_crc.len() - 8;
        bad_crc[at] ^= 1;
        assert!(matches!(
            decompress(&bad_crc, 1 << 20),
            Err(GzipError::Corrupt(_))
        ));
        assert!(matches!(
            decompress(b"\x1f\x8bnot really", 1 << 20),
            Err(GzipError::Corrupt(_) | GzipError::Truncated)
        ));
    }
}
