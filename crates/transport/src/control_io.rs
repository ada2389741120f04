//! Reading and writing framed control messages on QUIC streams.

use quinn::{RecvStream, SendStream};
use serde::Serialize;
use wire::frame::{parse_header, HEADER_LEN};

use crate::TransportError;

pub async fn send<T: Serialize>(stream: &mut SendStream, msg: &T) -> Result<(), TransportError> {
    let bytes = wire::control::encode(msg)?;
    stream
        .write_all(&bytes)
        .await
        .map_err(|e| TransportError::Io(format!("control stream write: {e}")))
}

/// Reads one frame and returns its payload; `Ok(None)` at a clean end of stream.
pub async fn recv_payload(stream: &mut RecvStream) -> Result<Option<Vec<u8>>, TransportError> {
    let mut header = [0u8; HEADER_LEN];
    match stream.read_exact(&mut header).await {
        Ok(()) => {}
        Err(quinn::ReadExactError::FinishedEarly(0)) => return Ok(None),
        Err(e) => return Err(TransportError::Io(format!("control stream read: {e}"))),
    }
    let len = parse_header(&header)?;
    let mut payload = vec![0u8; len];
    stream
        .read_exact(&mut payload)
        .await
        .map_err(|e| TransportError::Io(format!("control stream read: {e}")))?;
    Ok(Some(payload))
}
