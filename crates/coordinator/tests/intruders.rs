//! Processes without the run's credentials cannot join the control plane or the data plane.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bench_node::datalink::Links;
use coordinator::events::Event;
use tokio::sync::mpsc;
use transport::control_io;
use transport::credentials::{NodeCredentials, RunCredentials, COORDINATOR_NAME};
use transport::tls;
use wire::control::{FromNode, PeerInfo, TransportParams, PROTOCOL};

const PARAMS: TransportParams = TransportParams {
    datagram_bytes: wire::control::ETHERNET_DATAGRAM,
    unencrypted: false,
    stream_receive_window: 1 << 20,
    receive_window: 2 << 20,
    send_window: 2 << 20,
    idle_timeout_ms: 5_000,
};

fn loopback() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Connects to the coordinator as `creds` and registers as `rank` with `token`.
async fn try_register(coord: SocketAddr, creds: &NodeCredentials, rank: u32, token: &str) {
    let ep = tls::endpoint(loopback(), creds, &PARAMS).unwrap();
    let Ok(connecting) = ep.connect(coord, COORDINATOR_NAME) else {
        return;
    };
    let Ok(Ok(conn)) = tokio::time::timeout(Duration::from_secs(5), connecting).await else {
        return;
    };
    let Ok((mut send, _recv)) = conn.open_bi().await else {
        return;
    };
    let msg = FromNode::Register {
        protocol: PROTOCOL,
        token: token.to_string(),
        rank,
        nranks: 2,
        data_addr: "127.0.0.1:9".into(),
        host: "intruder".into(),
        pid: 1,
        cpus: "0".into(),
        machine: "intruder".into(),
        cpu_quota: None,
        facts: Default::default(),
    };
    let _ = control_io::send(&mut send, &msg).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), conn.closed()).await;
}

async fn next_event(rx: &mut mpsc::UnboundedReceiver<Event>) -> Event {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event")
        .expect("open")
}

#[test]
fn control_plane_refuses_foreign_certificates_wrong_tokens_and_stolen_ranks() {
    runtime().block_on(async {
        let run = Arc::new(RunCredentials::generate("test", 2).unwrap());
        let other = RunCredentials::generate("other", 2).unwrap();
        let ep = tls::endpoint(loopback(), &run.coordinator_credentials(), &PARAMS).unwrap();
        let addr = ep.local_addr().unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        coordinator::control_server::spawn_acceptor(ep, run.clone(), 2, tx);

        // A certificate from another CA (the intruder knows the public CA cert and the token).
        let mut foreign = other.for_rank(0);
        foreign.ca_der = run.ca_der.clone();
        try_register(addr, &foreign, 0, &run.token).await;
        match next_event(&mut rx).await {
            Event::Refused { reason, .. } => {
                assert!(reason.contains("TLS handshake failed"), "{reason}")
            }
            _ => panic!("a foreign certificate was not refused"),
        }

        // The right CA and certificate, the wrong token.
        try_register(addr, &run.for_rank(0), 0, "not-the-token").await;
        match next_event(&mut rx).await {
            Event::Refused { reason, .. } => {
                assert!(reason.contains("wrong run token"), "{reason}")
            }
            _ => panic!("a wrong token was not refused"),
        }

        // Rank 1's certificate claiming rank 0.
        try_register(addr, &run.for_rank(1), 0, &run.token).await;
        match next_event(&mut rx).await {
            Event::Refused { reason, .. } => {
                assert!(reason.contains("not the one issued to rank 0"), "{reason}")
            }
            _ => panic!("a stolen rank was not refused"),
        }

        // The real rank 0 is admitted.
        let good = run.for_rank(0);
        let join =
            tokio::spawn(async move { try_register(addr, &good, 0, &good.token.clone()).await });
        match next_event(&mut rx).await {
            Event::Registered(r) => assert_eq!(r.registration.rank, 0),
            _ => panic!("the real node was not admitted"),
        }
        join.abort();
    });
}

