//! The keeper of a proxy-mode lab cluster.
//!
//! A netns or loopback lab outlives the faultline that started it, and later commands attach to
//! its record. A proxy lab cannot work that way: its fault proxies are tasks inside a process. So
//! `cluster up --net proxy` starts a daemon (`faultline cluster serve`, hidden) that starts the
//! cluster and answers on a Unix socket, `<store>/live/lab.sock`; every later `cluster …` command
//! sends its command line there and prints the answer. The nodes die with the daemon
//! (PDEATHSIG), so even a SIGKILLed daemon leaves only its record and socket, which `cluster down`
//! removes.

use super::actions::{apply, start_lab};
use crate::cli::{ClusterAction, ClusterOpts, Command};
use crate::config::ClusterChoice;
use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use cluster::{live_dir, Lifetime};
use serde::{Deserialize, Serialize};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// One request: the command line of a `faultline cluster …` invocation.
#[derive(Debug, Serialize, Deserialize)]
struct Request {
    argv: Vec<String>,
}

/// The daemon's answer: what the command prints, or its error.
#[derive(Debug, Serialize, Deserialize)]
struct Reply {
    output: String,
    error: Option<String>,
}

/// How long a forwarded command may take (a restart waits for readiness).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

fn socket_path(store: &Path) -> PathBuf {
    live_dir(store).join("lab.sock")
}

fn log_path(store: &Path) -> PathBuf {
    live_dir(store).join("lab-daemon.log")
}

/// Whether a proxy lab's daemon socket exists under `store`.
pub fn is_up(store: &Path) -> bool {
    socket_path(store).exists()
}

/// `cluster up --net proxy`: starts the daemon with this command line (`up` → `serve`), waits
/// until it answers, and prints the lab's status.
pub async fn spawn(store: &Path, ready_timeout: Duration) -> Result<()> {
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    let cluster_at = argv.iter().position(|a| a == "cluster");
    let up_at = cluster_at
        .and_then(|c| argv[c..].iter().position(|a| a == "up").map(|u| c + u))
        .ok_or_else(|| anyhow!("cannot find `cluster up` in the command line"))?;
    argv[up_at] = "serve".into();
    std::fs::create_dir_all(live_dir(store))?;
    let log = std::fs::File::create(log_path(store))
        .with_context(|| format!("creating {}", log_path(store).display()))?;
    let exe = std::env::current_exe().context("locating the faultline binary")?;
    let mut child = std::process::Command::new(exe)
        .args(&argv)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own process group: the terminal's Ctrl-C must not reach a daemon meant to stay.
        .process_group(0)
        .spawn()
        .context("starting the lab daemon")?;
    let deadline = tokio::time::Instant::now() + ready_timeout + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait()? {
            let text = std::fs::read_to_string(log_path(store)).unwrap_or_default();
            bail!("the lab daemon exited ({status}):\n{}", text.trim_end());
        }
        if is_up(store) {
            let status_argv = vec![
                "faultline".to_string(),
                "cluster".into(),
                "--store".into(),
                store.display().to_string(),
                "status".into(),
            ];
            if let Ok(out) = send(store, status_argv).await {
                print!("{out}");
                return Ok(());
            }
        }
        if tokio::time::Instant::now() >= deadline {
            // Ours, by pid: it never answered, so it must not linger.
            let _ = child.kill();
            let _ = child.wait();
            bail!("the lab daemon did not answer within {ready_timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends this process's own command line to the daemon and returns what it printed.
pub async fn forward(store: &Path) -> Result<String> {
    let is_down = std::env::args().any(|a| a == "down");
    match send(store, std::env::args().collect()).await {
        Err(e) if is_down => {
            // A daemon that is gone took its nodes with it: only its socket is left to remove.
            let _ = std::fs::remove_file(socket_path(store));
            eprintln!("the lab daemon did not answer ({e:#}); removing what it left");
            Ok(String::new())
        }
        other => other,
    }
}

async fn send(store: &Path, argv: Vec<String>) -> Result<String> {
    let path = socket_path(store);
    let exchange = async {
        let mut stream = UnixStream::connect(&path)
            .await
            .with_context(|| format!("the lab daemon at {} does not answer", path.display()))?;
        let mut line = serde_json::to_string(&Request { argv })?;
        line.push('\n');
        stream.write_all(line.as_bytes()).await?;
        let mut answer = String::new();
        BufReader::new(stream).read_line(&mut answer).await?;
        let reply: Reply = serde_json::from_str(&answer)
            .with_context(|| format!("the lab daemon answered {answer:?}"))?;
        match reply.error {
            Some(e) => Err(anyhow!(e)),
            None => Ok(reply.output),
        }
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| anyhow!("the lab daemon did not answer within {REQUEST_TIMEOUT:?}"))?
}

/// The daemon: starts the lab, then serves commands until `down` (or SIGTERM / SIGINT).
pub async fn serve(store: &Path, opts: &ClusterOpts) -> Result<()> {
    let choice = ClusterChoice::resolve(opts).map_err(anyhow::Error::msg)?;
    let mut lab = start_lab(store, &choice, Lifetime::WithFaultline).await?;
    let path = socket_path(store);
    let _ = std::fs::remove_file(&path);
    let listener =
        UnixListener::bind(&path).with_context(|| format!("listening on {}", path.display()))?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        };
        let Ok((stream, _)) = accepted else { continue };
        let (read, mut write) = stream.into_split();
        let mut line = String::new();
        if BufReader::new(read).read_line(&mut line).await.is_err() {
            continue;
        }
        let (reply, stop) = match handle(&lab, &line).await {
            Ok((output, stop)) => (
                Reply {
                    output,
                    error: None,
                },
                stop,
            ),
            Err(e) => (
                Reply {
                    output: String::new(),
                    error: Some(format!("{e:#}")),
                },
                false,
            ),
        };
        if stop {
            // Everything is gone before `down` hears back, so it finds nothing left to sweep.
            lab.teardown();
            let _ = std::fs::remove_file(&path);
        }
        let mut text = serde_json::to_string(&reply)?;
        text.push('\n');
        let _ = write.write_all(text.as_bytes()).await;
        if stop {
            return Ok(());
        }
    }
    // A signal ended the loop.
    lab.teardown();
    let _ = std::fs::remove_file(&path);
    Ok(())
}

/// Runs one forwarded command line; the flag says the lab was taken down.
async fn handle(lab: &cluster::Cluster, line: &str) -> Result<(String, bool)> {
    let request: Request = serde_json::from_str(line).context("a malformed request")?;
    let cli = crate::cli::Cli::try_parse_from(&request.argv).map_err(|e| anyhow!("{e}"))?;
    let Command::Cluster(args) = cli.command else {
        bail!("the lab daemon serves `faultline cluster …` commands only");
    };
    match &args.action {
        ClusterAction::Down(_) => Ok(("took down the proxy lab\n".into(), true)),
        ClusterAction::Up(_) | ClusterAction::Serve(_) => bail!(
            "a lab cluster is already up under {}: take it down with `faultline cluster down`",
            args.store.display()
        ),
        action => Ok((apply(lab, action, args.json).await?, false)),
    }
}
