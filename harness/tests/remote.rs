//! Remote nodes over SSH (`faultline test --nodes HOST,…`), without remote machines: the test
//! makes network namespaces of its own (a bridge and a namespace per host, as netns mode
//! does), starts an sshd inside each with host keys and an authorized key made for the test,
//! and writes the known_hosts file, so host-key checking stays on. faultline then runs against
//! the namespaces' addresses as it would against machines.

mod common;

use cluster::net::netns::NetnsNetwork;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Hosts of the test's own: namespaces on a bridge, an sshd in each; everything removed on drop
/// (the sshds by pid, our children; the namespaces with the network).
struct Hosts {
    dir: tempfile::TempDir,
    sshds: Vec<Child>,
    ips: Vec<String>,
    /// Dropped last: the sshds live in its namespaces.
    _net: NetnsNetwork,
}

fn keygen(path: &Path) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ssh-keygen {}", path.display());
}

impl Hosts {
    /// `n` hosts, or `None` (skipped) where this machine cannot make them.
    fn start(n: usize) -> Option<Hosts> {
        Hosts::start_with_path(n, None)
    }

    /// `n` hosts whose logins get `path` as PATH where given (a host lacking programs).
    fn start_with_path(n: usize, path: Option<&Path>) -> Option<Hosts> {
        if !cluster::capability::netns_for_test() || !cluster::capability::sshd_for_test() {
            return None;
        }
        let names: Vec<String> = (1..=n).map(|i| format!("h{i}")).collect();
        let net = NetnsNetwork::create(&names, [10, 79]).expect("the hosts' namespaces");
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let d = d.as_path();
        keygen(&d.join("user"));
        keygen(&d.join("stranger"));
        std::fs::copy(d.join("user.pub"), d.join("authorized_keys")).unwrap();
        // sshd's privilege separation wants its empty directory.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let mut known = String::new();
        let mut hosts = Hosts {
            sshds: Vec::new(),
            ips: Vec::new(),
            dir,
            _net: net,
        };
        for (i, h) in hosts._net.hosts().to_vec().iter().enumerate() {
            let key = d.join(format!("host{i}"));
            keygen(&key);
            let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
            let mut fields = public.split_whitespace();
            let (kind, blob) = (fields.next().unwrap(), fields.next().unwrap());
            known.push_str(&format!("{} {kind} {blob}\n", h.ip));
            let config = d.join(format!("sshd{i}.conf"));
            std::fs::write(
                &config,
                format!(
                    "Port 22\nListenAddress {ip}\nHostKey {key}\nPidFile {d}/sshd{i}.pid\n\
                     AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM no\n\
                     PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                     PubkeyAuthentication yes\nPermitRootLogin prohibit-password\n\
                     MaxSessions 10\n{set_path}",
                    set_path =
                        path.map_or(String::new(), |p| format!("SetEnv PATH={}\n", p.display())),
                    ip = h.ip,
                    key = key.display(),
                    d = d.display()
                ),
            )
            .unwrap();
            // `ip netns exec` execs sshd in place: the child's pid is sshd's.
            let child = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &h.netns,
                    cluster::capability::SSHD,
                    "-D",
                    "-e",
                ])
                .arg("-f")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(d.join(format!("sshd{i}.log"))).unwrap())
                .spawn()
                .unwrap();
            hosts.sshds.push(child);
            hosts.ips.push(h.ip.to_string());
        }
        std::fs::write(d.join("known_hosts"), known).unwrap();
        for ip in &hosts.ips {
            let deadline = Instant::now() + Duration::from_secs(10);
            while std::net::TcpStream::connect((ip.as_str(), 22)).is_err() {
                assert!(Instant::now() < deadline, "sshd on {ip} did not listen");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Some(hosts)
    }

    /// Whether host `i`'s firewall holds faultline's chain.
    fn has_chain(&self, i: usize) -> bool {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self._net.hosts()[i].netns,
                "iptables",
                "-S",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("FAULTLINE")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `--nodes` for these hosts.
    fn nodes(&self) -> String {
        self.ips.join(",")
    }

    /// The options that log in to these hosts as root with the test's key, checking host keys
    /// against the test's known_hosts.
    fn ssh_args(&self, key: &str, known_hosts: &Path) -> Vec<String> {
        vec![
            "--nodes".into(),
            self.nodes(),
            "--ssh-user".into(),
            "root".into(),
            "--ssh-key".into(),
            self.path(key).display().to_string(),
            "--ssh-known-hosts".into(),
            known_hosts.display().to_string(),
        ]
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for sshd in &mut self.sshds {
            let _ = sshd.kill();
            let _ = sshd.wait();
        }
    }
}

/// `faultline test` with `args` then `ssh`, as strings.
fn run(case: &Case, args: &[&str], ssh: &[String]) -> std::process::Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(ssh.iter().map(String::as_str));
    case.run(&all)
}

