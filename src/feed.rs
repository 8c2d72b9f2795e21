//! A second reader of a download's bytes, fed while they arrive.
//!
//! The download writer ([`crate::fetch`]) hashes each body chunk and writes
//! it to the cache file; with a [`Feed`] it also hands the same chunk, in
//! the same order, to a [`FeedReader`] on another thread (an extraction,
//! [`crate::install`]; a signature check, [`crate::gate`]), or to several
//! ([`Feed::and`]). At the end of a complete attempt the writer sends
//! the sha256 and size of exactly the chunks it fed, so the reader learns
//! which bytes it consumed without hashing them a second time: one pass
//! over the bytes, not two.
//!
//! A feed carries one download attempt. When the attempt fails or is
//! retried, the feed is dropped without an end, and the reader's next
//! `read` fails: what it produced is never mistaken for the verified
//! bytes. The channel is bounded, so a slow reader slows the download
//! (back-pressure to the socket), and memory stays at [`DEPTH`] chunks per
//! reader.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::Duration;

/// A body chunk as the HTTP stack hands it out, shared between the
/// writer and the reader.
pub type Chunk = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// Chunks queued for the reader before the writer waits.
pub const DEPTH: usize = 16;

enum Piece {
    Data(Chunk),
    End { sha256: String, size: u64 },
}

/// The writer's end: one download attempt's bytes, for one reader or
/// several ([`Feed::and`]).
pub struct Feed {
    txs: Vec<SyncSender<Piece>>,
}

/// The reader's end: the bytes, then end of file once the attempt was
/// complete; an error if it was not.
pub struct FeedReader {
    rx: Receiver<Piece>,
    cancel: Cancel,
    current: Option<Chunk>,
    offset: usize,
    end: Option<(String, u64)>,
}

/// Stops a [`FeedReader`] from another thread: its next `read` fails,
/// even while the feed is still open.
#[derive(Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// How often a waiting reader looks at its [`Cancel`].
const POLL: Duration = Duration::from_millis(50);

/// A connected feed and reader, and what cancels the reader.
pub fn channel() -> (Feed, FeedReader, Cancel) {
    let (tx, rx) = std::sync::mpsc::sync_channel(DEPTH);
    let cancel = Cancel::default();
    (
        Feed { txs: vec![tx] },
        FeedReader {
            rx,
            cancel: cancel.clone(),
            current: None,
            offset: 0,
            end: None,
        },
        cancel,
    )
}

/// A thread reading a feed ([`Reading::spawn`]). Waited for with
/// [`Reading::finish`]; dropped unfinished (an error or a signal
/// elsewhere), it is cancelled and waited for, so nothing it does
/// outlives it.
pub struct Reading<T> {
    thread: Option<std::thread::JoinHandle<Option<T>>>,
    cancel: Cancel,
}

impl<T: Send + 'static> Reading<T> {
    /// Starts `read` on a thread of its own over a new feed's reader;
    /// returns the feed to give the download.
    pub fn spawn(
        read: impl FnOnce(FeedReader) -> Option<T> + Send + 'static,
    ) -> (Feed, Reading<T>) {
        let (feed, reader, cancel) = channel();
        let thread = std::thread::spawn(move || read(reader));
        let reading = Reading {
            thread: Some(thread),
            cancel,
        };
        (feed, reading)
    }
}

impl<T> Reading<T> {
    /// Waits for the thread (once the download is over): what it gave.
    pub fn finish(mut self) -> Option<T> {
        self.thread.take()?.join().ok().flatten()
    }
}

impl<T> Drop for Reading<T> {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.cancel.cancel();
            let _ = thread.join();
        }
    }
}

impl Feed {
    /// One feed for the readers of both: each gets every chunk.
    pub fn and(mut self, other: Feed) -> Feed {
        self.txs.extend(other.txs);
        self
    }

    /// Hands `chunk` to every reader, waiting while a queue is full. A
    /// reader that went away is dropped quietly: the download goes on.
    pub fn send(&mut self, chunk: &Chunk) {
        self.txs.retain(|tx| {
            let piece = Piece::Data(Arc::clone(chunk));
            match tx.try_send(piece) {
                Ok(()) => true,
                Err(TrySendError::Full(piece)) => tx.send(piece).is_ok(),
                Err(TrySendError::Disconnected(_)) => false,
            }
        });
    }

    /// The attempt is complete: these are the sha256 and size of every
    /// chunk sent.
    pub fn end(self, sha256: String, size: u64) {
        for tx in self.txs {
            let _ = tx.send(Piece::End {
                sha256: sha256.clone(),
                size,
            });
        }
    }
}

impl FeedReader {
    /// The sha256 and size of the bytes read, once `read` returned end of
    /// file.
    pub fn end(&self) -> Option<&(String, u64)> {
        self.end.as_ref()
    }

