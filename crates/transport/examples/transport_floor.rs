//! The transport's own CPU cost per byte on this machine: QUIC as collbench configures it against
//! plain TCP, on loopback, with nothing else in the way.
//!
//! ```text
//! cargo run --release -p transport --example transport_floor -- [--bytes 2G] [--mode all] [--rounds 2]
//! ```
//!
//! # What it measures
//!
//! One sender process moves `--bytes` to one receiver process over 127.0.0.1, and each process
//! measures its own user + system CPU time over the transfer (`/proc/self/stat`, all threads). Two
//! processes, as in collbench, where every rank is a process of its own: the example starts
//! itself again as the receiver.
//!
//! - `quic`: the data plane's QUIC exactly as a node builds it: `RunCredentials::generate` and
//!   `for_rank`, `transport::tls::endpoint` (mutual TLS 1.3, AES-128-GCM first, ring), with the
//!   transport parameters the coordinator picks on loopback (see [`loopback_params`]): 8952-byte
//!   datagrams, GSO batches capped by `transport::gso`, 10 MB stream and 20 MB connection
//!   windows. Each process runs a current-thread tokio runtime, as a node does. The sender writes
//!   one 1 MiB `Bytes` again and again (`write_chunk` of a clone: no copy) on one unidirectional
//!   stream; the receiver takes what arrives with `read_chunk(usize::MAX, true)` and drops it.
//! - `quic-clear`: the same with packet payloads left in clear (collbench's `--no-encryption`):
//!   the difference to `quic` is the cipher's share.
//! - `tcp`: a blocking `std::net::TcpStream`; the sender writes a 1 MiB buffer again and again,
//!   the receiver reads into a 1 MiB buffer. Only the kernel copies, as with Gloo.
//!
//! Wall time runs from the sender's first write until the receiver's report (sent back over the
//! same connection once it has counted every byte) arrives, so it includes one round trip. CPU
//! time covers the same span in each process; process start, the TLS handshake and connection
//! set-up are left out.
//!
//! # What it does not measure
//!
//! No reduction, no copies into or out of application buffers, no message framing, no schedule,
//! one stream in one direction, no busy polling (a node's `poll_us`) and no other ranks competing
//! for the cores. collbench's data plane does all of that on top, so its CPU per byte can only be
//! higher: this is a floor. Likewise TCP here is cheaper than Gloo, which also reduces and copies.
//!
//! # What it implies
//!
//! In a ring all-reduce at busbw B, every rank sends B and receives B bytes per second, each byte
//! sent by one rank is received by another, so the p ranks together move p x B bytes per second.
//! If moving one GB costs c CPU-seconds (sender and receiver together), C cores cap busbw at
//! C / (p x c) GB/s, whatever the algorithm. The table prints that ceiling for p = 4 and C = the
//! online CPUs; if QUIC's ceiling is below what Gloo reaches over TCP, collbench cannot catch up
//! on this machine.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use bytes::Bytes;
use clap::{Parser, ValueEnum};
use transport::credentials::{rank_name, NodeCredentials, RunCredentials};
use transport::gso::segments_for;
use transport::settings::{self, DEFAULT_RATE_BPS, DEFAULT_RTT_S, IDLE_TIMEOUT_MS, JUMBO_MTU};
use wire::control::TransportParams;

/// What the sender writes and the receiver reads at a time.
const CHUNK: usize = 1 << 20;
/// Ranks of the all-reduce whose busbw ceiling is printed.
const RANKS: f64 = 4.0;
/// How long set-up steps (dial, accept, the receiver's exit) may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The data plane's transport parameters on loopback, from the function the coordinator uses
/// (orchestrate.rs): no `--link-rate`, so the default rate and RTT, the data plane's idle
/// timeout, and the local launcher's loopback MTU (`JUMBO_MTU`). That comes to a 10,000,000-byte
/// stream window (twice 40 Gbit/s x 1 ms), 20,000,000-byte connection receive and send windows
/// and 8952-byte datagrams (`datagram_bytes(JUMBO_MTU)`): the numbers this example used to repeat
/// by hand (`settings`' tests check them).
fn loopback_params(unencrypted: bool) -> TransportParams {
    TransportParams {
        unencrypted,
        ..settings::params(DEFAULT_RATE_BPS, DEFAULT_RTT_S, IDLE_TIMEOUT_MS, JUMBO_MTU)
    }
}

