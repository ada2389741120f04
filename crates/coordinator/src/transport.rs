//! QUIC flow-control windows from the bandwidth-delay product.
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

pub fn params(rate_bps: f64, rtt_s: f64, idle_timeout_ms: u64) -> TransportParams {
    let bdp = (rate_bps / 8.0 * rtt_s).max(0.0);
    let stream = ((2.0 * bdp) as u64).clamp(1 << 20, 1 << 30);
    TransportParams {
        stream_receive_window: stream,
        receive_window: 2 * stream,
        send_window: 2 * stream,
        idle_timeout_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_follow_the_bdp() {
        // 40 Gbit/s x 1 ms = 5 MB; the stream window is twice that.
        let p = params(40e9, 1e-3, 10_000);
        assert_eq!(p.stream_receive_window, 10_000_000);
        assert_eq!(p.receive_window, 20_000_000);
        // A slow link still gets the 1 MiB floor.
        assert_eq!(params(1e6, 1e-3, 1).stream_receive_window, 1 << 20);
    }
}