/// The directories the run made on its hosts, from its network.json.
fn remote_dirs(run: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(run.join("nodes/network.json")).expect("network.json");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["mode"], "ssh", "{v:#}");
    v["hosts"]
        .as_array()
        .expect("ssh hosts")
        .iter()
        .map(|h| PathBuf::from(h["dir"].as_str().unwrap()))
        .collect()
}

/// A 5 s run of own nodes on `hosts` under `nemesis` with `seed`, asserted valid and complete.
fn own_run_is_valid(hosts: &Hosts, nemesis: &str, seed: &str) -> Case {
    let case = Case::new();
    let ssh = hosts.ssh_args("user", &hosts.path("known_hosts"));
    let args = [
        "test",
        "--target",
        "own",
        "--nemesis",
        nemesis,
        "--nemesis-interval",
        "1s",
    ];
    let out = run(
        &case,
        &[&args[..], &["--time-limit", "5s", "--seed", seed, "--json"]].concat(),
        &ssh,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_run_dir_complete(&case, "valid");
    case
}

/// Own nodes on three hosts under pauses: faultline uploads itself, starts `faultline node` on
/// each host bound to the host's address, pauses and resumes by pid over SSH, brings the logs
/// back and leaves nothing on the hosts.
#[test]
fn own_nodes_on_remote_hosts_under_pauses_are_valid() {
    let Some(hosts) = Hosts::start(3) else {
        return;
    };
    let case = own_run_is_valid(&hosts, "pause", "5");
    let run = case.latest();
    let history = history_lines(&run);
    let pauses = history
        .iter()
        .filter(|e| e["process"] == "nemesis" && e["type"] == "info" && e["f"] == "pause")
        .count();
    assert!(pauses > 0, "a pause was applied: {history:?}");
    for i in 1..=hosts.ips.len() {
        let log = std::fs::read_to_string(run.join(format!("nodes/n{i}/node.log"))).unwrap();
        assert!(!log.is_empty(), "n{i}'s log brought back");
    }
    let layout = std::fs::read_to_string(run.join("nodes/network.json")).unwrap();
    for ip in &hosts.ips {
        assert!(layout.contains(ip.as_str()), "{layout}");
    }
    for dir in remote_dirs(&run) {
        assert!(!dir.exists(), "{} left on its host", dir.display());
    }
}

/// A host whose key is not in known_hosts is refused, naming the host and the way out; with
/// --ssh-accept-new it is trusted (loudly) and its key added.
#[test]
fn an_unknown_host_key_is_refused_unless_trusted_on_first_use() {
    let Some(hosts) = Hosts::start(1) else {
        return;
    };
    let case = Case::new();
    let empty = hosts.path("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let quick = ["test", "--nemesis", "none", "--time-limit", "1s", "--json"];
    let out = run(&case, &quick, &hosts.ssh_args("user", &empty));
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        err.contains(&format!("host {}", hosts.ips[0])) && err.contains("--ssh-accept-new"),
        "{err}"
    );
    let mut trusting = hosts.ssh_args("user", &empty);
    trusting.push("--ssh-accept-new".into());
    let out = run(&case, &quick, &trusting);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("WARNING: --ssh-accept-new"));
    // ssh may hash the names in known_hosts: ask ssh-keygen whether the host is there.
    let found = Command::new("ssh-keygen")
        .args(["-F", &hosts.ips[0], "-f"])
        .arg(&empty)
        .output()
        .unwrap();
    assert!(found.status.success(), "key added to {}", empty.display());
}

