//! Can a host reach the coordinator? Before a run, a launcher that starts nodes on other
//! machines runs `collbench probe` there: it sends a few datagrams carrying a nonce to the
//! coordinator's control address, and the coordinator, which has bound that socket but not yet
//! started QUIC on it, reads which nonces arrived. A host whose nonce never arrives cannot reach
//! the address nodes would dial (`--listen`), and the run stops before it starts.

use std::collections::BTreeSet;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;

/// What a probe datagram starts with.
pub const MAGIC: &str = "collbench-probe ";
/// How many datagrams one probe sends, and how far apart.
const SENDS: u32 = 10;
const GAP: Duration = Duration::from_millis(100);

#[derive(Args, Debug, Clone)]
pub struct ProbeArgs {
    /// The coordinator's control address (HOST:PORT).
    #[arg(long)]
    pub coordinator: String,
    /// The nonce to send back.
    #[arg(long)]
    pub nonce: String,
}

/// The remote side: sends the nonce to the coordinator a few times. Succeeds once sent (the
/// coordinator, not this side, knows whether it arrived).
pub fn send(args: &ProbeArgs) -> Result<()> {
    let to: SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(&args.coordinator)
        .with_context(|| format!("resolving {}", args.coordinator))?
        .next()
        .with_context(|| format!("{} has no address", args.coordinator))?;
    let any: SocketAddr = if to.is_ipv4() {
        "0.0.0.0:0".parse()?
    } else {
        "[::]:0".parse()?
    };
    let s = UdpSocket::bind(any).context("binding the probe socket")?;
    let msg = format!("{MAGIC}{}", args.nonce);
    for _ in 0..SENDS {
        // A host without a route fails here; one whose packets are dropped does not.
        s.send_to(msg.as_bytes(), to)
            .with_context(|| format!("sending to the coordinator at {to}"))?;
        std::thread::sleep(GAP);
    }
    Ok(())
}

/// The coordinator's side: reads probe datagrams from `socket` until every nonce in
/// `expected` has arrived or `within` has passed; returns the nonces that arrived. Leaves the
/// socket as it found it (blocking, no timeout); datagrams that are not probes are dropped
/// (nothing else may talk to a run before its endpoint starts).
pub fn receive(
    socket: &UdpSocket,
    expected: &BTreeSet<String>,
    within: Duration,
) -> Result<BTreeSet<String>> {
    let start = Instant::now();
    let mut seen = BTreeSet::new();
    let mut buf = [0u8; 512];
    while !expected.is_subset(&seen) {
        let left = within.saturating_sub(start.elapsed());
        if left.is_zero() {
            break;
        }
        socket.set_read_timeout(Some(left))?;
        match socket.recv_from(&mut buf) {
            Ok((n, _from)) => {
                if let Some(nonce) = std::str::from_utf8(&buf[..n])
                    .ok()
                    .and_then(|t| t.strip_prefix(MAGIC))
                {
                    if expected.contains(nonce) {
                        seen.insert(nonce.to_string());
                    }
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e).context("reading probes"),
        }
    }
    socket.set_read_timeout(None)?;
    Ok(seen)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_sent_nonce_arrives_and_a_missing_one_times_out() {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = sock.local_addr().unwrap();
        let expected: BTreeSet<String> = ["aa".to_string(), "bb".to_string()].into();
        let sender = std::thread::spawn(move || {
            send(&ProbeArgs {
                coordinator: addr.to_string(),
                nonce: "aa".into(),
            })
        });
        let start = Instant::now();
        let seen = receive(&sock, &expected, Duration::from_millis(700)).unwrap();
        assert_eq!(seen, ["aa".to_string()].into());
        assert!(start.elapsed() >= Duration::from_millis(700));
        sender.join().unwrap().unwrap();
        assert_eq!(sock.read_timeout().unwrap(), None);
    }
}
