//! One client worker: draw an operation, record its invocation, run it, record its completion.

use crate::recorder::Recorder;
use checker::{EventType, Process};
use cluster::client::Answered;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use results::Entry;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use workloads::{CounterClient, Generator, RegisterClient, SetClient};

/// What a worker shares with the others.
pub struct Shared {
    /// The one generator, so written values (and added elements) stay unique across workers.
    pub generator: Mutex<Box<dyn Generator>>,
    /// The history.
    pub recorder: Arc<Recorder>,
    /// Total clients, the step between a worker's successive process ids.
    pub concurrency: usize,
    /// Mean pause between one worker's operations.
    pub mean_gap: Duration,
    /// The run's seed.
    pub seed: u64,
    /// Each node's client address and name, to name the node that answered an operation.
    pub nodes: Vec<(SocketAddr, String)>,
}

/// Runs worker `id` until `stop` turns true or the history cannot be written.
pub async fn run<C: RegisterClient + SetClient + CounterClient + Answered>(
    id: usize,
    mut client: C,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let mut process = id as u64;
    let mut rng = StdRng::seed_from_u64(shared.seed.wrapping_add(id as u64 + 1));
    // Seconds of pause owed, negative after a sleep overshot; the first is a fraction of the
    // mean, so clients start staggered and do not march in lockstep.
    let mean_gap = shared.mean_gap.as_secs_f64();
    let mut owed = mean_gap * rng.random_range(0.0..1.0);
    loop {
        if owed < MIN_SLEEP.as_secs_f64() {
            // tokio's timer ticks every millisecond, so a shorter sleep would last a whole tick and
            // cap a fast run far below its --rate: a short pause is owed until it adds up to one.
            if *stop.borrow() {
                return;
            }
            // Without a sleep, an operation that fails at once would loop without yielding.
            tokio::task::consume_budget().await;
        } else {
            let slept = tokio::time::Instant::now();
            let pause = Duration::from_secs_f64(owed);
            if tokio::time::timeout(pause, stop.wait_for(|s| *s))
                .await
                .is_ok()
            {
                return;
            }
            // A sleep overshoots its tick: the excess counts against the pauses to come.
            owed -= slept.elapsed().as_secs_f64();
        }
        let op = shared.generator.lock().expect("generator lock").next_op();
        let entry = |kind, value, error, node| Entry {
            process: Process::Client(process),
            kind,
            f: op.f().to_string(),
            key: Some(Value::from(op.key())),
            value,
            error,
            node,
        };
        let recorder = &shared.recorder;
        if recorder
            .invoke(entry(EventType::Invoke, op.invoke_value(), None, None))
            .is_err()
        {
            return;
        }
        let done = op.invoke(&mut client).await;
        let kind = done.kind;
        let answered = client.answered_by();
        let node = answered.and_then(|a| shared.nodes.iter().find(|(n, _)| *n == a));
        let node = node.map(|(_, name)| name.clone());
        if recorder
            .complete(entry(kind, done.value, done.error, node))
            .await
            .is_err()
        {
            return;
        }
        if kind == EventType::Info {
            // Jepsen's rule: a process with an indeterminate operation is never reused.
            process += shared.concurrency as u64;
        }
        // Uniform in [0, 2 × mean]: the mean rate is kept without a fixed rhythm.
        owed += mean_gap * rng.random_range(0.0..2.0);
    }
}

/// The shortest pause a worker sleeps: tokio's timer resolution.
const MIN_SLEEP: Duration = Duration::from_millis(1);
