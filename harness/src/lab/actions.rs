//! What the lab does to its cluster: start it, act on it by hand, report its status. Shared by
//! the command line (netns and loopback labs, attached per command) and the daemon that holds a
//! proxy lab.

use crate::cli::ClusterAction;
use crate::config::ClusterChoice;
use anyhow::{bail, Context, Result};
use cluster::{live_dir, Cluster, Lifetime};
use nemesis::{ClusterControl, PartitionSpec};
use results::RunDir;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the lab cluster's live record is kept.
pub(super) fn lab_record(store: &Path) -> PathBuf {
    live_dir(store).join("lab.json")
}

/// Carries out one action on a lab cluster and returns what it prints: what was done, in words
/// or (`--json`) as an object, so a script can tell the action took.
pub(super) async fn apply(lab: &Cluster, action: &ClusterAction, as_json: bool) -> Result<String> {
    let done = match action {
        ClusterAction::Status => return status(lab, as_json).await,
        ClusterAction::Partition { spec } => {
            let spec: PartitionSpec = spec.parse().map_err(anyhow::Error::msg)?;
            let grudge = spec.grudge(&lab.node_names()).map_err(anyhow::Error::msg)?;
            lab.partition(&grudge).map_err(anyhow::Error::msg)?;
            Done::new("partition", format!("partitioned the network: {spec}"))
                .with("components", json!(spec.0))
        }
        ClusterAction::Heal => {
            lab.heal_network().map_err(anyhow::Error::msg)?;
            Done::new("heal", "healed every link".into())
        }
        ClusterAction::Slow {
            node,
            latency,
            loss,
            bandwidth,
        } => {
            if loss.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
                bail!("--loss: a probability from 0 to 1");
            }
            let fault = nemesis::LinkFault {
                latency: latency.unwrap_or_default(),
                loss: loss.unwrap_or_default(),
                bandwidth: *bandwidth,
                ..Default::default()
            };
            if fault == nemesis::LinkFault::default() {
                bail!("slow: give --latency, --loss or --bandwidth");
            }
            lab.degrade(std::slice::from_ref(node), &fault)
                .map_err(anyhow::Error::msg)?;
            Done::new(
                "slow",
                format!("links into {node} now: {fault} (replacing their earlier degradation)"),
            )
            .with("node", json!(node))
            .with("link", json!(fault))
        }
        ClusterAction::Pause { node } => {
            lab.pause(node).map_err(anyhow::Error::msg)?;
            Done::node("pause", node, "paused (SIGSTOP)")
        }
        ClusterAction::Resume { node } => {
            lab.resume(node).map_err(anyhow::Error::msg)?;
            Done::node("resume", node, "resumed (SIGCONT)")
        }
        ClusterAction::Kill { node } => {
            lab.kill(node).map_err(anyhow::Error::msg)?;
            Done::node("kill", node, "killed (SIGKILL); its data directory stays")
        }
        ClusterAction::Restart { node } => {
            lab.restart(node).map_err(anyhow::Error::msg)?;
            lab.wait_ready(Duration::from_secs(20)).await?;
            Done::node("restart", node, "restarted; the cluster is ready again")
        }
        ClusterAction::Promote { node } => {
            let steps = lab.promote(node).await.map_err(anyhow::Error::msg)?;
            Done::new(
                "promote",
                format!("{node}: promoted to primary\n  {}", steps.join("\n  ")),
            )
            .with("node", json!(node))
            .with("steps", json!(steps))
        }
        ClusterAction::Up(_) | ClusterAction::Serve(_) | ClusterAction::Down(_) => {
            unreachable!("handled by act and the daemon")
        }
    };
    done.render(as_json)
}

/// What one lab action did: a sentence for people, fields for `--json`.
struct Done {
    sentence: String,
    fields: serde_json::Map<String, serde_json::Value>,
}

impl Done {
    fn new(action: &str, sentence: String) -> Done {
        let mut fields = serde_json::Map::new();
        fields.insert("action".into(), json!(action));
        Done { sentence, fields }
    }

    /// An action on one node: "n2: paused (SIGSTOP)".
    fn node(action: &str, node: &str, what: &str) -> Done {
        Done::new(action, format!("{node}: {what}")).with("node", json!(node))
    }

    fn with(mut self, key: &str, value: serde_json::Value) -> Done {
        self.fields.insert(key.into(), value);
        self
    }

    fn render(mut self, as_json: bool) -> Result<String> {
        if as_json {
            self.fields.insert("done".into(), json!(self.sentence));
            return Ok(format!("{}\n", serde_json::to_string(&self.fields)?));
        }
        Ok(format!("{}\n", self.sentence))
    }
}

