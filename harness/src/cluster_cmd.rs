//! `faultline cluster …`: a cluster to experiment with by hand, across invocations.
//!
//! `up` starts a cluster whose nodes outlive faultline and records it in `<store>/live/lab.json`;
//! every other action attaches to that record, acts, and detaches again. A proxy-mode lab cannot
//! be attached to (its proxies live inside a process), so `up` leaves a daemon holding it
//! ([`crate::lab_daemon`]) and every action is sent to that daemon instead. `down` removes every
//! recorded cluster under the store: the lab, and whatever a crashed or SIGKILLed test run left.

use crate::cli::{ClusterAction, ClusterArgs};
use crate::config::ClusterChoice;
use crate::lab_daemon;
use crate::run::cluster_spec;
use anyhow::{bail, Context, Result};
use cluster::{live_dir, Cluster, Lifetime, LiveRecord};
use nemesis::{ClusterControl, PartitionSpec};
use results::{ExitCode, RunDir};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Runs one lab action; errors exit 2 with their message.
pub fn run(args: ClusterArgs) -> i32 {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(act(&args)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::BadInput.code()
        }
    }
}

fn lab_record(store: &Path) -> PathBuf {
    live_dir(store).join("lab.json")
}

async fn act(args: &ClusterArgs) -> Result<()> {
    let store = &args.store;
    match &args.action {
        ClusterAction::Up(opts) => return up(store, opts, args.json).await,
        ClusterAction::Serve(opts) => return lab_daemon::serve(store, opts).await,
        ClusterAction::Down => {
            // A proxy lab's daemon takes its own cluster down; `down` then sweeps the rest.
            let daemon = lab_daemon::is_up(store);
            if daemon {
                print!("{}", lab_daemon::forward(store).await?);
            }
            return down(store, args.json, daemon);
        }
        _ => {}
    }
    if lab_daemon::is_up(store) {
        print!("{}", lab_daemon::forward(store).await?);
        return Ok(());
    }
    let path = lab_record(store);
    if !path.exists() {
        bail!(
            "no lab cluster is up under {}: start one with `faultline cluster up`",
            store.display()
        );
    }
    let record = LiveRecord::read(&path).map_err(anyhow::Error::msg)?;
    let lab = Cluster::attach(record, &path);
    let outcome = apply(&lab, &args.action, args.json).await;
    // Whatever happened, the lab keeps running and its record stays current.
    lab.detach().map_err(anyhow::Error::msg)?;
    print!("{}", outcome?);
    Ok(())
}

/// Carries out one action on a lab cluster and returns what it prints: what was done, in words
/// or (`--json`) as an object, so a script can tell the action took.
pub(crate) async fn apply(lab: &Cluster, action: &ClusterAction, as_json: bool) -> Result<String> {
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
        ClusterAction::Up(_) | ClusterAction::Serve(_) | ClusterAction::Down => {
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

async fn up(store: &Path, opts: &crate::cli::ClusterOpts, as_json: bool) -> Result<()> {
    let choice = ClusterChoice::resolve(opts).map_err(anyhow::Error::msg)?;
    let record = lab_record(store);
    if record.exists() {
        bail!(
            "a lab cluster is already up under {} ({}): take it down with `faultline cluster down`",
            store.display(),
            record.display()
        );
    }
    if choice.net == cluster::NetMode::Proxy {
        // The proxies live inside a process: a daemon keeps them (and the nodes) until `down`.
        return lab_daemon::spawn(store, choice.ready_timeout).await;
    }
    let lab = start_lab(store, &choice, Lifetime::Detached).await?;
    print!("{}", status(&lab, as_json).await?);
    lab.detach().map_err(anyhow::Error::msg)
}

/// Starts the lab cluster of `choice` under `store`, recorded as the lab.
pub(crate) async fn start_lab(
    store: &Path,
    choice: &ClusterChoice,
    lifetime: Lifetime,
) -> Result<Cluster> {
    let run_dir = RunDir::create(store, "lab")?;
    let exe = std::env::current_exe().context("locating the faultline binary")?;
    let spec = cluster_spec(
        choice,
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
async fn status(lab: &Cluster, as_json: bool) -> Result<String> {
    let statuses = lab.statuses(Duration::from_millis(500)).await;
    // Lag is measured against the node that says it is the primary (the furthest ahead if
    // several do, as in a split brain).
    let primary_position = statuses
        .iter()
        .flatten()
        .filter(|s| s.role == cluster::target::Role::Primary)
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
            "sentinel": sentinel,
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

/// Tears down every recorded cluster under the store.
fn down(store: &Path, as_json: bool, daemon_done: bool) -> Result<()> {
    let mut removed = Vec::new();
    for path in LiveRecord::files(&live_dir(store)) {
        let record = LiveRecord::read(&path).map_err(anyhow::Error::msg)?;
        let nodes = record.nodes.len();
        let mut cluster = Cluster::attach(record, &path);
        cluster.teardown();
        removed.push(json!({ "record": path, "nodes": nodes }));
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&removed)?);
    } else if removed.is_empty() && !daemon_done {
        println!("nothing to take down under {}", store.display());
    } else {
        for r in &removed {
            println!(
                "took down {} ({} nodes)",
                r["record"].as_str().unwrap_or("?"),
                r["nodes"]
            );
        }
    }
    Ok(())
}
