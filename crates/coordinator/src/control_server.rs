//! The coordinator's control endpoint: accepts nodes, checks who they are, and turns their
//! control streams into [`Event`]s.
//!
//! A node must complete mutual TLS with a certificate from the run's CA, then register with the
//! run's token, for a rank whose certificate is the one it presented. Anything else is refused
//! and reported as [`Event::Refused`]; the run goes on.

use std::sync::Arc;
use std::time::Duration;

use quinn::{Endpoint, Incoming};
use run_core::Registration;
use tokio::sync::mpsc;
use transport::control_io;
use transport::credentials::{constant_time_eq, RunCredentials};
use transport::tls::peer_leaf;
use wire::control::{decode_from_node, FromNode, PROTOCOL};

use crate::events::{Event, Registered};

/// QUIC application error code for a refused registration.
const REFUSED: u32 = 0x52;

pub fn spawn_acceptor(
    endpoint: Endpoint,
    creds: Arc<RunCredentials>,
    nranks: usize,
    events: mpsc::UnboundedSender<Event>,
) {
    tokio::spawn(async move {
        while let Some(incoming) = endpoint.accept().await {
            tokio::spawn(admit(incoming, creds.clone(), nranks, events.clone()));
        }
    });
}

async fn admit(
    incoming: Incoming,
    creds: Arc<RunCredentials>,
    nranks: usize,
    events: mpsc::UnboundedSender<Event>,
) {
    let remote = incoming.remote_address();
    let refused = |reason: String| Event::Refused { remote, reason };
    let conn = match incoming.await {
        Ok(c) => c,
        Err(e) => {
            let _ = events.send(refused(format!("TLS handshake failed: {e}")));
            return;
        }
    };
    let registration = register(&conn, &creds, nranks);
    match tokio::time::timeout(Duration::from_secs(10), registration).await {
        Ok(Ok((reg, recv))) => {
            let rank = reg.registration.rank;
            let _ = events.send(Event::Registered(Box::new(reg)));
            read_loop(rank, recv, events).await;
        }
        Ok(Err(reason)) => {
            conn.close(REFUSED.into(), b"refused");
            let _ = events.send(refused(reason));
        }
        Err(_) => {
            conn.close(REFUSED.into(), b"too slow");
            let _ = events.send(refused("did not register within 10 s".into()));
        }
    }
}

/// Reads a new connection's registration and checks it: the protocol, the run's token, the rank
/// count, and that the certificate presented is the one issued for the rank claimed. The reason
/// when it is refused.
async fn register(
    conn: &quinn::Connection,
    creds: &RunCredentials,
    nranks: usize,
) -> Result<(Registered, quinn::RecvStream), String> {
    let (send, mut recv) = conn
        .accept_bi()
        .await
        .map_err(|e| format!("no control stream: {e}"))?;
    let payload = control_io::recv_payload(&mut recv)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("closed before registering")?;
    let msg = decode_from_node(&payload).map_err(|e| e.to_string())?;
    let FromNode::Register {
        protocol,
        token,
        rank,
        nranks: claimed,
        data_addr,
        host,
        pid,
        cpus,
        machine,
        cpu_quota,
        facts,
    } = msg
    else {
        return Err("first message was not a registration".to_string());
    };
    if protocol != PROTOCOL {
        return Err(format!(
            "protocol {protocol}, this coordinator speaks {PROTOCOL}"
        ));
    }
    if !constant_time_eq(token.as_bytes(), creds.token.as_bytes()) {
        return Err(format!("wrong run token (claimed rank {rank})"));
    }
    let rank = rank as usize;
    if claimed as usize != nranks {
        return Err(format!(
            "rank {rank} was started for {claimed} ranks, the run has {nranks}"
        ));
    }
    let presented = peer_leaf(conn).ok_or("no client certificate")?;
    if creds.ranks.get(rank).map(|id| id.cert_der.as_slice()) != Some(presented.as_slice()) {
        return Err(format!("certificate is not the one issued to rank {rank}"));
    }
    Ok((
        Registered {
            registration: Registration {
                rank,
                host,
                pid,
                data_addr,
                // Checked when the message was decoded.
                cpus: wire::cpus::parse(&cpus).unwrap_or_default(),
                machine,
                cpu_quota,
                facts,
            },
            conn: conn.clone(),
            send,
        },
        recv,
    ))
}

async fn read_loop(rank: usize, mut recv: quinn::RecvStream, events: mpsc::UnboundedSender<Event>) {
    loop {
        let event = match control_io::recv_payload(&mut recv).await {
            Ok(Some(payload)) => match decode_from_node(&payload) {
                Ok(msg) => Event::Node { rank, msg },
                Err(e) => Event::Lost {
                    rank,
                    error: format!("sent an invalid message: {e}"),
                },
            },
            Ok(None) => Event::Lost {
                rank,
                error: "closed its control stream".into(),
            },
            Err(e) => Event::Lost {
                rank,
                error: e.to_string(),
            },
        };
        let last = matches!(event, Event::Lost { .. });
        if events.send(event).is_err() || last {
            return;
        }
    }
}
