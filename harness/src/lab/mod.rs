//! `faultline cluster …`: a cluster to experiment with by hand, across invocations.
//!
//! `up` starts a cluster whose nodes outlive faultline and records it in `<store>/live/lab.json`;
//! every other action attaches to that record, acts, and detaches again. A proxy-mode lab cannot
//! be attached to (its proxies live inside a process), so `up` leaves a daemon holding it
//! ([`daemon`]) and every action is sent to that daemon instead. `down` removes every
//! recorded cluster under the store: the lab, and whatever a crashed or SIGKILLed test run left.

mod actions;
mod daemon;

use crate::cli::{ClusterAction, ClusterArgs};
use crate::config::ClusterChoice;
use actions::{apply, lab_record, start_lab, status};
use anyhow::{bail, Result};
use cluster::net::host_record::Swept;
use cluster::{live_dir, Cluster, Lifetime, LiveRecord};
use results::ExitCode;
use serde_json::json;
use std::path::Path;

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

async fn act(args: &ClusterArgs) -> Result<()> {
    let store = &args.store;
    match &args.action {
        ClusterAction::Up(opts) => return up(store, opts, args.json).await,
        ClusterAction::Serve(opts) => return daemon::serve(store, opts).await,
        ClusterAction::Down(opts) => {
            // Hosts named wrongly are refused before anything is taken down.
            if matches!(opts.nodes, Some(crate::cli::NodesArg::Count(_))) {
                bail!(
                    "--nodes: `cluster down` takes the hosts to clean (host1,host2,…), not a count"
                );
            }
            let hosts = crate::remote::targets(
                opts.nodes
                    .as_ref()
                    .unwrap_or(&crate::cli::NodesArg::Count(0)),
                &opts.ssh,
            )
            .map_err(anyhow::Error::msg)?;
            // A proxy lab's daemon takes its own cluster down; `down` then sweeps the rest.
            let daemon = daemon::is_up(store);
            if daemon {
                print!("{}", daemon::forward(store).await?);
            }
            return down(store, args.json, daemon, &hosts);
        }
        _ => {}
    }
    if daemon::is_up(store) {
        print!("{}", daemon::forward(store).await?);
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
    let lab = Cluster::attach(record, &path).map_err(anyhow::Error::msg)?;
    let outcome = apply(&lab, &args.action, args.json).await;
    // Whatever happened, the lab keeps running and its record stays current.
    lab.detach().map_err(anyhow::Error::msg)?;
    print!("{}", outcome?);
    Ok(())
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
        return daemon::spawn(store, choice.ready_timeout).await;
    }
    let lab = start_lab(store, &choice, Lifetime::Detached).await?;
    print!("{}", status(&lab, as_json).await?);
    lab.detach().map_err(anyhow::Error::msg)
}

/// Removes what the records on each of `hosts` name (in parallel): each host's outcome, or
/// the error naming it.
fn sweep_hosts(hosts: &[cluster::ssh::SshTarget]) -> Vec<Result<Swept, String>> {
    if let Some(warning) = crate::remote::trust_warning(hosts) {
        eprintln!("{warning}");
    }
    cluster::net::at_once::at_once(hosts, |_, h| cluster::net::ssh::sweep_host(h))
}

/// One line for what a sweep removed from `host`.
fn swept_line(host: &str, s: &Swept) -> String {
    let mut line = format!("host {host}: {} record(s)", s.records);
    if s.others > 0 {
        line.push_str(&format!(
            " (and {} of other addresses, left to their hosts)",
            s.others
        ));
    }
    if !s.stopped.is_empty() {
        line.push_str(&format!(", stopped pids {:?}", s.stopped));
    }
    if !s.gone.is_empty() {
        line.push_str(&format!(", pids already gone {:?}", s.gone));
    }
    if !s.resumed.is_empty() {
        line.push_str(&format!(
            ", resumed attached pids {:?} (not faultline's: left running)",
            s.resumed
        ));
    }
    if s.chain {
        line.push_str(", removed the FAULTLINE chain");
    }
    if !s.dirs.is_empty() {
        let dirs: Vec<String> = s.dirs.iter().map(|d| d.display().to_string()).collect();
        line.push_str(&format!(", removed {}", dirs.join(" ")));
    }
    line
}

/// Tears down every recorded cluster under the store, then sweeps `hosts`; every host is
/// tried, and the error names each that failed.
fn down(
    store: &Path,
    as_json: bool,
    daemon_done: bool,
    hosts: &[cluster::ssh::SshTarget],
) -> Result<()> {
    let mut removed = Vec::new();
    for path in LiveRecord::files(&live_dir(store)) {
        let record = LiveRecord::read(&path).map_err(anyhow::Error::msg)?;
        let nodes = record.nodes.len();
        let mut cluster = Cluster::attach(record, &path).map_err(anyhow::Error::msg)?;
        cluster.teardown();
        removed.push(json!({ "record": path, "nodes": nodes }));
    }
    let mut errors = Vec::new();
    let mut swept = Vec::new();
    for (host, outcome) in hosts.iter().zip(sweep_hosts(hosts)) {
        match outcome {
            Ok(s) => {
                errors.extend(
                    s.refused
                        .iter()
                        .map(|why| format!("host {}: {why}", host.host)),
                );
                swept.push((host.host.clone(), s));
            }
            Err(e) => errors.push(e),
        }
    }
    if as_json {
        let hosts: Vec<_> = swept
            .iter()
            .map(|(host, s)| json!({ "host": host, "swept": s }))
            .collect();
        let shown = if hosts.is_empty() {
            json!(removed)
        } else {
            json!({ "records": removed, "hosts": hosts })
        };
        println!("{}", serde_json::to_string_pretty(&shown)?);
    } else {
        if removed.is_empty() && !daemon_done && hosts.is_empty() {
            println!("nothing to take down under {}", store.display());
        }
        for r in &removed {
            println!(
                "took down {} ({} nodes)",
                r["record"].as_str().unwrap_or("?"),
                r["nodes"]
            );
        }
        for (host, s) in &swept {
            println!("{}", swept_line(host, s));
        }
    }
    if !errors.is_empty() {
        bail!("{}", errors.join("; "));
    }
    Ok(())
}
