//! Hosts of a test's own for remote runs (`--nodes`): network namespaces on a bridge, as netns
//! mode makes them, an sshd inside each with host keys and an authorized key made for the test,
//! and a known_hosts file, so that host-key checking stays on. faultline then runs against the
//! namespaces' addresses as it would against machines.

use super::{assert_network_gone, Case};
use cluster::net::netns::NetnsNetwork;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Hosts of the test's own: namespaces on a bridge, an sshd in each; everything removed on drop
/// (the sshds by pid, our children; the namespaces with the network).
pub struct Hosts {
    /// Keys, known_hosts, sshd configs and logs.
    pub dir: tempfile::TempDir,
    /// Each host's sshd.
    pub sshds: Vec<Child>,
    /// Each host's address, h1 first.
    pub ips: Vec<String>,
    /// Dropped last: the sshds live in its namespaces.
    pub net: NetnsNetwork,
}

pub fn keygen(path: &Path) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ssh-keygen {}", path.display());
}

/// How the test's hosts differ from plain ones.
#[derive(Default)]
pub struct Setup<'a> {
    /// The PATH their logins get (a host lacking programs).
    pub path: Option<&'a Path>,
    /// A shell script run as root in each sshd's own mount namespace before it starts, with
    /// the hosts' directory as `$1`: mounts that only the hosts see, gone with their sshds.
    pub mounts: Option<&'a str>,
    /// Whether logins other than root's read the authorized key (the hosts' directory opened).
    pub other_users: bool,
}

/// A user the hosts know besides root (added to their /etc/passwd by [`WITH_USER`]): sudo has
/// no rule for it, so `sudo -n` refuses it, as on a host where it would ask a password.
pub const USER: &str = "fltest";

/// [`Setup::mounts`] giving the hosts an /etc/passwd with [`USER`] in it.
pub const WITH_USER: &str = r#"{ cat /etc/passwd; echo "fltest:x:64999:64999:faultline test:/:/bin/sh"; } > "$1/passwd" && mount --bind "$1/passwd" /etc/passwd"#;

impl Hosts {
    /// `n` hosts, or `None` (skipped) where this machine cannot make them.
    pub fn start(n: usize) -> Option<Hosts> {
        Hosts::start_with(n, &Setup::default())
    }

    /// `n` hosts set up as `setup` says.
    pub fn start_with(n: usize, setup: &Setup) -> Option<Hosts> {
        if !cluster::capability::netns_for_test() || !cluster::capability::sshd_for_test() {
            return None;
        }
        let names: Vec<String> = (1..=n).map(|i| format!("h{i}")).collect();
        let net = NetnsNetwork::create(&names, [10, 79]).expect("the hosts' namespaces");
        // Outside /tmp, where faultline works on the hosts: a host may get a /tmp of its own.
        let dir = tempfile::Builder::new()
            .prefix("faultline-hosts")
            .tempdir_in("/run")
            .unwrap();
        let d = dir.path().to_path_buf();
        let d = d.as_path();
        keygen(&d.join("user"));
        keygen(&d.join("stranger"));
        std::fs::copy(d.join("user.pub"), d.join("authorized_keys")).unwrap();
        if setup.other_users {
            use std::os::unix::fs::PermissionsExt;
            // sshd reads a user's authorized keys as that user.
            for (path, mode) in [(d.to_path_buf(), 0o755), (d.join("authorized_keys"), 0o644)] {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
            }
        }
        // sshd's privilege separation wants its empty directory.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let mut known = String::new();
        let mut hosts = Hosts {
            sshds: Vec::new(),
            ips: Vec::new(),
            dir,
            net,
        };
        for (i, h) in hosts.net.hosts().to_vec().iter().enumerate() {
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
                    set_path = setup
                        .path
                        .map_or(String::new(), |p| format!("SetEnv PATH={}\n", p.display())),
                    ip = h.ip,
                    key = key.display(),
                    d = d.display()
                ),
            )
            .unwrap();
            // `ip netns exec` (and unshare, and sh's exec) exec sshd in place: the child's pid
            // is sshd's.
            let mut cmd = match setup.mounts {
                None => Command::new("ip"),
                Some(script) => {
                    let mut cmd = Command::new("unshare");
                    cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
                        .arg(format!("{script} && shift && exec ip \"$@\""))
                        .arg("sh")
                        .arg(d);
                    cmd
                }
            };
            let child = cmd
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
    pub fn has_chain(&self, i: usize) -> bool {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.net.hosts()[i].netns,
                "iptables",
                "-S",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("FAULTLINE")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `--nodes` for these hosts.
    pub fn nodes(&self) -> String {
        self.ips.join(",")
    }

    /// The options that log in to these hosts as root with the test's key, checking host keys
    /// against the test's known_hosts.
    pub fn ssh_args(&self, key: &str, known_hosts: &Path) -> Vec<String> {
        self.ssh_args_as("root", key, known_hosts)
    }

    /// [`Hosts::ssh_args`] logging in as `user`.
    pub fn ssh_args_as(&self, user: &str, key: &str, known_hosts: &Path) -> Vec<String> {
        vec![
            "--nodes".into(),
            self.nodes(),
            "--ssh-user".into(),
            user.into(),
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
        // What still runs in the hosts' namespaces is the test's too: an sshd session whose
        // client was killed with its faultline (it would wait for a FIN that cannot come once
        // the namespace is gone), a daemon a failed test left. Each by its pid.
        for h in self.net.hosts() {
            let out = Command::new("ip")
                .args(["netns", "pids", &h.netns])
                .output()
                .unwrap();
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                if let Ok(pid) = pid.parse::<i32>() {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
        }
    }
}

/// `faultline test` with `args` then `ssh`, as strings.
pub fn run(case: &Case, args: &[&str], ssh: &[String]) -> std::process::Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(ssh.iter().map(String::as_str));
    case.run(&all)
}

/// The directories the run made on its hosts, from its network.json.
pub fn remote_dirs(run: &Path) -> Vec<PathBuf> {
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

/// Where a test's nodes run: this machine, laid out by `--net`, or the test's own hosts over
/// SSH — so that one test body asserts the same verdict both ways.
pub enum Place<'a> {
    /// This machine, laid out by `--net` (netns, proxy or loopback).
    Net(&'static str),
    /// The test's own hosts, reached over SSH (`--nodes HOST,…`).
    Hosts(&'a Hosts),
}

impl Place<'_> {
    /// The options that put `nodes` nodes there (over SSH: one per host).
    pub fn args(&self, nodes: usize) -> Vec<String> {
        match self {
            Place::Net(net) => vec![
                "--nodes".into(),
                nodes.to_string(),
                "--net".into(),
                net.to_string(),
            ],
            Place::Hosts(hosts) => {
                assert_eq!(hosts.ips.len(), nodes, "one host per node");
                hosts.ssh_args("user", &hosts.path("known_hosts"))
            }
        }
    }

    /// Asserts the run left nothing behind there: no namespaces or bridge of its own, or on
    /// every host no faultline chain and no run directory.
    pub fn assert_left_clean(&self, run: &Path) {
        match self {
            Place::Net("netns") => assert_network_gone(run),
            Place::Net(_) => {}
            Place::Hosts(hosts) => {
                for i in 0..hosts.ips.len() {
                    assert!(!hosts.has_chain(i), "host {i} keeps faultline's chain");
                }
                for dir in remote_dirs(run) {
                    assert!(!dir.exists(), "{} left on its host", dir.display());
                }
            }
        }
    }
}
