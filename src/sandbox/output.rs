//! Output capture: one combined cap of [`OUTPUT_CAP_BYTES`] across stdout and stderr keeping the
//! head (first bytes in arrival order), extra bytes read and dropped so the child never blocks on
//! a full pipe and host memory stays bounded; decoded as UTF-8 after capture; truncation marker
//! `\n... (truncated)` appended to stderr when it is non-blank, else to stdout (node-host-surface
//! §6.2, `applyOutputTruncation`).

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt};

use super::OUTPUT_CAP_BYTES;

/// The marker appended when output was cut.
pub const TRUNCATION_MARKER: &str = "\n... (truncated)";

#[derive(Debug, Default)]
struct Inner {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    used: usize,
    truncated: bool,
}

/// Shared capture state of one run.
#[derive(Debug, Clone, Default)]
pub struct Capture {
    inner: Arc<Mutex<Inner>>,
    cap: usize,
}

/// Which stream a reader feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Capture {
    /// A capture with the standard cap.
    pub fn new() -> Self {
        Self::with_cap(OUTPUT_CAP_BYTES)
    }

    /// A capture with a custom cap (tests).
    pub fn with_cap(cap: usize) -> Self {
        Self {
            inner: Arc::default(),
            cap,
        }
    }

    /// Account `chunk` read from `stream`.
    pub fn push(&self, stream: Stream, chunk: &[u8]) {
        let Ok(mut g) = self.inner.lock() else {
            return;
        };
        let room = self.cap.saturating_sub(g.used);
        let take = room.min(chunk.len());
        if take < chunk.len() {
            g.truncated = true;
        }
        if take > 0 {
            g.used += take;
            let head = chunk.get(..take).unwrap_or_default();
            match stream {
                Stream::Stdout => g.stdout.extend_from_slice(head),
                Stream::Stderr => g.stderr.extend_from_slice(head),
            }
        }
    }

    /// Read `reader` to EOF into the capture.
    pub async fn pump<R: AsyncRead + Unpin>(self, stream: Stream, mut reader: R) {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => self.push(stream, buf.get(..n).unwrap_or_default()),
            }
        }
    }

    /// Decoded `(stdout, stderr)` with the truncation marker applied.
    pub fn finish(&self) -> (String, String) {
        let Ok(g) = self.inner.lock() else {
            return (String::new(), String::new());
        };
        let mut stdout = decode(&g.stdout);
        let mut stderr = decode(&g.stderr);
        if g.truncated {
            if !stderr.trim().is_empty() {
                stderr.push_str(TRUNCATION_MARKER);
            } else {
                stdout.push_str(TRUNCATION_MARKER);
            }
        }
        (stdout, stderr)
    }

    /// Whether bytes were dropped.
    pub fn truncated(&self) -> bool {
        self.inner.lock().map(|g| g.truncated).unwrap_or(false)
    }
}

/// UTF-8 decode; a multibyte character cut by the cap at the very end is dropped rather than
/// turned into U+FFFD; other invalid bytes become U+FFFD.
fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(e) if e.error_len().is_none() => {
            String::from_utf8_lossy(bytes.get(..e.valid_up_to()).unwrap_or_default()).into_owned()
        }
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_is_combined_across_streams_and_keeps_the_head() {
        let c = Capture::with_cap(10);
        c.push(Stream::Stdout, b"123456");
        c.push(Stream::Stderr, b"abcdef");
        c.push(Stream::Stdout, b"zzz");
        assert!(c.truncated());
        let (o, e) = c.finish();
        assert_eq!(o, "123456");
        assert_eq!(e, format!("abcd{TRUNCATION_MARKER}"));
    }

    #[test]
    fn marker_goes_to_stdout_when_stderr_is_blank() {
        let c = Capture::with_cap(4);
        c.push(Stream::Stderr, b"  ");
        c.push(Stream::Stdout, b"hello");
        let (o, e) = c.finish();
        assert_eq!(o, format!("he{TRUNCATION_MARKER}"));
        assert_eq!(e, "  ");
    }

    #[test]
    fn exactly_at_cap_is_not_truncated() {
        let c = Capture::with_cap(5);
        c.push(Stream::Stdout, b"12345");
        assert!(!c.truncated());
        assert_eq!(c.finish().0, "12345");
    }

    #[test]
    fn multibyte_char_split_by_cap_is_dropped_not_garbled() {
        let c = Capture::with_cap(4);
        c.push(Stream::Stdout, "ab€".as_bytes());
        let (o, _) = c.finish();
        assert_eq!(o, format!("ab{TRUNCATION_MARKER}"));
    }
}