    /// Reads and drops whatever is left, then returns what [`FeedReader::end`]
    /// does: a reader that stopped early (an archive's trailing padding)
    /// still learns whether the attempt was complete.
    pub fn drain(&mut self) -> Option<&(String, u64)> {
        let mut sink = [0u8; 64 << 10];
        while let Ok(n) = self.read(&mut sink) {
            if n == 0 {
                break;
            }
        }
        self.end()
    }
}

impl Read for FeedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.end.is_some() {
            return Ok(0);
        }
        loop {
            if let Some(chunk) = &self.current {
                let bytes = (**chunk).as_ref();
                if self.offset < bytes.len() {
                    let n = buf.len().min(bytes.len() - self.offset);
                    buf[..n].copy_from_slice(&bytes[self.offset..self.offset + n]);
                    self.offset += n;
                    return Ok(n);
                }
                self.current = None;
            }
            if self.cancel.cancelled() {
                return Err(io::Error::other("the extraction was cancelled"));
            }
            match self.rx.recv_timeout(POLL) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(Piece::Data(chunk)) => {
                    self.current = Some(chunk);
                    self.offset = 0;
                }
                Ok(Piece::End { sha256, size }) => {
                    self.end = Some((sha256, size));
                    return Ok(0);
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(io::Error::other(
                        "the download stopped or restarted before it was complete",
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(bytes: &'static [u8]) -> Chunk {
        Arc::new(bytes)
    }

    #[test]
    fn the_reader_gets_every_byte_in_order_then_the_end() {
        let (mut feed, mut reader, _) = channel();
        let writer = std::thread::spawn(move || {
            for part in [&b"hello "[..], b"", b"streaming ", b"world"] {
                feed.send(&chunk(part));
            }
            feed.end("abc".into(), 21);
        });
        let mut got = String::new();
        reader
            .read_to_string(&mut got)
            .unwrap_or_else(|e| panic!("{e}"));
        writer.join().unwrap_or_else(|_| panic!("writer"));
        assert_eq!(got, "hello streaming world");
        assert_eq!(reader.end(), Some(&("abc".to_owned(), 21)));
    }

    #[test]
    fn a_feed_dropped_without_an_end_is_an_error_not_end_of_file() {
        let (mut feed, mut reader, _) = channel();
        feed.send(&chunk(b"partial"));
        drop(feed);
        let mut got = Vec::new();
        assert!(reader.read_to_end(&mut got).is_err());
        assert_eq!(got, b"partial");
        assert_eq!(reader.end(), None);
        assert_eq!(reader.drain(), None);
    }

    #[test]
    fn joined_feeds_give_every_reader_every_byte() {
        let (a, mut ra, _) = channel();
        let (b, rb, _) = channel();
        let (c, mut rc, _) = channel();
        let mut feed = a.and(b).and(c);
        drop(rb);
        let writer = std::thread::spawn(move || {
            for _ in 0..DEPTH * 4 {
                feed.send(&chunk(b"ab"));
            }
            feed.end("h".into(), (DEPTH * 8) as u64);
        });
        let (mut got_a, mut got_c) = (Vec::new(), Vec::new());
        let other = std::thread::spawn(move || {
            rc.read_to_end(&mut got_c)
                .map(|_| (got_c, rc.end().cloned()))
        });
        ra.read_to_end(&mut got_a).unwrap_or_else(|e| panic!("{e}"));
        let (got_c, end_c) = other
            .join()
            .unwrap_or_else(|_| panic!("reader"))
            .unwrap_or_else(|e| panic!("{e}"));
        writer.join().unwrap_or_else(|_| panic!("writer"));
        assert_eq!(got_a, b"ab".repeat(DEPTH * 4));
        assert_eq!(got_c, got_a);
        let end = Some(("h".to_owned(), (DEPTH * 8) as u64));
        assert_eq!(ra.end().cloned(), end);
        assert_eq!(end_c, end);
    }

    #[test]
    fn a_reader_that_went_away_never_blocks_the_writer() {
        let (mut feed, reader, _) = channel();
        drop(reader);
        for _ in 0..DEPTH * 4 {
            feed.send(&chunk(b"x"));
        }
        feed.end(String::new(), 0);
    }

    #[test]
    fn a_cancelled_reader_stops_while_the_feed_is_still_open() {
        let (mut feed, mut reader, cancel) = channel();
        feed.send(&chunk(b"some"));
        cancel.cancel();
        let mut got = Vec::new();
        assert!(reader.read_to_end(&mut got).is_err());
        assert_eq!(reader.drain(), None);
        drop(feed);
    }

    #[test]
    fn drain_finds_the_end_after_an_early_stop() {
        let (mut feed, mut reader, _) = channel();
        feed.send(&chunk(b"archive"));
        feed.send(&chunk(b"padding"));
        feed.end("h".into(), 14);
        let mut first = [0u8; 7];
        reader
            .read_exact(&mut first)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reader.drain(), Some(&("h".to_owned(), 14)));
    }
}