/// CPU per byte of QUIC (as collbench configures it) and of TCP, on loopback, between two
/// processes; see the doc comment of examples/transport_floor.rs.
#[derive(Parser, Debug)]
#[command(name = "transport_floor")]
struct Cli {
    /// Bytes per transfer: a whole number with an optional K, M, G or T suffix (powers of 1024,
    /// as nccl-tests reads them). CPU time has a resolution of 1/CLK_TCK (10 ms), so use at least
    /// a few hundred MiB.
    #[arg(long, default_value = "2G", value_parser = parse_size)]
    bytes: u64,

    /// Which transport to measure: tcp, quic (TLS 1.3, AES-128-GCM), quic-clear (QUIC with
    /// payloads left in clear, collbench's --no-encryption) or all three, interleaved.
    #[arg(long, value_enum, default_value_t = Mode::All)]
    mode: Mode,

    /// How many times to run each transport (interleaved: tcp, quic, quic-clear, tcp, ...); a
    /// median row per transport follows the runs.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1000))]
    rounds: u32,

    /// Internal: run as the receiving process of one transfer.
    #[arg(long, value_enum, hide = true)]
    receiver: Option<Transport>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    Tcp,
    Quic,
    QuicClear,
    All,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Transport {
    Tcp,
    Quic,
    QuicClear,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Quic => "quic",
            Transport::QuicClear => "quic-clear",
        }
    }
}

/// Parses `123`, `8K`, `512M`, `2G` into bytes (binary multiples), as collbench's `-b` does.
fn parse_size(s: &str) -> Result<u64, String> {
    match scale_model::units::parse_size(s) {
        Ok(0) => Err("must be more than 0 bytes".into()),
        Ok(bytes) => Ok(bytes),
        Err(e) => Err(e.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// CPU time

/// User and system CPU time of this process so far (all its threads), in clock ticks.
#[derive(Clone, Copy, Debug, Default)]
struct Ticks {
    user: u64,
    sys: u64,
}

impl Ticks {
    fn now() -> Result<Ticks> {
        let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
        // The command name (field 2) may hold spaces and parentheses; the rest follows its ')'.
        let rest = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .ok_or_else(|| anyhow!("/proc/self/stat has no ')': {stat:?}"))?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // Fields 14 (utime) and 15 (stime) of proc(5); `rest` starts at field 3.
        let field = |n: usize| -> Result<u64> {
            let s = fields
                .get(n - 3)
                .ok_or_else(|| anyhow!("/proc/self/stat has no field {n}"))?;
            s.parse()
                .with_context(|| format!("/proc/self/stat field {n} is {s:?}"))
        };
        Ok(Ticks {
            user: field(14)?,
            sys: field(15)?,
        })
    }

    fn since(self, before: Ticks) -> Ticks {
        Ticks {
            user: self.user.saturating_sub(before.user),
            sys: self.sys.saturating_sub(before.sys),
        }
    }
}

/// Clock ticks per second of /proc/self/stat, from `getconf CLK_TCK` (the example does not use
/// `unsafe`, so it cannot call sysconf itself), else Linux's 100; says which.
fn clock_ticks() -> (f64, &'static str) {
    let asked = Command::new("getconf")
        .arg("CLK_TCK")
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<u32>().ok())
        .filter(|&hz| hz > 0);
    match asked {
        Some(hz) => (f64::from(hz), "from getconf CLK_TCK"),
        None => (100.0, "assumed: getconf CLK_TCK gave no answer"),
    }
}

// ---------------------------------------------------------------------------------------------
// The receiving process

/// What the receiver sends back over the data connection once it has counted every byte.
struct Report {
    bytes: u64,
    cpu: Ticks,
}

impl Report {
    fn encode(&self) -> String {
        format!(
            "bytes={} utime={} stime={}\n",
            self.bytes, self.cpu.user, self.cpu.sys
        )
    }

    fn decode(raw: &[u8]) -> Result<Report> {
        let text = std::str::from_utf8(raw).context("the receiver's report is not text")?;
        let mut bytes = None;
        let mut user = None;
        let mut sys = None;
        for word in text.split_whitespace() {
            let (key, value) = word
                .split_once('=')
                .ok_or_else(|| anyhow!("malformed receiver report {text:?}"))?;
            let value: u64 = value
                .parse()
                .with_context(|| format!("malformed receiver report {text:?}"))?;
            match key {
                "bytes" => bytes = Some(value),
                "utime" => user = Some(value),
                "stime" => sys = Some(value),
                _ => bail!("malformed receiver report {text:?}"),
            }
        }
        match (bytes, user, sys) {
            (Some(bytes), Some(user), Some(sys)) => Ok(Report {
                bytes,
                cpu: Ticks { user, sys },
            }),
            _ => bail!("incomplete receiver report {text:?}"),
        }
    }
}

/// Tells the parent where to connect: the one line the receiver writes on stdout.
fn announce(addr: SocketAddr) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "addr {addr}").context("writing the address to the parent")?;
    out.flush().context("writing the address to the parent")
}

