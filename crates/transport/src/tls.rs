//! QUIC endpoint configuration: mutual TLS 1.3 against the run's CA, and flow-control windows
//! from the plan.

use crate::unencrypted::{ClearClient, ClearServer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn::{ClientConfig, Endpoint, IdleTimeout, ServerConfig, TransportConfig, VarInt};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use wire::control::TransportParams;

use crate::credentials::NodeCredentials;
use crate::TransportError;

pub const ALPN: &[u8] = b"collbench/1";

/// QUIC's smallest datagram (RFC 9000, 14).
pub const MIN_DATAGRAM: u16 = 1200;
/// The largest datagram collbench sends: a 9216-byte jumbo frame's. Every endpoint keeps a
/// receive buffer of 2,048 datagrams of this size (quinn: 32 batches of 64 coalesced ones), so
/// a 64 KiB limit cost each node ~70 MiB of memory, and bigger datagrams measured no faster.
pub const MAX_DATAGRAM: u16 = (MAX_MTU - 48) as u16;
/// The largest MTU `--mtu` takes.
pub const MAX_MTU: u32 = 9216;

fn tls_err(e: impl std::fmt::Display) -> TransportError {
    TransportError::Tls(e.to_string())
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    let mut p = rustls::crypto::ring::default_provider();
    // AES-128-GCM first: the cheapest suite per byte on CPUs with AES-NI.
    p.cipher_suites.sort_by_key(|s| match s.suite() {
        rustls::CipherSuite::TLS13_AES_128_GCM_SHA256 => 0,
        rustls::CipherSuite::TLS13_AES_256_GCM_SHA384 => 1,
        _ => 2,
    });
    Arc::new(p)
}

fn roots(creds: &NodeCredentials) -> Result<Arc<RootCertStore>, TransportError> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(creds.ca_der.clone()))
        .map_err(|e| TransportError::Credentials(format!("CA certificate: {e}")))?;
    Ok(Arc::new(roots))
}

fn chain(creds: &NodeCredentials) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    (
        vec![CertificateDer::from(creds.identity.cert_der.clone())],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(creds.identity.key_der.clone())),
    )
}

pub fn transport(params: &TransportParams) -> Result<TransportConfig, TransportError> {
    let mut t = TransportConfig::default();
    let window = |v: u64| {
        VarInt::from_u64(v).map_err(|_| TransportError::Tls(format!("window {v} too large")))
    };
    t.stream_receive_window(window(params.stream_receive_window)?)
        .receive_window(window(params.receive_window)?)
        .send_window(params.send_window)
        .keep_alive_interval(Some(Duration::from_millis(
            (params.idle_timeout_ms / 4).max(100),
        )))
        .max_idle_timeout(Some(
            IdleTimeout::try_from(Duration::from_millis(params.idle_timeout_ms))
                .map_err(tls_err)?,
        ));
    // The datagram size is the network's (the coordinator knows it): start there and stay
    // there instead of probing up from 1200 bytes, which under a full congestion window never
    // finishes. quinn's initial window of 14,720 bytes would not fit one jumbo datagram.
    let datagram = params.datagram_bytes;
    if !(MIN_DATAGRAM..=MAX_DATAGRAM).contains(&datagram) {
        return Err(TransportError::Tls(format!(
            "datagram size {datagram} outside {MIN_DATAGRAM}..={MAX_DATAGRAM} bytes"
        )));
    }
    // The congestion window starts at the stream window (twice the fabric's bandwidth-delay
    // product, never below 1 MiB), not at quinn's ten datagrams. The fabric's rate is known,
    // so probing up to it learns nothing; and a connection that carries one message per
    // iteration (all-to-all) never fills a smaller window, so CUBIC never grows it, while
    // quinn paces it at window / RTT, an RTT that the queues along the path inflate: pairwise
    // all-to-all at 8 ranks over 500 Mbit/s links took 57-100 ms at 2 MiB where 30 ms is the
    // links' time, until a later measurement happened to start with larger windows.
    let mut cubic = quinn::congestion::CubicConfig::default();
    cubic.initial_window(
        params
            .stream_receive_window
            .max(10 * u64::from(datagram))
            .max(14_720),
    );
    t.initial_mtu(datagram)
        .min_mtu(datagram)
        .mtu_discovery_config(None)
        .congestion_controller_factory(Arc::new(cubic));
    Ok(t)
}

