//! A registered rank's control stream, written by a task of its own so that the event loop never
//! waits on a slow or stopped node. The coordinator's heartbeats go the same way: nodes take a
//! coordinator silent beyond their limit for gone.

use tokio::sync::mpsc;
use transport::control_io;
use wire::control::FromCoordinator;

pub(super) struct Slot {
    pub conn: quinn::Connection,
    out: mpsc::UnboundedSender<FromCoordinator>,
}

impl Slot {
    pub fn new(conn: quinn::Connection, mut send: quinn::SendStream) -> Slot {
        let (out, mut queue) = mpsc::unbounded_channel::<FromCoordinator>();
        tokio::spawn(async move {
            while let Some(msg) = queue.recv().await {
                // A write error is the connection's; the reader reports it as lost.
                if control_io::send(&mut send, &msg).await.is_err() {
                    return;
                }
            }
            let _ = send.finish();
        });
        Slot { conn, out }
    }

    /// Queues `msg`; false when the stream's writer has stopped.
    pub fn send(&self, msg: FromCoordinator) -> bool {
        self.out.send(msg).is_ok()
    }
}