/// Ends this process when the parent goes away (its end of our stdin closes), so a receiver
/// never outlives an interrupted measurement. The thread sleeps in `read` and costs no CPU.
fn exit_with_parent() -> Result<()> {
    std::thread::Builder::new()
        .name("parent-watch".into())
        .spawn(|| {
            let mut sink = [0u8; 64];
            let mut stdin = std::io::stdin();
            loop {
                match stdin.read(&mut sink) {
                    Ok(0) | Err(_) => {
                        eprintln!("transport_floor receiver: the parent went away; exiting");
                        std::process::exit(3);
                    }
                    Ok(_) => {}
                }
            }
        })
        .context("starting the parent watch thread")?;
    Ok(())
}

fn receive(transport: Transport, expected: u64) -> Result<()> {
    exit_with_parent()?;
    let got = match transport {
        Transport::Tcp => receive_tcp()?,
        Transport::Quic => receive_quic(false)?,
        Transport::QuicClear => receive_quic(true)?,
    };
    ensure!(got == expected, "received {got} bytes, expected {expected}");
    Ok(())
}

fn receive_tcp() -> Result<u64> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding a TCP listener")?;
    announce(listener.local_addr().context("TCP listener address")?)?;
    let (mut stream, _) = listener.accept().context("accepting the sender")?;
    let mut buf = vec![0u8; CHUNK];
    let before = Ticks::now()?;
    let mut got = 0u64;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).context("reading from the sender"),
        }
    }
    let cpu = Ticks::now()?.since(before);
    stream
        .write_all(Report { bytes: got, cpu }.encode().as_bytes())
        .context("sending the report")?;
    stream
        .shutdown(Shutdown::Write)
        .context("closing the connection")?;
    Ok(got)
}

/// A current-thread runtime, as a node runs (`coordinator::cli_main`).
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn receive_quic(unencrypted: bool) -> Result<u64> {
    let creds = NodeCredentials::from_env().context("the receiver's credentials")?;
    let params = loopback_params(unencrypted);
    runtime()?.block_on(async move {
        let endpoint = transport::tls::endpoint(([127, 0, 0, 1], 0).into(), &creds, &params)
            .context("the receiver's QUIC endpoint")?;
        announce(endpoint.local_addr().context("QUIC endpoint address")?)?;
        let incoming = tokio::time::timeout(SETUP_TIMEOUT, endpoint.accept())
            .await
            .context("no connection from the sender")?
            .ok_or_else(|| anyhow!("the endpoint closed before the sender dialled"))?;
        let conn = incoming
            .accept()
            .context("accepting the sender")?
            .await
            .context("handshake with the sender")?;
        let before = Ticks::now()?;
        let mut recv = conn.accept_uni().await.context("the sender's stream")?;
        let mut got = 0u64;
        while let Some(chunk) = recv
            .read_chunk(usize::MAX, true)
            .await
            .context("reading the sender's stream")?
        {
            got += chunk.bytes.len() as u64;
        }
        let cpu = Ticks::now()?.since(before);
        let mut back = conn.open_uni().await.context("opening the report stream")?;
        back.write_all(Report { bytes: got, cpu }.encode().as_bytes())
            .await
            .context("sending the report")?;
        back.finish().context("finishing the report stream")?;
        // The sender closes the connection once it has the report; until then keep answering.
        let _ = tokio::time::timeout(SETUP_TIMEOUT, conn.closed()).await;
        endpoint.close(0u32.into(), b"done");
        Ok(got)
    })
}

// ---------------------------------------------------------------------------------------------
// The sending process

