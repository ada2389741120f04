//! QUIC flow-control windows from the bandwidth-delay product, the datagram size from the
//! network's MTU, and the data plane's idle timeout: the settings the coordinator puts into a
//! run's plan, and the ones `examples/transport_floor.rs` measures.
//!
//! quinn's defaults are sized for 100 Mbit/s x 100 ms. collbench sizes them from the fabric it
//! runs on: a stream window of twice the bandwidth-delay product (so one stream can keep the
//! link busy while acknowledgements are in flight), never below 1 MiB, and connection receive
//! and send windows of twice the stream window.

use wire::control::TransportParams;

/// Link rate assumed when none is given (loopback or an unknown network), bits per second.
pub const DEFAULT_RATE_BPS: f64 = 40e9;
/// Round-trip time assumed for the window, seconds: generous for one switch hop.
pub const DEFAULT_RTT_S: f64 = 1e-3;

/// MTU assumed for a network collbench did not build and that `--mtu` does not describe.
pub const ETHERNET_MTU: u32 = 1500;
/// MTU of loopback and of the emulated fabric unless `--mtu` says otherwise: jumbo frames, as
/// GPU clusters' fabrics run them. Loopback carries far more, but bigger datagrams measured no
/// faster here (16,000 vs 8,952 bytes, loopback p = 4) and cost memory (see `MAX_DATAGRAM`).
pub const JUMBO_MTU: u32 = 9000;

/// QUIC idle timeout of the data plane: a peer silent this long (no keep-alives) is dead. A
/// backstop only: the coordinator finds a dead node in seconds from its heartbeats and aborts
/// the run, which nodes take mid-step; long enough that a node of an oversubscribed machine that
/// is not scheduled for a few seconds is not taken for dead.
pub const IDLE_TIMEOUT_MS: u64 = 30_000;

/// IPv6 and UDP headers: the datagram an MTU carries over either IP version.
const IP_UDP_HEADERS: u32 = 48;

/// The QUIC datagram for a network of `mtu` bytes, within what QUIC and one GSO send allow.
pub fn datagram_bytes(mtu: u32) -> u16 {
    let max = u32::from(crate::tls::MAX_DATAGRAM);
    let min = u32::from(crate::tls::MIN_DATAGRAM);
    mtu.saturating_sub(IP_UDP_HEADERS).clamp(min, max) as u16
}

/// The data plane's transport parameters for a link of `rate_bps` (bits per second) and `rtt_s`
/// on a network of `mtu` bytes, payloads encrypted.
pub fn params(rate_bps: f64, rtt_s: f64, idle_timeout_ms: u64, mtu: u32) -> TransportParams {
    let bdp = (rate_bps / 8.0 * rtt_s).max(0.0);
    let stream = ((2.0 * bdp) as u64).clamp(1 << 20, 1 << 30);
    TransportParams {
        stream_receive_window: stream,
        receive_window: 2 * stream,
        send_window: 2 * stream,
        idle_timeout_ms,
        datagram_bytes: datagram_bytes(mtu),
        unencrypted: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_follow_the_bdp() {
        // 40 Gbit/s x 1 ms = 5 MB; the stream window is twice that.
        let p = params(40e9, 1e-3, 10_000, JUMBO_MTU);
        assert_eq!(p.stream_receive_window, 10_000_000);
        assert_eq!(p.receive_window, 20_000_000);
        // A slow link still gets the 1 MiB floor.
        assert_eq!(params(1e6, 1e-3, 1, 1500).stream_receive_window, 1 << 20);
    }

    /// What `examples/transport_floor.rs` measures and prints, and what it once repeated by hand.
    #[test]
    fn loopback_defaults() {
        let p = params(DEFAULT_RATE_BPS, DEFAULT_RTT_S, IDLE_TIMEOUT_MS, JUMBO_MTU);
        assert_eq!(p.stream_receive_window, 10_000_000);
        assert_eq!((p.receive_window, p.send_window), (20_000_000, 20_000_000));
        assert_eq!(p.datagram_bytes, 8952);
        assert_eq!(p.idle_timeout_ms, 30_000);
        assert!(!p.unencrypted);
    }

    #[test]
    fn datagrams_fit_the_mtu_and_quic() {
        assert_eq!(datagram_bytes(1500), 1452);
        assert_eq!(datagram_bytes(JUMBO_MTU), 8952);
        assert_eq!(datagram_bytes(1280), 1232);
        assert_eq!(datagram_bytes(576), crate::tls::MIN_DATAGRAM);
        assert_eq!(datagram_bytes(65_536), crate::tls::MAX_DATAGRAM);
        assert_eq!(datagram_bytes(crate::tls::MAX_MTU), 9168);
    }
}
