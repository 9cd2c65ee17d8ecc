//! The nemesis loop: quiet window, health check, fault, fault window, heal, health check again.
//!
//! ```text
//!  time ─────────────────────────────────────────────────────────────────────────►
//!        quiet        │ fault (e.g. n2 paused) │   quiet      │ fault …   stop ─► heal
//!   ──────────────────┼────────────────────────┼──────────────┼───────────
//!          health? ───┘                 heal ──┘── health? ───┘
//! ```
//! Before a fault the cluster gets up to one interval to be healthy. Every action and every
//! health check is recorded, and a fault that could not be applied is recorded as such rather
//! than skipped in silence. When told to stop, it heals the active fault
//! before returning, so the run's recovery phase starts from a healed cluster.

use crate::control::{apply, heal, ClusterControl, FaultRecorder};
use crate::fault::Fault;
use crate::schedule::Schedule;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::watch;

/// One fault the nemesis attempted.
#[derive(Debug, Clone, Serialize)]
pub struct FaultRecord {
    /// The requested kind it was drawn from, as `--nemesis` names it.
    pub kind: String,
    /// The fault.
    #[serde(flatten)]
    pub fault: Fault,
    /// Whether it was applied.
    pub applied: bool,
    /// Why it was not applied or not healed cleanly.
    pub error: Option<String>,
}

/// What the nemesis did during a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NemesisReport {
    /// Per requested kind (as `--nemesis` names it): how many faults of it were applied; a kind
    /// requested and never applied shows 0.
    pub applied: BTreeMap<String, usize>,
    /// Every fault attempted, in order.
    pub faults: Vec<FaultRecord>,
    /// Health checks that failed (before a fault or after a heal).
    pub unhealthy: Vec<String>,
}

/// How long the cluster gets to become healthy again after a heal before that is recorded.
const RECOVERY_DEADLINE: Duration = Duration::from_secs(10);

/// Runs `schedule` against `control` until `stop` turns true, healing the last fault before it returns.
pub async fn run<C: ClusterControl, R: FaultRecorder>(
    control: &C,
    mut schedule: Schedule,
    recorder: &R,
    mut stop: watch::Receiver<bool>,
) -> NemesisReport {
    let mut report = NemesisReport {
        applied: schedule
            .kinds()
            .0
            .iter()
            .map(|k| (k.to_string(), 0))
            .collect(),
        ..NemesisReport::default()
    };
    let interval = schedule.interval();
    loop {
        if wait_or_stop(interval, &mut stop).await {
            break;
        }
        let primary = control.primary().await;
        let Some((kind, fault)) = schedule.next_fault(&control.node_names(), primary.as_deref())
        else {
            // A schedule with no faults just waits for the end.
            let _ = stop.wait_for(|s| *s).await;
            break;
        };
        // A cluster still settling (a sentinel's flag flickering under load) gets up to one
        // interval to become healthy; only then is the attempt given up and recorded.
        let healthy = tokio::select! {
            healthy = wait_healthy(control, interval) => healthy,
            _ = stop.wait_for(|s| *s) => break,
        };
        let ready = match healthy {
            Err(why) => {
                let error = format!("cluster unhealthy before fault: {why}");
                report.unhealthy.push(error.clone());
                Err(error)
            }
            Ok(()) => apply(control, &fault),
        };
        match ready {
            Err(error) => {
                recorder.record(fault.start_f(), json!(fault), Some(error.clone()));
                report.faults.push(FaultRecord {
                    kind: kind.to_string(),
                    fault,
                    applied: false,
                    error: Some(error),
                });
                continue;
            }
            Ok(()) => {
                recorder.record(fault.start_f(), json!(fault), None);
                recorder.active(Some(&fault));
                *report.applied.entry(kind.to_string()).or_default() += 1;
            }
        }
        let stopping = wait_or_stop(interval, &mut stop).await;
        let healed = heal(control, &fault);
        recorder.record(fault.heal_f(), json!(fault), healed.clone().err());
        recorder.active(None);
        report.faults.push(FaultRecord {
            kind: kind.to_string(),
            fault,
            applied: true,
            error: healed.err(),
        });
        if stopping {
            break;
        }
        // The run's end cuts this wait short: the run's own recovery phase waits from there on,
        // and a run must not outlast its time limit by this deadline too.
        let healthy = tokio::select! {
            healthy = wait_healthy(control, RECOVERY_DEADLINE) => healthy,
            _ = stop.wait_for(|s| *s) => break,
        };
        if let Err(why) = healthy {
            let error = format!("cluster unhealthy after heal: {why}");
            recorder.record("health", json!({}), Some(error.clone()));
            report.unhealthy.push(error);
        }
    }
    report
}