/// Starts the lab cluster of `choice` under `store`, recorded as the lab.
pub(super) async fn start_lab(
    store: &Path,
    choice: &ClusterChoice,
    lifetime: Lifetime,
) -> Result<Cluster> {
    let run_dir = RunDir::create(store, "lab")?;
    let exe = std::env::current_exe().context("locating the faultline binary")?;
    if let Some(warning) = crate::remote::trust_warning(&choice.remote_hosts) {
        eprintln!("{warning}");
    }
    let spec = choice.spec(
        run_dir.path().join("nodes"),
        exe,
        lifetime,
        lab_record(store),
        0,
    );
    Cluster::start(spec)
        .await
        .context("starting the lab cluster")
}

/// Each node's process state, role, replication link, offset and lag behind the primary, what
/// its sentinel believes, and the faults in force; as a table or JSON.
pub(super) async fn status(lab: &Cluster, as_json: bool) -> Result<String> {
    let statuses = lab.statuses(Duration::from_millis(500)).await;
    // Lag is measured against the node that says it is the primary (the furthest ahead if
    // several do, as in a split brain).
    let primary_position = statuses
        .iter()
        .flatten()
        .filter(|s| s.role == cluster::system::Role::Primary)
        .filter_map(|s| s.position)
        .max();
    let mut rows = Vec::new();
    let mut in_force = Vec::new();
    for (node, status) in lab.nodes().iter().zip(statuses) {
        let process = if !lab.is_running(&node.name) {
            in_force.push(format!("{} is stopped (killed)", node.name));
            "stopped"
        } else if lab.is_paused(&node.name) {
            in_force.push(format!("{} is paused", node.name));
            "paused"
        } else {
            "running"
        };
        let s = status.as_ref().ok();
        let role = match s {
            Some(s) => serde_json::to_value(s.role)?
                .as_str()
                .unwrap_or("?")
                .to_string(),
            None => "unreachable".into(),
        };
        let link = s
            .and_then(|s| s.link_up)
            .map(|up| if up { "up" } else { "down" });
        let offset = s.and_then(|s| s.position);
        let lag = offset.zip(primary_position).map(|(o, p)| (p - o).max(0));
        let sentinel = s.and_then(|s| s.sentinel.as_ref()).map(|v| {
            json!({"primary": v.primary.to_string(), "flags": v.flags,
                   "other_sentinels": v.other_sentinels})
        });
        rows.push(json!({
            "node": node.name, "addr": node.addr.to_string(), "pid": node.pid(),
            "process": process, "role": role, "link": link, "offset": offset, "lag": lag,
            "sentinel": sentinel, "epoch": s.and_then(|s| s.epoch),
        }));
    }
    in_force.extend(lab.network().in_force().describe());
    if as_json {
        let out = json!({"nodes": rows, "faults_in_force": in_force});
        return Ok(format!("{}\n", serde_json::to_string_pretty(&out)?));
    }
    let sentinels = rows.iter().any(|r| !r["sentinel"].is_null());
    let mut out = row(
        [
            "node", "address", "pid", "process", "role", "link", "offset", "lag",
        ],
        sentinels.then_some("sentinel says"),
    );
    for r in &rows {
        let cell = |k: &str| match &r[k] {
            serde_json::Value::Null => "-".to_string(),
            serde_json::Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        let cells = [
            "node", "addr", "pid", "process", "role", "link", "offset", "lag",
        ]
        .map(cell);
        let view = r["sentinel"].as_object().map(|v| {
            format!(
                "primary {} ({})",
                v["primary"].as_str().unwrap_or("?"),
                v["flags"].as_str().unwrap_or("?")
            )
        });
        out.push_str(&row(
            cells.each_ref().map(String::as_str),
            sentinels
                .then(|| view.unwrap_or_else(|| "-".into()))
                .as_deref(),
        ));
    }
    if in_force.is_empty() {
        out.push_str("faults in force: none\n");
    } else {
        out.push_str("faults in force:\n");
        for f in &in_force {
            out.push_str(&format!("  {f}\n"));
        }
    }
    Ok(out)
}

/// One line of the status table; the header and the rows share the layout.
fn row(c: [&str; 8], sentinel: Option<&str>) -> String {
    let line = format!(
        "{:<5} {:<21} {:>8}  {:<8} {:<12} {:<5} {:>10} {:>8}",
        c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
    );
    match sentinel {
        Some(view) => format!("{line}  {view}\n"),
        None => format!("{}\n", line.trim_end()),
    }
}
