//! Replication positions sampled during a run (`replication.jsonl` in the run directory), so lag
//! over time can be shown: every interval, each node's role and position (Redis's replication
//! offset, etcd's raft index). The lag itself is computed from the file, once, by the report
//! (`report::lag`): results.json's `figures.max_lag` and the report's plot are the same numbers.

use cluster::Cluster;
use nemesis::ClusterControl;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What the samples showed, for results.json.
#[derive(Debug, Default, Serialize)]
pub struct ReplicationSummary {
    /// How many rounds were sampled.
    pub samples: usize,
    /// Per node: how many rounds it did not answer.
    pub unanswered: BTreeMap<String, usize>,
    /// Why sampling stopped early, if it did (the file could not be written).
    pub error: Option<String>,
    /// How the nodes resolve concurrent writes, as they state it (multi-primary designs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict_rule: Option<String>,
}

/// Samples `cluster` every `every` until `stop` turns true, appending to `path`; times count
/// from `origin` (the history's time 0, so samples and events line up).
pub async fn sample(
    cluster: &Cluster,
    path: &Path,
    every: Duration,
    origin: Instant,
    mut stop: watch::Receiver<bool>,
) -> ReplicationSummary {
    let mut summary = ReplicationSummary::default();
    let mut file = match File::create(path) {
        Ok(f) => f,
        Err(e) => {
            summary.error = Some(format!("cannot create {}: {e}", path.display()));
            return summary;
        }
    };
    let names = cluster.node_names();
    loop {
        let statuses = cluster
            .statuses(every.min(Duration::from_millis(500)))
            .await;
        let time = origin.elapsed().as_secs_f64();
        let mut lines = String::new();
        for (name, status) in names.iter().zip(&statuses) {
            let line = match status {
                Ok(s) => {
                    let mut line = json!({"time": time, "node": name, "role": s.role,
                           "position": s.position, "link_up": s.link_up, "leader": s.leader});
                    if let Some(epoch) = s.epoch {
                        line["epoch"] = json!(epoch);
                    }
                    if summary.conflict_rule.is_none() {
                        summary.conflict_rule.clone_from(&s.conflict_rule);
                    }
                    line
                }
                Err(e) => {
                    *summary.unanswered.entry(name.clone()).or_default() += 1;
                    json!({"time": time, "node": name, "error": e})
                }
            };
            lines.push_str(&line.to_string());
            lines.push('\n');
        }
        summary.samples += 1;
        if let Err(e) = file.write_all(lines.as_bytes()).and_then(|()| file.flush()) {
            summary.error = Some(format!("cannot write {}: {e}", path.display()));
            return summary;
        }
        if tokio::time::timeout(every, stop.wait_for(|s| *s))
            .await
            .is_ok()
        {
            return summary;
        }
    }
}
