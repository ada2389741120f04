//! One iteration of a rank's program, run a step at a time so that the heartbeat can say which
//! step the node is in and which peers it waits for; a data-plane error comes back naming the
//! step and the peer. The all-reduce sweep and the ping-pong both time their iterations around
//! this.

use bytes::Bytes;
use topologies::{DataType, ReduceOp, Step};

use crate::control::Position;
use crate::datalink::Links;
use crate::execute::{run_program, Forwarding, OutOfPlace};
use crate::jitter::Jitter;
use crate::NodeError;

/// What a failure's context says before the step: "rank 2: ring 1024 bytes out-of-place
/// iteration 3".
pub type Where<'a> = &'a dyn Fn() -> String;

/// Runs `program` over `work` on channel `channel`'s links. Out of place, `input` is the
/// iteration's input, read where the program has not written `work` yet (and copied into what it
/// never writes). With `jitter`, each step that sends waits a draw first.
#[allow(clippy::too_many_arguments)]
pub async fn run_steps(
    program: &[Step],
    work: &mut [u8],
    input: Option<&Bytes>,
    links: &mut Links,
    (dtype, op): (DataType, ReduceOp),
    position: &Position,
    channel: usize,
    at: Where<'_>,
    mut jitter: Option<&mut Jitter>,
) -> Result<(), NodeError> {
    let mut source = input.map(|input| OutOfPlace::new(input, dtype));
    let mut forwarding = Forwarding::default();
    for (step, s) in program.iter().enumerate() {
        position.in_step(channel, step, s.recvs.iter().map(|r| r.peer));
        if let Some(j) = jitter.as_deref_mut() {
            if !s.sends.is_empty() {
                j.wait().await;
            }
        }
        run_program(
            std::slice::from_ref(s),
            work,
            source.as_mut(),
            &mut forwarding,
            links,
            dtype,
            op,
        )
        .await
        .map_err(|f| NodeError::Peer {
            context: format!(
                "{} step {}: {} rank {}",
                at(),
                step + f.step,
                if f.waiting {
                    "waiting for"
                } else {
                    "sending to"
                },
                f.peer
            ),
            peer: f.peer,
            step: u32::try_from(step + f.step).ok(),
            source: f.error,
        })?;
        position.step_done(channel);
    }
    if let Some(source) = source {
        source.finish(work);
    }
    links
        .flush()
        .await
        .map_err(|(peer, source)| NodeError::Peer {
            context: format!("{} after the last step: sending to rank {peer}", at()),
            peer,
            step: None,
            source,
        })
}