/// A key the host does not authorize, a port nothing listens on, and a changed host key each
/// stop the run before it starts, naming the host.
#[test]
fn login_failures_name_the_host() {
    let Some(hosts) = Hosts::start(1) else {
        return;
    };
    let case = Case::new();
    let ip = &hosts.ips[0];
    let quick = ["test", "--nemesis", "none", "--time-limit", "1s", "--json"];
    let known = hosts.path("known_hosts");

    let out = run(&case, &quick, &hosts.ssh_args("stranger", &known));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("host {ip}")) && err.contains("refused the key"),
        "{err}"
    );

    let mut closed = hosts.ssh_args("user", &known);
    closed.extend(["--ssh-port".into(), "2222".into()]);
    let out = run(&case, &quick, &closed);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("host {ip} is unreachable on port 2222")),
        "{err}"
    );

    // known_hosts holding another key for the host: refused even with --ssh-accept-new.
    let other = hosts.path("other_known_hosts");
    let public = std::fs::read_to_string(hosts.path("stranger.pub")).unwrap();
    let mut fields = public.split_whitespace();
    let (kind, blob) = (fields.next().unwrap(), fields.next().unwrap());
    std::fs::write(&other, format!("{ip} {kind} {blob}\n")).unwrap();
    let mut changed = hosts.ssh_args("user", &other);
    changed.push("--ssh-accept-new".into());
    let out = run(&case, &quick, &changed);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("host {ip}")) && err.contains("CHANGED"),
        "{err}"
    );
}

/// Own nodes on three hosts under partitions: DROP rules in faultline's chain on each host,
/// the control node never cut (clients and SSH go on), and no chain left at the end.
#[test]
fn own_nodes_on_remote_hosts_under_partitions() {
    let Some(hosts) = Hosts::start(3) else {
        return;
    };
    let case = own_run_is_valid(&hosts, "partition", "6");
    let history = history_lines(&case.latest());
    let cuts = history
        .iter()
        .filter(|e| e["process"] == "nemesis" && e["type"] == "info" && e["f"] == "partition")
        .count();
    assert!(cuts > 0, "a partition was applied: {history:?}");
    for i in 0..hosts.ips.len() {
        assert!(!hosts.has_chain(i), "host {i} keeps faultline's chain");
    }
}

/// Redis on remote hosts: redis-server found on each host's PATH and started there.
#[test]
fn redis_on_remote_hosts_under_pauses_is_valid() {
    let Some(hosts) = Hosts::start(3) else {
        return;
    };
    if !cluster::capability::redis_for_test() {
        return;
    }
    let case = Case::new();
    let ssh = hosts.ssh_args("user", &hosts.path("known_hosts"));
    let quick = [
        "test",
        "--target",
        "redis",
        "--nemesis",
        "pause",
        "--nemesis-interval",
        "1s",
    ];
    let out = run(
        &case,
        &[&quick[..], &["--time-limit", "4s", "--seed", "8"]].concat(),
        &ssh,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_run_dir_complete(&case, "valid");
}

/// A host without the system's program stops the run before anything starts, naming the host,
/// the program and what to install.
#[test]
fn a_missing_program_names_the_host() {
    // The host's logins find only what a shell and faultline's own commands need.
    let bin = tempfile::tempdir().unwrap();
    for tool in [
        "sh", "mkdir", "cat", "chmod", "rm", "rmdir", "kill", "setsid", "readlink", "true",
    ] {
        let real = cluster::capability::find_in_path(tool).unwrap();
        std::os::unix::fs::symlink(real, bin.path().join(tool)).unwrap();
    }
    let Some(hosts) = Hosts::start_with_path(1, Some(bin.path())) else {
        return;
    };
    let case = Case::new();
    let ssh = hosts.ssh_args("user", &hosts.path("known_hosts"));
    let out = run(
        &case,
        &[
            "test",
            "--target",
            "redis",
            "--nemesis",
            "none",
            "--time-limit",
            "1s",
        ],
        &ssh,
    );
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        err.contains(&format!(
            "command not found on host {}: redis-server (install redis-server)",
            hosts.ips[0]
        )),
        "{err}"
    );
}
