//! One write per burst of gRPC answers on the plugin connection.
//!
//! h2 flushes its connection twice for every unary answer: once to make room for the trailers
//! after a DATA frame it chains rather than copies (over 256 bytes, which is every state), and
//! once at the end of its turn. Over TLS each flush is a record and a `writev`, and a refresh of
//! 400 resources made about 2,940 of them for 1,200 answers, and the kernel's side of the
//! sockets was a quarter of the provider's CPU in that refresh (docs/development/
//! benchmark-method.md, 'Provider CPU of a refresh').
//!
//! [`CoalescedWrites`] keeps what h2 writes and postpones a flush once: it wakes the connection
//! task and answers `Pending`, so the runtime first runs every other task that is ready (the
//! answers being built) and the flush of the connection's next turn writes everything in one
//! go. The contract of `poll_flush` holds: it is `Ready` only once the bytes are written, and a
//! postponed flush has woken its task. The delay is one pass of the scheduler.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Held bytes past which a write first writes out what is held (h2's own buffer is 16 KiB; TLS
/// records are at most 16 KiB).
const MAX_HELD_BYTES: usize = 64 * 1024;

/// An `AsyncWrite` that holds writes until a flush, and postpones each flush by one turn of
/// the task that asked for it. Reads pass through.
pub struct CoalescedWrites<T> {
    inner: T,
    held: Vec<u8>,
    /// Bytes at the start of `held` already written to `inner`.
    written: usize,
    /// The last flush was postponed; the next one writes.
    flush_postponed: bool,
}

impl<T> CoalescedWrites<T> {
    pub fn new(inner: T) -> Self {
        CoalescedWrites {
            inner,
            held: Vec::new(),
            written: 0,
            flush_postponed: false,
        }
    }
}

impl<T: AsyncWrite + Unpin> CoalescedWrites<T> {
    /// Writes out everything held.
    fn poll_write_held(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.held.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.held[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.held.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }

    /// Makes room for `incoming` more bytes.
    fn poll_room_for(&mut self, cx: &mut Context<'_>, incoming: usize) -> Poll<io::Result<()>> {
        if !self.held.is_empty() && self.held.len() + incoming > MAX_HELD_BYTES {
            ready!(self.poll_write_held(cx))?;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for CoalescedWrites<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_room_for(cx, buf.len()))?;
        this.held.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let total = bufs.iter().map(|buf| buf.len()).sum();
        ready!(this.poll_room_for(cx, total))?;
        this.held.reserve(total);
        for buf in bufs {
            this.held.extend_from_slice(buf);
        }
        Poll::Ready(Ok(total))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.held.is_empty() {
            if !this.flush_postponed {
                this.flush_postponed = true;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            ready!(this.poll_write_held(cx))?;
        }
        this.flush_postponed = false;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_write_held(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for CoalescedWrites<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;

    /// Records every write it receives; accepts at most `limit` bytes per write.
    #[derive(Default)]
    struct Recorder {
        writes: Vec<Vec<u8>>,
        flushes: usize,
        shut_down: bool,
        limit: Option<usize>,
    }

    impl AsyncWrite for Recorder {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = self.limit.map_or(buf.len(), |limit| limit.min(buf.len()));
            self.writes.push(buf[..n].to_vec());
            Poll::Ready(Ok(n))
        }

        fn poll_flush(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.flushes += 1;
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.shut_down = true;
            Poll::Ready(Ok(()))
        }
    }

    #[derive(Default)]
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn write(io: &mut CoalescedWrites<Recorder>, cx: &mut Context<'_>, bytes: &[u8]) {
        let written = Pin::new(io).poll_write(cx, bytes);
        assert!(matches!(written, Poll::Ready(Ok(n)) if n == bytes.len()));
    }

    fn flush(io: &mut CoalescedWrites<Recorder>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(io).poll_flush(cx)
    }

    #[test]
    fn an_answer_and_its_trailers_leave_in_one_write_after_one_postponed_flush() {
        let waker = Arc::new(CountingWaker::default());
        let waker_handle = waker.clone().into();
        let mut cx = Context::from_waker(&waker_handle);
        let mut io = CoalescedWrites::new(Recorder::default());

        // h2's first flush: headers and a chained DATA frame, to make room for the trailers.
        let vectored = [IoSlice::new(b"headers+"), IoSlice::new(b"data+")];
        let written = Pin::new(&mut io).poll_write_vectored(&mut cx, &vectored);
        assert!(matches!(written, Poll::Ready(Ok(13))));
        assert!(flush(&mut io, &mut cx).is_pending());
        assert_eq!(
            waker.0.load(Ordering::SeqCst),
            1,
            "the postponed flush wakes its task"
        );
        assert!(io.inner.writes.is_empty());

        // The task's next turn: the trailers, then the flush that writes.
        write(&mut io, &mut cx, b"trailers");
        assert!(matches!(flush(&mut io, &mut cx), Poll::Ready(Ok(()))));
        assert_eq!(io.inner.writes, vec![b"headers+data+trailers".to_vec()]);
        assert_eq!(io.inner.flushes, 1);

        // Nothing held: a flush goes straight through.
        assert!(matches!(flush(&mut io, &mut cx), Poll::Ready(Ok(()))));
        assert_eq!(io.inner.writes.len(), 1);
        assert_eq!(io.inner.flushes, 2);
        assert_eq!(waker.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_partial_write_is_completed_before_the_flush_is_ready() {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut io = CoalescedWrites::new(Recorder {
            limit: Some(4),
            ..Recorder::default()
        });
        write(&mut io, &mut cx, b"0123456789");
        assert!(flush(&mut io, &mut cx).is_pending());
        assert!(matches!(flush(&mut io, &mut cx), Poll::Ready(Ok(()))));
        assert_eq!(io.inner.writes.concat(), b"0123456789".to_vec());
    }

    #[test]
    fn more_than_the_limit_is_written_out_before_more_is_held() {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut io = CoalescedWrites::new(Recorder::default());
        let block = vec![7u8; MAX_HELD_BYTES / 2 + 1];
        write(&mut io, &mut cx, &block);
        assert!(io.inner.writes.is_empty());
        write(&mut io, &mut cx, &block);
        assert_eq!(io.inner.writes, vec![block.clone()]);
        assert_eq!(io.held, block);
    }

    #[test]
    fn shutdown_writes_what_is_held_first() {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut io = CoalescedWrites::new(Recorder::default());
        write(&mut io, &mut cx, b"goaway");
        let shut = Pin::new(&mut io).poll_shutdown(&mut cx);
        assert!(matches!(shut, Poll::Ready(Ok(()))));
        assert_eq!(io.inner.writes, vec![b"goaway".to_vec()]);
        assert!(io.inner.shut_down);
    }
}
