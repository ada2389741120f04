//! A bench-node's addresses: the coordinator's, given as `HOST:PORT` (an IP, or a name such as a
//! Kubernetes Service's, resolved at start and retried while it does not resolve yet), and the
//! address its data plane binds to (`auto`: the one its traffic to the coordinator leaves from).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tracing::debug;

/// How often a name that does not resolve yet is tried again.
const RETRY: Duration = Duration::from_millis(500);

/// Resolves `HOST:PORT` (`[v6]:PORT` for IPv6), retrying for up to `within`: a Service's name
/// appears in DNS only once its pod exists.
pub async fn resolve_coordinator(spec: &str, within: Duration) -> Result<SocketAddr> {
    if let Ok(addr) = spec.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let (host, port) = spec
        .rsplit_once(':')
        .filter(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
        .with_context(|| {
            format!("--coordinator '{spec}' is not HOST:PORT (for example 10.0.0.1:29400)")
        })?;
    let start = Instant::now();
    loop {
        let last_error = match tokio::net::lookup_host((host, port.parse::<u16>()?)).await {
            Ok(mut addrs) => match addrs.next() {
                Some(a) => return Ok(a),
                None => "no addresses".to_string(),
            },
            Err(e) => e.to_string(),
        };
        if start.elapsed() >= within {
            bail!(
                "--coordinator '{spec}': '{host}' did not resolve within {within:?}: {last_error}"
            );
        }
        debug!(host, %last_error, "coordinator name does not resolve yet");
        tokio::time::sleep(RETRY).await;
    }
}

/// The local address traffic to `to` leaves from (a connected UDP socket sends nothing).
pub fn route_source(to: SocketAddr) -> Result<IpAddr> {
    let any: SocketAddr = if to.is_ipv4() {
        "0.0.0.0:0".parse()?
    } else {
        "[::]:0".parse()?
    };
    let s = UdpSocket::bind(any).context("binding a socket to find the route")?;
    s.connect(to)
        .with_context(|| format!("no route to the coordinator at {to}"))?;
    Ok(s.local_addr()?.ip())
}

/// `--bind`: an IP, or `auto` for the address on the route to the coordinator.
pub fn bind_addr(spec: &str, coordinator: SocketAddr) -> Result<IpAddr> {
    if spec == "auto" {
        return route_source(coordinator);
    }
    let ip: IpAddr = spec
        .parse()
        .with_context(|| format!("--bind '{spec}' is not an IP address or 'auto'"))?;
    if ip.is_unspecified() {
        bail!("--bind {ip}: peers need an address they can dial; give one, or 'auto'");
    }
    Ok(ip)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn names_resolve_and_bad_specs_are_named() {
        let a = resolve_coordinator("127.0.0.1:29400", Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(a, "127.0.0.1:29400".parse().unwrap());
        let a = resolve_coordinator("localhost:7", Duration::ZERO)
            .await
            .unwrap();
        assert!(a.ip().is_loopback() && a.port() == 7);
        let e = resolve_coordinator("nocolon", Duration::ZERO)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("is not HOST:PORT"), "{e}");
        let start = Instant::now();
        let e = resolve_coordinator("no-such-host.invalid:1", Duration::from_millis(600))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("did not resolve within"), "{e}");
        assert!(start.elapsed() >= Duration::from_millis(500));
    }

    #[test]
    fn auto_binds_to_the_route_source() {
        let to: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(
            bind_addr("auto", to).unwrap(),
            "127.0.0.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(bind_addr("127.0.0.2", to).unwrap().to_string(), "127.0.0.2");
        assert!(bind_addr("0.0.0.0", to).is_err());
        assert!(bind_addr("eth0", to).is_err());
    }
}
