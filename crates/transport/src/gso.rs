//! A UDP socket for quinn whose segmentation offload batches never exceed what the kernel takes.
//!
//! quinn hands the socket up to ten datagrams at a time as one generic-segmentation-offload
//! (GSO) send, but Linux refuses a GSO send whose datagrams add up to more than 64 KiB
//! (`EMSGSIZE`), and quinn-udp then drops the whole batch. With 1472-byte datagrams ten always
//! fit; with the jumbo datagrams collbench uses on loopback and on jumbo-frame fabrics (8952
//! bytes at MTU 9000) they do not, and the drops look like heavy packet loss. This wrapper tells quinn
//! how many datagrams of the current size fit in one send. Everything else is the runtime's own
//! socket.

use std::fmt;
use std::io::{self, IoSliceMut};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use quinn::udp::{RecvMeta, Transmit};
use quinn::{AsyncUdpSocket, UdpPoller};

/// The most bytes of UDP payload one GSO send may carry (64 KiB less the IPv6 and UDP headers,
/// rounded down; IPv4's limit is a little higher).
pub const MAX_GSO_BYTES: usize = 65_000;

/// How many datagrams of `payload` bytes fit in one GSO send (at least one).
pub fn segments_for(payload: usize) -> usize {
    (MAX_GSO_BYTES / payload.max(1)).max(1)
}

/// The runtime's socket, with GSO batches capped by the datagram size last sent.
pub struct GsoLimited {
    inner: Arc<dyn AsyncUdpSocket>,
    max_segments: AtomicUsize,
}

impl fmt::Debug for GsoLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GsoLimited")
            .field("max_segments", &self.max_segments.load(Ordering::Relaxed))
            .finish()
    }
}

impl GsoLimited {
    pub fn new(inner: Arc<dyn AsyncUdpSocket>) -> Arc<Self> {
        Arc::new(GsoLimited {
            inner,
            max_segments: AtomicUsize::new(usize::MAX),
        })
    }
}

impl AsyncUdpSocket for GsoLimited {
    fn create_io_poller(self: Arc<Self>) -> Pin<Box<dyn UdpPoller>> {
        self.inner.clone().create_io_poller()
    }

    /// Sends `transmit`; a batch built before quinn learnt the cap for a larger datagram size
    /// goes out in pieces the kernel accepts. If a later piece would block, the rest is dropped
    /// and QUIC's loss recovery resends it (this happens at most once per size change).
    fn try_send(&self, transmit: &Transmit) -> io::Result<()> {
        let Some(segment) = transmit.segment_size else {
            return self.inner.try_send(transmit);
        };
        let per_send = segments_for(segment);
        self.max_segments.store(per_send, Ordering::Relaxed);
        if transmit.contents.len() <= per_send * segment {
            return self.inner.try_send(transmit);
        }
        for (i, piece) in transmit.contents.chunks(per_send * segment).enumerate() {
            let part = Transmit {
                destination: transmit.destination,
                ecn: transmit.ecn,
                contents: piece,
                segment_size: (piece.len() > segment).then_some(segment),
                src_ip: transmit.src_ip,
            };
            match self.inner.try_send(&part) {
                Ok(()) => {}
                Err(e) if i == 0 => return Err(e),
                Err(_) => return Ok(()),
            }
        }
        Ok(())
    }

    fn poll_recv(
        &self,
        cx: &mut Context,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_recv(cx, bufs, meta)
    }

    fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.inner.local_addr()
    }

    fn max_transmit_segments(&self) -> usize {
        self.inner
            .max_transmit_segments()
            .min(self.max_segments.load(Ordering::Relaxed))
    }

    fn max_receive_segments(&self) -> usize {
        self.inner.max_receive_segments()
    }

    fn may_fragment(&self) -> bool {
        self.inner.may_fragment()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_stay_within_the_kernel_limit() {
        for payload in [1200usize, 1472, 6500, 8972, 16_000, 32_000, 65_000, 65_527] {
            let n = segments_for(payload);
            assert!(n >= 1);
            assert!(n == 1 || n * payload <= MAX_GSO_BYTES, "{payload}: {n}");
        }
        assert_eq!(segments_for(1472), 44);
        assert_eq!(segments_for(8972), 7);
    }
}