pub fn server_config(
    creds: &NodeCredentials,
    params: &TransportParams,
) -> Result<ServerConfig, TransportError> {
    let provider = provider();
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(creds)?, provider.clone())
        .build()
        .map_err(tls_err)?;
    let (certs, key) = chain(creds);
    let mut crypto = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_err)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| TransportError::Credentials(format!("node certificate or key: {e}")))?;
    crypto.alpn_protocols = vec![ALPN.to_vec()];
    let crypto: Arc<dyn quinn::crypto::ServerConfig> =
        Arc::new(QuicServerConfig::try_from(crypto).map_err(tls_err)?);
    let crypto: Arc<dyn quinn::crypto::ServerConfig> = if params.unencrypted {
        Arc::new(ClearServer(crypto))
    } else {
        crypto
    };
    let mut config = ServerConfig::with_crypto(crypto);
    config.transport_config(Arc::new(transport(params)?));
    Ok(config)
}

pub fn client_config(
    creds: &NodeCredentials,
    params: &TransportParams,
) -> Result<ClientConfig, TransportError> {
    let (certs, key) = chain(creds);
    let mut crypto = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_err)?
        .with_root_certificates(roots(creds)?)
        .with_client_auth_cert(certs, key)
        .map_err(|e| TransportError::Credentials(format!("node certificate or key: {e}")))?;
    crypto.alpn_protocols = vec![ALPN.to_vec()];
    let crypto: Arc<dyn quinn::crypto::ClientConfig> =
        Arc::new(QuicClientConfig::try_from(crypto).map_err(tls_err)?);
    let crypto: Arc<dyn quinn::crypto::ClientConfig> = if params.unencrypted {
        Arc::new(ClearClient(crypto))
    } else {
        crypto
    };
    let mut config = ClientConfig::new(crypto);
    config.transport_config(Arc::new(transport(params)?));
    Ok(config)
}

/// A UDP socket bound to `bind`, with large buffers so bursts on loopback are not dropped by the
/// kernel. Made separately from the endpoint so a launcher can bind it inside another network
/// namespace.
pub fn udp_socket(bind: SocketAddr) -> Result<std::net::UdpSocket, TransportError> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(bind),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )
    .map_err(|e| TransportError::Io(format!("UDP socket: {e}")))?;
    // The kernel caps these at net.core.{r,w}mem_max; asking for more is harmless.
    let _ = socket.set_recv_buffer_size(8 << 20);
    let _ = socket.set_send_buffer_size(8 << 20);
    socket
        .bind(&bind.into())
        .map_err(|e| TransportError::Io(format!("bind {bind}: {e}")))?;
    Ok(socket.into())
}

/// A QUIC endpoint on `bind` that both accepts (mutual TLS) and dials.
pub fn endpoint(
    bind: SocketAddr,
    creds: &NodeCredentials,
    params: &TransportParams,
) -> Result<Endpoint, TransportError> {
    endpoint_on(udp_socket(bind)?, creds, params)
}

/// Like [`endpoint`], on a socket that is already bound.
pub fn endpoint_on(
    socket: std::net::UdpSocket,
    creds: &NodeCredentials,
    params: &TransportParams,
) -> Result<Endpoint, TransportError> {
    let local = socket
        .local_addr()
        .map_err(|e| TransportError::Io(format!("socket address: {e}")))?;
    let runtime = quinn::default_runtime()
        .ok_or_else(|| TransportError::Io("no async runtime for QUIC".to_string()))?;
    // Accept datagrams of any size a peer's plan may choose.
    let mut config = quinn::EndpointConfig::default();
    config
        .max_udp_payload_size(MAX_DATAGRAM)
        .map_err(|e| TransportError::Io(format!("QUIC endpoint: {e}")))?;
    let socket = runtime
        .wrap_udp_socket(socket)
        .map_err(|e| TransportError::Io(format!("UDP socket on {local}: {e}")))?;
    let mut endpoint = Endpoint::new_with_abstract_socket(
        config,
        Some(server_config(creds, params)?),
        crate::gso::GsoLimited::new(socket),
        runtime,
    )
    .map_err(|e| TransportError::Io(format!("QUIC endpoint on {local}: {e}")))?;
    endpoint.set_default_client_config(client_config(creds, params)?);
    Ok(endpoint)
}

/// The certificate the peer of `conn` presented (its leaf, DER).
pub fn peer_leaf(conn: &quinn::Connection) -> Option<Vec<u8>> {
    let identity = conn.peer_identity()?;
    let certs = identity.downcast::<Vec<CertificateDer<'static>>>().ok()?;
    certs.first().map(|c| c.as_ref().to_vec())
}