#[test]
fn data_plane_accepts_only_the_scheduled_peer() {
    runtime().block_on(async {
        let run = RunCredentials::generate("test", 3).unwrap();
        let eps: Vec<_> = (0..3)
            .map(|r| tls::endpoint(loopback(), &run.for_rank(r), &PARAMS).unwrap())
            .collect();
        let b64 = |d: &[u8]| base64_encode(d);
        let peers: Vec<PeerInfo> = (0..3)
            .map(|r| PeerInfo {
                rank: r as u32,
                data_addrs: vec![eps[r].local_addr().unwrap().to_string()],
                cert_der_b64: b64(&run.ranks[r].cert_der),
            })
            .collect();
        let rank1_addr = eps[1].local_addr().unwrap();

        // Rank 2 has a valid certificate from the run but is not rank 1's scheduled peer;
        // an outsider has a certificate from another CA. Both knock before rank 0 does.
        let outsider_creds = {
            let mut c = RunCredentials::generate("other", 1).unwrap().for_rank(0);
            c.ca_der = run.ca_der.clone();
            c
        };
        let outsider = tls::endpoint(loopback(), &outsider_creds, &PARAMS).unwrap();
        let knock = |ep: quinn::Endpoint, name: &'static str| async move {
            match ep.connect(rank1_addr, name).unwrap().await {
                Ok(conn) => conn.closed().await.to_string(),
                Err(e) => e.to_string(),
            }
        };
        let stray = tokio::spawn(knock(eps[2].clone(), "rank-1.collbench.invalid"));
        let foreign = tokio::spawn(knock(outsider, "rank-1.collbench.invalid"));

        // Rank 1 waits for rank 0, its only scheduled peer; rank 0 comes late on purpose, so the
        // two knocks arrive first and must be refused while rank 1 waits.
        let only_zero: std::collections::BTreeSet<usize> = [0].into();
        let only_one: std::collections::BTreeSet<usize> = [1].into();
        let server =
            |r: usize| std::sync::Arc::new(tls::server_config(&run.for_rank(r), &PARAMS).unwrap());
        let (server0, server1) = (server(0), server(1));
        let (a, b) = tokio::join!(
            Links::connect(
                &eps[1],
                1,
                0,
                &only_zero,
                &peers,
                &server1,
                Duration::from_secs(10)
            ),
            async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                Links::connect(
                    &eps[0],
                    0,
                    0,
                    &only_one,
                    &peers,
                    &server0,
                    Duration::from_secs(10),
                )
                .await
            },
        );
        assert!(a.is_ok() && b.is_ok(), "the scheduled pair did not connect");
        bench_node::datalink::refuse_latecomers(eps[1].clone());
        let stray_result = tokio::time::timeout(Duration::from_secs(10), stray)
            .await
            .unwrap()
            .unwrap();
        let foreign_result = tokio::time::timeout(Duration::from_secs(10), foreign)
            .await
            .unwrap()
            .unwrap();
        assert!(
            stray_result.contains("not a scheduled peer") || stray_result.contains("refused"),
            "stray: {stray_result}"
        );
        assert!(
            !foreign_result.is_empty(),
            "foreign certificate got through"
        );
        // Both were counted (the process's refusals, logged in summary).
        assert!(
            bench_node::refused::total() >= 2,
            "{}",
            bench_node::refused::total()
        );
    });
}

/// Knocks at a running run's data plane with a certificate from another CA: refused, counted
/// by the node, and recorded in results.json, while the run finishes correct.
#[test]
fn refused_attempts_during_a_run_are_recorded_with_its_results() {
    let dir = common::tempdir("refused");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_collbench"))
        .args([
            "run", "--np", "2", "-b", "1M", "-e", "16M", "-f", "2", "-n", "20", "-w", "1",
        ])
        .arg("--out")
        .arg(&dir)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The ranks' data-plane addresses, once results.json has them.
    let start = std::time::Instant::now();
    let target: SocketAddr = loop {
        let addr = std::fs::read_to_string(dir.join("results.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| {
                v["config"]["hosts"][0]["data_addrs"][0]
                    .as_str()
                    .map(str::to_owned)
            });
        if let Some(a) = addr {
            break a.parse().unwrap();
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no hosts in results.json"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    runtime().block_on(async {
        let outsider = RunCredentials::generate("outsider", 1).unwrap().for_rank(0);
        let ep = tls::endpoint(loopback(), &outsider, &PARAMS).unwrap();
        for _ in 0..3 {
            if let Ok(connecting) = ep.connect(target, "rank-0.collbench.invalid") {
                let _ = tokio::time::timeout(Duration::from_secs(5), connecting).await;
            }
        }
    });
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.join("results.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let refused = v["refused"]["data-plane connection"].as_u64().unwrap_or(0);
    assert!(refused >= 3, "{}", v["refused"]);
    for row in v["results"].as_array().unwrap() {
        assert_eq!(row["nwrong"], 0, "{row}");
    }
}

fn base64_encode(d: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(d)
}
