//! `faultline bench faults`: how long applying and healing each fault takes, per network mode.
//!
//! Each fault is applied and healed `--rounds` times on a small own-node cluster; the table gives
//! the median and the slowest of each. The goal (issue: faults) is under 50 ms for each; this
//! prints what was measured and asserts nothing.

use crate::cli::BenchFaultsArgs;
use crate::config::ClusterChoice;
use anyhow::{Context, Result};
use cluster::{Cluster, Lifetime, NetMode, TargetKind};
use nemesis::{ClusterControl, Fault, LinkFault, Shape};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::time::{Duration, Instant};

/// One row of the table.
struct Row {
    net: NetMode,
    fault: String,
    apply: Vec<Duration>,
    heal: Vec<Duration>,
}

/// Runs the benchmark; errors exit 2 with their message.
pub fn main(args: &BenchFaultsArgs) -> i32 {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: faultline bench faults: {e:#}");
            results::ExitCode::BadInput.code()
        }
    }
}

/// Runs the benchmark in every network mode this machine allows.
async fn run(args: &BenchFaultsArgs) -> Result<()> {
    let mut modes = vec![NetMode::Proxy];
    if cluster::capability::can_admin_network() && cluster::capability::netns_tools() {
        modes.insert(0, NetMode::Netns);
    } else {
        eprintln!("netns: skipped (needs root and iproute2/iptables)");
    }
    let mut rows = Vec::new();
    for net in modes {
        rows.extend(bench_mode(net, args).await?);
    }
    println!(
        "{:<8} {:<22} {:>12} {:>12} {:>12} {:>12}",
        "net", "fault", "apply p50", "apply max", "heal p50", "heal max"
    );
    for r in rows {
        println!(
            "{:<8} {:<22} {:>12} {:>12} {:>12} {:>12}",
            r.net.to_string(),
            r.fault,
            ms(median(&r.apply)),
            ms(max(&r.apply)),
            ms(median(&r.heal)),
            ms(max(&r.heal))
        );
    }
    Ok(())
}

async fn bench_mode(net: NetMode, args: &BenchFaultsArgs) -> Result<Vec<Row>> {
    let dir = tempdir()?;
    let choice = ClusterChoice {
        target: TargetKind::Own,
        nodes: args.nodes,
        net,
        subnet_base: [10, 77],
        replication_delay: Duration::ZERO,
        mode: Default::default(),
        read_quorum: None,
        write_quorum: None,
        failover: Default::default(),
        persistence: Default::default(),
        ready_timeout: Duration::from_secs(20),
        remote_hosts: Vec::new(),
        install: false,
    };
    let exe = std::env::current_exe().context("locating the faultline binary")?;
    let record = dir.join("live.json");
    let spec = choice.spec(dir.join("nodes"), exe, Lifetime::WithFaultline, record, 1);
    let cluster = Cluster::start(spec)
        .await
        .with_context(|| format!("starting a {net} cluster"))?;
    let names = cluster.node_names();
    let mut rng = StdRng::seed_from_u64(1);
    let mut faults: Vec<(String, Fault)> = vec![
        (
            "pause one".into(),
            Fault::Pause {
                nodes: vec![names[1].clone()],
            },
        ),
        (
            "kill one + restart".into(),
            Fault::Kill {
                nodes: vec![names[1].clone()],
            },
        ),
    ];
    for shape in [Shape::One, Shape::Halves, Shape::Ring, Shape::Bridge] {
        let grudge = shape.grudge(&names, Some(&names[0]), &mut rng);
        faults.push((
            format!("partition {shape}"),
            Fault::Partition {
                shape: shape.to_string(),
                grudge,
            },
        ));
    }
    let mut links = vec!["loss", "bandwidth"];
    if net == NetMode::Proxy {
        links.extend(["latency", "half-open", "blackhole"]);
    }
    for name in links {
        let link = LinkFault::named(name).expect("a named link fault");
        faults.push((
            format!("{name} into all"),
            Fault::Link {
                name: name.into(),
                nodes: names.clone(),
                link,
            },
        ));
    }
    let mut rows = Vec::new();
    for (label, fault) in faults {
        let mut row = Row {
            net,
            fault: label,
            apply: Vec::new(),
            heal: Vec::new(),
        };
        for _ in 0..args.rounds {
            let t = Instant::now();
            nemesis::control::apply(&cluster, &fault).map_err(anyhow::Error::msg)?;
            row.apply.push(t.elapsed());
            let t = Instant::now();
            nemesis::control::heal(&cluster, &fault).map_err(anyhow::Error::msg)?;
            row.heal.push(t.elapsed());
        }
        rows.push(row);
    }
    drop(cluster);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(rows)
}

fn tempdir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("faultline-bench-faults-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn median(xs: &[Duration]) -> Duration {
    let mut v = xs.to_vec();
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn max(xs: &[Duration]) -> Duration {
    xs.iter().max().copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