/// Polls `control.health()` until it passes or `deadline` elapses.
pub async fn wait_healthy<C: ClusterControl>(
    control: &C,
    deadline: Duration,
) -> Result<(), String> {
    let until = tokio::time::Instant::now() + deadline;
    loop {
        match control.health().await {
            Ok(()) => return Ok(()),
            Err(why) if tokio::time::Instant::now() >= until => return Err(why),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Sleeps `d`, returning early with `true` if the run is stopping.
async fn wait_or_stop(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return true;
    }
    // A dropped sender also means the run is over, hence `is_ok() == false` counts as stop.
    match tokio::time::timeout(d, stop.wait_for(|s| *s)).await {
        Ok(_) => true,
        Err(_elapsed) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::Grudge;
    use std::collections::HashSet;
    use std::sync::Mutex;

    /// A cluster whose only state is which nodes are paused; health fails while any is.
    #[derive(Default)]
    struct PausedSet {
        paused: Mutex<HashSet<String>>,
        refuse: bool,
        /// Resuming leaves the node paused: the cluster never becomes healthy again.
        sticky: bool,
        /// Health checks still to fail before the first fault, as a cluster settling does.
        settling: std::sync::atomic::AtomicUsize,
    }

    impl ClusterControl for PausedSet {
        fn node_names(&self) -> Vec<String> {
            vec!["n1".into(), "n2".into(), "n3".into()]
        }
        fn pause(&self, node: &str) -> Result<(), String> {
            if self.refuse {
                return Err(format!("cannot signal {node}"));
            }
            self.paused.lock().unwrap().insert(node.into());
            Ok(())
        }
        fn resume(&self, node: &str) -> Result<(), String> {
            if !self.sticky {
                self.paused.lock().unwrap().remove(node);
            }
            Ok(())
        }
        fn kill(&self, node: &str) -> Result<(), String> {
            Err(format!("{node}: kill is not scheduled in these tests"))
        }
        fn restart(&self, node: &str) -> Result<(), String> {
            Err(format!("{node}: restart is not scheduled in these tests"))
        }
        fn partition(&self, _: &Grudge) -> Result<(), String> {
            Err("partition is not scheduled in these tests".into())
        }
        fn degrade(&self, _: &[String], _: &crate::link::LinkFault) -> Result<(), String> {
            Err("degrade is not scheduled in these tests".into())
        }
        fn heal_network(&self) -> Result<(), String> {
            Ok(())
        }
        async fn primary(&self) -> Option<String> {
            Some("n1".into())
        }
        async fn health(&self) -> Result<(), String> {
            use std::sync::atomic::Ordering::SeqCst;
            let settling = self.settling.load(SeqCst);
            if settling > 0 {
                self.settling.store(settling - 1, SeqCst);
                return Err("settling".into());
            }
            match self.paused.lock().unwrap().iter().next() {
                Some(n) => Err(format!("{n} paused")),
                None => Ok(()),
            }
        }
    }

    #[derive(Default)]
    struct Log(Mutex<Vec<(String, Option<String>)>>);

    impl FaultRecorder for Log {
        fn record(&self, f: &str, _: serde_json::Value, error: Option<String>) {
            self.0.lock().unwrap().push((f.into(), error));
        }
    }

    async fn run_for(cluster: &PausedSet, log: &Log, millis: u64) -> NemesisReport {
        let (tx, rx) = watch::channel(false);
        let schedule = Schedule::new("pause".parse().unwrap(), Duration::from_millis(20), 9);
        let stopper = async {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            tx.send(true).unwrap();
        };
        let (report, ()) = tokio::join!(run(cluster, schedule, log, rx), stopper);
        report
    }

    #[tokio::test]
    async fn pauses_alternate_with_resumes_and_end_healed() {
        let cluster = PausedSet::default();
        let log = Log::default();
        let report = tokio::time::timeout(Duration::from_secs(5), run_for(&cluster, &log, 230))
            .await
            .unwrap();
        assert!(report.faults.len() >= 3, "{report:?}");
        assert!(report.faults.iter().all(|f| f.applied));
        assert_eq!(report.applied["pause"], report.faults.len(), "{report:?}");
        assert!(
            cluster.paused.lock().unwrap().is_empty(),
            "stop heals the active fault"
        );
        let fs: Vec<_> = log
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|(f, _)| f.clone())
            .collect();
        for pair in fs.chunks(2) {
            assert_eq!(pair[0], "pause");
            if pair.len() == 2 {
                assert_eq!(pair[1], "resume");
            }
        }
    }

    #[tokio::test]
    async fn the_end_of_the_run_cuts_the_wait_for_health_after_a_heal_short() {
        let cluster = PausedSet {
            sticky: true,
            ..Default::default()
        };
        let log = Log::default();
        let began = std::time::Instant::now();
        // Without the cut, the wait after the first heal would last RECOVERY_DEADLINE (10 s).
        let report = tokio::time::timeout(Duration::from_secs(5), run_for(&cluster, &log, 100))
            .await
            .expect("the nemesis returns soon after the stop");
        assert!(
            began.elapsed() < Duration::from_secs(2),
            "{:?}",
            began.elapsed()
        );
        assert_eq!(report.applied["pause"], 1, "{report:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_cluster_settling_before_a_fault_is_waited_for_not_skipped() {
        let cluster = PausedSet {
            settling: 2.into(),
            ..Default::default()
        };
        let log = Log::default();
        // Two failed checks 100 ms apart fit in the wait before the first fault (paused time).
        let schedule = Schedule::new("pause".parse().unwrap(), Duration::from_millis(400), 9);
        let (tx, rx) = watch::channel(false);
        let stopper = async {
            tokio::time::sleep(Duration::from_millis(1200)).await;
            tx.send(true).unwrap();
        };
        let (report, ()) = tokio::join!(run(&cluster, schedule, &log, rx), stopper);
        assert!(report.unhealthy.is_empty(), "{report:?}");
        assert_eq!(report.faults.first().map(|f| f.applied), Some(true));
    }

    #[tokio::test]
    async fn a_fault_that_cannot_be_applied_is_recorded() {
        let cluster = PausedSet {
            refuse: true,
            ..Default::default()
        };
        let log = Log::default();
        let report = tokio::time::timeout(Duration::from_secs(5), run_for(&cluster, &log, 100))
            .await
            .unwrap();
        assert!(!report.faults.is_empty());
        assert!(report
            .faults
            .iter()
            .all(|f| !f.applied && f.error.is_some()));
        assert_eq!(report.applied["pause"], 0, "requested, never applied");
        assert!(log
            .0
            .lock()
            .unwrap()
            .iter()
            .all(|(f, e)| f == "pause" && e.is_some()));
    }
}