/// The receiver process; killed if the measurement ends early.
struct Receiver {
    child: Child,
    /// Held open for the receiver's lifetime: it exits when this closes.
    stdin: Option<ChildStdin>,
    stdout: BufReader<std::process::ChildStdout>,
    done: bool,
}

impl Receiver {
    fn start(transport: Transport, bytes: u64, creds: Option<&NodeCredentials>) -> Result<Self> {
        let exe = std::env::current_exe().context("locating this executable")?;
        let mut cmd = Command::new(&exe);
        cmd.arg("--receiver")
            .arg(transport.name())
            .arg("--bytes")
            .arg(bytes.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, value) in creds.map(NodeCredentials::to_env).unwrap_or_default() {
            cmd.env(key, value);
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting the receiver {}", exe.display()))?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("the receiver has no stdout"))?;
        Ok(Receiver {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            done: false,
        })
    }

    /// The address the receiver listens on (the first line it writes).
    fn address(&mut self) -> Result<SocketAddr> {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .context("reading the receiver's address")?;
        let addr = line
            .trim()
            .strip_prefix("addr ")
            .ok_or_else(|| anyhow!("the receiver did not start (it said {line:?})"))?;
        addr.parse()
            .with_context(|| format!("the receiver's address {addr:?}"))
    }

    /// Waits for the receiver to exit by itself and checks that it succeeded.
    fn finish(mut self) -> Result<()> {
        let deadline = Instant::now() + SETUP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().context("waiting for the receiver")? {
                self.done = true;
                ensure!(status.success(), "the receiver failed ({status})");
                return Ok(());
            }
            ensure!(
                Instant::now() < deadline,
                "the receiver did not exit within {SETUP_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stdin.take();
        if !self.done {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One transfer as the sender saw it.
struct Run {
    transport: Transport,
    bytes: u64,
    wall_s: f64,
    sender: Ticks,
    receiver: Ticks,
    /// QUIC only: what the sender's connection counted.
    quic: Option<quinn::ConnectionStats>,
}

impl Run {
    /// The transfer as the sender timed it (`wall_s`, its own CPU), once the receiver's report
    /// says every byte arrived.
    fn confirmed(
        transport: Transport,
        bytes: u64,
        (wall_s, sender): (f64, Ticks),
        report: &[u8],
        quic: Option<quinn::ConnectionStats>,
    ) -> Result<Run> {
        let report = Report::decode(report)?;
        ensure!(
            report.bytes == bytes,
            "the receiver got {} bytes of {bytes}",
            report.bytes
        );
        Ok(Run {
            transport,
            bytes,
            wall_s,
            sender,
            receiver: report.cpu,
            quic,
        })
    }
}

/// 1 MiB that is not all zeros (a zeroed allocation could be the kernel's shared zero page).
fn payload() -> Vec<u8> {
    (0..CHUNK).map(|i| (i % 251) as u8).collect()
}

fn send(transport: Transport, bytes: u64, creds: &RunCredentials) -> Result<Run> {
    let quic_creds = (transport != Transport::Tcp).then(|| creds.for_rank(1));
    let mut receiver = Receiver::start(transport, bytes, quic_creds.as_ref())?;
    let addr = receiver.address()?;
    let run = match transport {
        Transport::Tcp => send_tcp(addr, bytes),
        Transport::Quic => send_quic(addr, bytes, creds, false),
        Transport::QuicClear => send_quic(addr, bytes, creds, true),
    }
    .with_context(|| format!("{} transfer", transport.name()))?;
    receiver.finish()?;
    Ok(run)
}

fn send_tcp(addr: SocketAddr, bytes: u64) -> Result<Run> {
    let mut stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    let buf = payload();
    let before = Ticks::now()?;
    let start = Instant::now();
    let mut left = bytes;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        stream
            .write_all(&buf[..n])
            .context("writing to the receiver")?;
        left -= n as u64;
    }
    stream
        .shutdown(Shutdown::Write)
        .context("ending the stream")?;
    let mut report = Vec::new();
    stream
        .read_to_end(&mut report)
        .context("reading the receiver's report")?;
    let wall_s = start.elapsed().as_secs_f64();
    let sender = Ticks::now()?.since(before);
    Run::confirmed(Transport::Tcp, bytes, (wall_s, sender), &report, None)
}

fn send_quic(
    addr: SocketAddr,
    bytes: u64,
    creds: &RunCredentials,
    unencrypted: bool,
) -> Result<Run> {
    let params = loopback_params(unencrypted);
    let mine = creds.for_rank(0);
    runtime()?.block_on(async move {
        let endpoint = transport::tls::endpoint(([127, 0, 0, 1], 0).into(), &mine, &params)
            .context("the sender's QUIC endpoint")?;
        // As datalink.rs dials a peer: by its rank's certificate name.
        let connecting = endpoint
            .connect(addr, &rank_name(1))
            .with_context(|| format!("dialling {addr}"))?;
        let conn = tokio::time::timeout(SETUP_TIMEOUT, connecting)
            .await
            .with_context(|| format!("no handshake with {addr} within {SETUP_TIMEOUT:?}"))?
            .with_context(|| format!("handshake with {addr}"))?;
        let chunk = Bytes::from(payload());
        let before = Ticks::now()?;
        let start = Instant::now();
        let mut stream = conn.open_uni().await.context("opening the stream")?;
        let mut left = bytes;
        while left > 0 {
            let n = left.min(CHUNK as u64) as usize;
            let piece = if n == CHUNK {
                chunk.clone()
            } else {
                chunk.slice(..n)
            };
            stream
                .write_chunk(piece)
                .await
                .context("writing to the receiver")?;
            left -= n as u64;
        }
        stream.finish().context("ending the stream")?;
        let mut back = conn
            .accept_uni()
            .await
            .context("waiting for the receiver's report")?;
        let report = back
            .read_to_end(1024)
            .await
            .context("reading the receiver's report")?;
        let wall_s = start.elapsed().as_secs_f64();
        let sender = Ticks::now()?.since(before);
        let stats = conn.stats();
        conn.close(0u32.into(), b"done");
        let _ = tokio::time::timeout(Duration::from_secs(2), endpoint.wait_idle()).await;
        let transport = if unencrypted {
            Transport::QuicClear
        } else {
            Transport::Quic
        };
        Run::confirmed(transport, bytes, (wall_s, sender), &report, Some(stats))
    })
}

// ---------------------------------------------------------------------------------------------
// The table

/// One row: measured times in seconds.
struct Row {
    wall_s: f64,
    sender_s: f64,
    receiver_s: f64,
    sys_s: f64,
}

impl Row {
    fn of(run: &Run, hz: f64) -> Row {
        let secs = |t: u64| t as f64 / hz;
        Row {
            wall_s: run.wall_s,
            sender_s: secs(run.sender.user + run.sender.sys),
            receiver_s: secs(run.receiver.user + run.receiver.sys),
            sys_s: secs(run.sender.sys + run.receiver.sys),
        }
    }

    fn cpu_s(&self) -> f64 {
        self.sender_s + self.receiver_s
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

const HEADER: &str = "#  round        mode        bytes   wall_s     GB/s  snd_cpu  rcv_cpu    cpu_s   sys%  GB/cpu_s  cpu_s/GB  busbw_max";

fn print_row(label: &str, transport: Transport, bytes: u64, row: &Row, cores: f64) {
    let gb = bytes as f64 / 1e9;
    let cpu = row.cpu_s();
    // No CPU time at all means the transfer was shorter than the clock's resolution.
    let per_cpu = |v: f64| {
        if cpu > 0.0 {
            format!("{v:.3}")
        } else {
            "n/a".to_string()
        }
    };
    println!(
        "{label:>8} {:>11} {bytes:>12} {:>8.3} {:>8.3} {:>8.2} {:>8.2} {:>8.2} {:>6.1} {:>9} {:>9} {:>10}",
        transport.name(),
        row.wall_s,
        gb / row.wall_s,
        row.sender_s,
        row.receiver_s,
        cpu,
        if cpu > 0.0 { 100.0 * row.sys_s / cpu } else { 0.0 },
        per_cpu(gb / cpu),
        per_cpu(cpu / gb),
        per_cpu(cores * gb / (RANKS * cpu)),
    );
}

fn print_quic_stats(stats: &quinn::ConnectionStats) {
    let tx = &stats.udp_tx;
    let per_send = if tx.ios > 0 {
        tx.datagrams as f64 / tx.ios as f64
    } else {
        0.0
    };
    println!(
        "#          sender: {} datagrams in {} sends ({per_send:.1} per send), {} lost, {} congestion events, cwnd {} B, rtt {} us; flow control blocked it {} times (DATA_BLOCKED {}, STREAM_DATA_BLOCKED {})",
        tx.datagrams,
        tx.ios,
        stats.path.lost_packets,
        stats.path.congestion_events,
        stats.path.cwnd,
        stats.path.rtt.as_micros(),
        stats.frame_tx.data_blocked + stats.frame_tx.stream_data_blocked,
        stats.frame_tx.data_blocked,
        stats.frame_tx.stream_data_blocked,
    );
}

fn measure(cli: &Cli) -> Result<()> {
    let transports: &[Transport] = match cli.mode {
        Mode::Tcp => &[Transport::Tcp],
        Mode::Quic => &[Transport::Quic],
        Mode::QuicClear => &[Transport::QuicClear],
        Mode::All => &[Transport::Tcp, Transport::Quic, Transport::QuicClear],
    };
    // Ranks 0 (the sender, which dials) and 1 (the receiver); TCP uses none of it.
    let creds =
        RunCredentials::generate("transport-floor", 2).context("making the run's certificates")?;
    let (hz, hz_source) = clock_ticks();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;

    println!(
        "# collbench transport floor: {} bytes per transfer, one sender and one receiver process on 127.0.0.1",
        cli.bytes
    );
    println!("# tcp:        std::net::TcpStream, blocking, 1 MiB writes and 1 MiB reads (kernel copies only)");
    let quic = loopback_params(false);
    println!(
        "# quic:       transport::tls::endpoint, TLS 1.3 AES-128-GCM, {}-byte datagrams, GSO {} per send (transport::gso),",
        quic.datagram_bytes,
        segments_for(usize::from(quic.datagram_bytes))
    );
    println!(
        "#             windows: stream {}, connection receive/send {} B; current-thread tokio; 1 MiB Bytes, write_chunk / read_chunk",
        quic.stream_receive_window, quic.receive_window
    );
    println!("# quic-clear: the same with payloads in clear (--no-encryption)");
    println!(
        "# CPU: user+sys of each process over the transfer, /proc/self/stat at CLK_TCK {hz} ({hz_source}); start-up and handshake excluded"
    );
    println!("# No reduction, no application copies: a floor under collbench's cost per byte.");
    println!(
        "# busbw_max: ring all-reduce busbw the CPU allows at p = {RANKS} ranks on C = {cores} cores, C / (p x cpu_s/GB), GB/s (GB = 1e9 B)"
    );
    println!("#");
    println!("{HEADER}");

    let mut runs: Vec<Run> = Vec::new();
    for round in 1..=cli.rounds {
        for &transport in transports {
            let run = send(transport, cli.bytes, &creds)
                .with_context(|| format!("round {round}, {}", transport.name()))?;
            print_row(
                &round.to_string(),
                transport,
                run.bytes,
                &Row::of(&run, hz),
                cores,
            );
            if let Some(stats) = &run.quic {
                print_quic_stats(stats);
            }
            runs.push(run);
        }
    }

    println!("#");
    println!(
        "# median of {} round(s), each column on its own; the ratios from the median wall and CPU times",
        cli.rounds
    );
    for &transport in transports {
        let rows: Vec<Row> = runs
            .iter()
            .filter(|r| r.transport == transport)
            .map(|r| Row::of(r, hz))
            .collect();
        let pick = |f: fn(&Row) -> f64| median(rows.iter().map(f).collect());
        let sender_s = pick(|r| r.sender_s);
        let receiver_s = pick(|r| r.receiver_s);
        let cpu_s = pick(Row::cpu_s);
        // Scale the split so sender + receiver is the median total.
        let split = if sender_s + receiver_s > 0.0 {
            cpu_s / (sender_s + receiver_s)
        } else {
            1.0
        };
        let sys_share = median(
            rows.iter()
                .map(|r| {
                    if r.cpu_s() > 0.0 {
                        r.sys_s / r.cpu_s()
                    } else {
                        0.0
                    }
                })
                .collect(),
        );
        let row = Row {
            wall_s: pick(|r| r.wall_s),
            sender_s: sender_s * split,
            receiver_s: receiver_s * split,
            sys_s: sys_share * cpu_s,
        };
        print_row("median", transport, cli.bytes, &row, cores);
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let (who, result) = match cli.receiver {
        Some(transport) => ("transport_floor receiver", receive(transport, cli.bytes)),
        None => ("transport_floor", measure(&cli)),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{who}: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
