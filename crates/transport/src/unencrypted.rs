//! `--no-encryption`: the data plane's QUIC with packet payloads left in clear, to attribute
//! its cost (never the default; results and output say so).
//!
//! The TLS 1.3 handshake runs unchanged, so each peer still proves it holds the certificate the
//! coordinator pinned; only the packet protection keys that come out of it are swapped for ones
//! that leave the payload as it is. Both ends must agree (the plan tells every node): a protected
//! and an unprotected end cannot read each other's packets. The AEAD tag's bytes are still sent,
//! so packets have the same sizes as with encryption and only the cipher work is gone. Header
//! protection (one AES block per packet) and the Initial packets are kept.

use std::any::Any;
use std::sync::Arc;

use bytes::BytesMut;
use quinn::crypto::{
    ClientConfig, CryptoError, ExportKeyingMaterialError, HeaderKey, KeyPair, Keys, PacketKey,
    ServerConfig, Session, UnsupportedVersion,
};
use quinn::{ConnectError, ConnectionId, Side};
use quinn_proto::transport_parameters::TransportParameters;
use quinn_proto::TransportError;

/// A client crypto configuration whose sessions leave payloads in clear.
pub struct ClearClient(pub Arc<dyn ClientConfig>);

/// A server crypto configuration whose sessions leave payloads in clear.
pub struct ClearServer(pub Arc<dyn ServerConfig>);

impl ClientConfig for ClearClient {
    fn start_session(
        self: Arc<Self>,
        version: u32,
        server_name: &str,
        params: &TransportParameters,
    ) -> Result<Box<dyn Session>, ConnectError> {
        let inner = self.0.clone().start_session(version, server_name, params)?;
        Ok(Box::new(ClearSession(inner)))
    }
}

impl ServerConfig for ClearServer {
    fn initial_keys(
        &self,
        version: u32,
        dst_cid: &ConnectionId,
    ) -> Result<Keys, UnsupportedVersion> {
        self.0.initial_keys(version, dst_cid)
    }

    fn retry_tag(&self, version: u32, orig_dst_cid: &ConnectionId, packet: &[u8]) -> [u8; 16] {
        self.0.retry_tag(version, orig_dst_cid, packet)
    }

    fn start_session(
        self: Arc<Self>,
        version: u32,
        params: &TransportParameters,
    ) -> Box<dyn Session> {
        Box::new(ClearSession(self.0.clone().start_session(version, params)))
    }
}

/// The TLS session, with every packet key after the Initial ones replaced by [`ClearKey`].
struct ClearSession(Box<dyn Session>);

impl Session for ClearSession {
    fn initial_keys(&self, dst_cid: &ConnectionId, side: Side) -> Keys {
        self.0.initial_keys(dst_cid, side)
    }
    fn handshake_data(&self) -> Option<Box<dyn Any>> {
        self.0.handshake_data()
    }
    fn peer_identity(&self) -> Option<Box<dyn Any>> {
        self.0.peer_identity()
    }
    fn early_crypto(&self) -> Option<(Box<dyn HeaderKey>, Box<dyn PacketKey>)> {
        // No 0-RTT on the data plane.
        None
    }
    fn early_data_accepted(&self) -> Option<bool> {
        self.0.early_data_accepted()
    }
    fn is_handshaking(&self) -> bool {
        self.0.is_handshaking()
    }
    fn read_handshake(&mut self, buf: &[u8]) -> Result<bool, TransportError> {
        self.0.read_handshake(buf)
    }
    fn transport_parameters(&self) -> Result<Option<TransportParameters>, TransportError> {
        self.0.transport_parameters()
    }
    fn write_handshake(&mut self, buf: &mut Vec<u8>) -> Option<Keys> {
        self.0.write_handshake(buf).map(|k| Keys {
            header: k.header,
            packet: clear_pair(k.packet),
        })
    }
    fn next_1rtt_keys(&mut self) -> Option<KeyPair<Box<dyn PacketKey>>> {
        self.0.next_1rtt_keys().map(clear_pair)
    }
    fn is_valid_retry(&self, orig_dst_cid: &ConnectionId, header: &[u8], payload: &[u8]) -> bool {
        self.0.is_valid_retry(orig_dst_cid, header, payload)
    }
    fn export_keying_material(
        &self,
        output: &mut [u8],
        label: &[u8],
        context: &[u8],
    ) -> Result<(), ExportKeyingMaterialError> {
        self.0.export_keying_material(output, label, context)
    }
}

fn clear_pair(pair: KeyPair<Box<dyn PacketKey>>) -> KeyPair<Box<dyn PacketKey>> {
    KeyPair {
        local: Box::new(ClearKey(pair.local)),
        remote: Box::new(ClearKey(pair.remote)),
    }
}

/// A packet key that leaves the payload in clear and the tag's bytes unused; the real key only
/// answers for the tag's length and the key's limits.
struct ClearKey(Box<dyn PacketKey>);

impl PacketKey for ClearKey {
    fn encrypt(&self, _packet: u64, _buf: &mut [u8], _header_len: usize) {}

    fn decrypt(
        &self,
        _packet: u64,
        _header: &[u8],
        payload: &mut BytesMut,
    ) -> Result<(), CryptoError> {
        let tag = self.0.tag_len();
        if payload.len() < tag {
            return Err(CryptoError);
        }
        payload.truncate(payload.len() - tag);
        Ok(())
    }

    fn tag_len(&self) -> usize {
        self.0.tag_len()
    }

    fn confidentiality_limit(&self) -> u64 {
        self.0.confidentiality_limit()
    }

    fn integrity_limit(&self) -> u64 {
        self.0.integrity_limit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stands in for a real AEAD key: only its tag length and limits are asked for.
    struct Tag16;

    impl PacketKey for Tag16 {
        fn encrypt(&self, _: u64, _: &mut [u8], _: usize) {
            unreachable!("the clear key never encrypts")
        }
        fn decrypt(&self, _: u64, _: &[u8], _: &mut BytesMut) -> Result<(), CryptoError> {
            unreachable!("the clear key never decrypts")
        }
        fn tag_len(&self) -> usize {
            16
        }
        fn confidentiality_limit(&self) -> u64 {
            7
        }
        fn integrity_limit(&self) -> u64 {
            9
        }
    }

    #[test]
    fn payload_passes_in_clear_and_the_tag_is_dropped() {
        let key = ClearKey(Box::new(Tag16));
        let mut packet = vec![1u8, 2, 3, 4];
        packet.extend_from_slice(&[0u8; 16]);
        key.encrypt(5, &mut packet, 2);
        assert_eq!(&packet[..4], &[1, 2, 3, 4], "nothing encrypted");
        let mut payload = BytesMut::from(&packet[2..]);
        key.decrypt(5, &packet[..2], &mut payload).unwrap();
        assert_eq!(&payload[..], &[3, 4]);
        assert_eq!(
            (
                key.tag_len(),
                key.confidentiality_limit(),
                key.integrity_limit()
            ),
            (16, 7, 9)
        );
    }

    #[test]
    fn a_payload_shorter_than_the_tag_is_an_error() {
        let key = ClearKey(Box::new(Tag16));
        let mut payload = BytesMut::from(&[0u8; 15][..]);
        assert!(key.decrypt(0, &[], &mut payload).is_err());
    }
}
