//! The SSH control against a real OpenSSH server: an sshd of the test's own on a loopback port,
//! with host and user keys made for the test, logging in as the user running it (root in CI).

use cluster::control::{Control, Lifetime};
use cluster::ssh::{HostKeyTrust, SshControl, SshTarget};
use cluster::system::Launch;
use nix::sys::signal::Signal;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An sshd on 127.0.0.1 with its keys in a directory of its own; stopped (by its pid, our
/// child) when dropped.
struct Sshd {
    dir: tempfile::TempDir,
    port: u16,
    child: Child,
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

impl Sshd {
    fn start() -> Sshd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("host"));
        keygen(&d.join("user"));
        keygen(&d.join("stranger"));
        std::fs::copy(d.join("user.pub"), d.join("authorized_keys")).unwrap();
        let port = cluster::ports::listen_port().unwrap();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM no\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nMaxSessions 10\n",
            d = d.display()
        );
        std::fs::write(d.join("sshd_config"), config).unwrap();
        // sshd's privilege separation wants its empty directory.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let child = Command::new(cluster::capability::SSHD)
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("sshd.log")).unwrap())
            .spawn()
            .unwrap();
        let sshd = Sshd { dir, port, child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd did not listen: {}",
                sshd.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        sshd
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A known_hosts file naming `key` (a public key file) as this server's.
    fn known_hosts(&self, name: &str, key: &str) -> PathBuf {
        let public = std::fs::read_to_string(self.path(key)).unwrap();
        let mut fields = public.split_whitespace();
        let (kind, blob) = (fields.next().unwrap(), fields.next().unwrap());
        let path = self.path(name);
        std::fs::write(&path, format!("[127.0.0.1]:{} {kind} {blob}\n", self.port)).unwrap();
        path
    }

    fn target(&self, key: &str, known_hosts: PathBuf, trust: HostKeyTrust) -> SshTarget {
        SshTarget {
            host: "127.0.0.1".into(),
            port: self.port,
            user: Some("root".into()),
            key: Some(self.path(key)),
            known_hosts: Some(known_hosts),
            trust,
        }
    }

    /// A control that trusts this server's real key.
    fn control(&self) -> SshControl {
        let known = self.known_hosts("known_hosts", "host.pub");
        SshControl::new(self.target("user", known, HostKeyTrust::Known), false).unwrap()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn commands_files_and_daemons_go_through_ssh_intact() {
    if !cluster::capability::sshd_for_test() {
        return;
    }
    let sshd = Sshd::start();
    let host = sshd.control();
    // Every argument arrives as given, shell metacharacters and all.
    let words = ["a b", "it's", "$HOME", "\"q\"", "`id`", "x;y", "*", ""];
    let mut args = vec!["%s|"];
    args.extend(words);
    let out = host
        .run("printf", &args, None)
        .unwrap_or_else(|e| panic!("{e}\n{}", sshd.log()));
    assert_eq!(out, "a b|it's|$HOME|\"q\"|`id`|x;y|*||");
    assert_eq!(host.run("cat", &[], Some("fed in")).unwrap(), "fed in");
    let err = host.run("no-such-program-here", &["x"], None).unwrap_err();
    assert_eq!(
        err,
        "command not found on host 127.0.0.1: no-such-program-here"
    );
    let err = host
        .run("sh", &["-c", "echo why >&2; exit 3"], None)
        .unwrap_err();
    assert!(err.contains("exited 3: why"), "{err}");

    // Files, bytes exactly.
    let file = sshd.path("with space.bin");
    host.write_file(&file, b"\x00one\ntwo'\xff").unwrap();
    assert_eq!(host.read_file(&file).unwrap(), b"\x00one\ntwo'\xff");
    let err = host.read_file(&sshd.path("missing")).unwrap_err();
    assert!(
        err.contains("missing") && err.contains("127.0.0.1"),
        "{err}"
    );

    // A daemon outlives the command that started it, and is paused, resumed and killed by pid.
    let log = sshd.path("daemon log");
    let launch = Launch {
        program: "sh".into(),
        args: vec!["-c".into(), "echo started; exec sleep 300".into()],
    };
    let pid = host.spawn(&launch, &log, Lifetime::Detached).unwrap().pid;
    wait_for("the daemon runs sleep", || {
        host.process(pid)
            .is_some_and(|p| p.cmdline.first().is_some_and(|a| a == "sleep"))
    });
    let info = host.process(pid).unwrap();
    assert_eq!(info.cmdline, ["sleep", "300"]);
    assert!(info.exe.is_some_and(|e| e.ends_with("sleep")));
    host.signal(pid, Signal::SIGSTOP).unwrap();
    wait_for("paused", || {
        host.process(pid).is_some_and(|p| p.state == 'T')
    });
    host.signal(pid, Signal::SIGCONT).unwrap();
    wait_for("resumed", || {
        host.process(pid).is_some_and(|p| p.state != 'T')
    });
    host.signal(pid, Signal::SIGKILL).unwrap();
    wait_for("gone", || host.process(pid).is_none_or(|p| p.state == 'Z'));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "started\n");
    // (A killed daemon may linger as a zombie where the host's init does not reap: no pid is
    // sure to be gone but one past the kernel's limit.)
    let none = u32::MAX >> 1;
    let err = host.signal(none, Signal::SIGCONT).unwrap_err();
    assert!(
        err.contains("SIGCONT") && err.contains(&none.to_string()),
        "{err}"
    );
    assert_eq!(host.process(none), None);

    // More commands at once than sshd's sessions: they share the connection in turn.
    std::thread::scope(|s| {
        let runs: Vec<_> = (0..24)
            .map(|i| {
                s.spawn({
                    let host = &host;
                    move || host.run("echo", &[&i.to_string()], None)
                })
            })
            .collect();
        for (i, run) in runs.into_iter().enumerate() {
            assert_eq!(run.join().unwrap().unwrap(), format!("{i}\n"));
        }
    });
}

#[test]
fn host_keys_are_checked_and_a_changed_one_is_always_refused() {
    if !cluster::capability::sshd_for_test() {
        return;
    }
    let sshd = Sshd::start();
    let empty = sshd.path("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let unknown = SshControl::new(
        sshd.target("user", empty.clone(), HostKeyTrust::Known),
        false,
    )
    .unwrap();
    let err = unknown.run("true", &[], None).unwrap_err();
    assert!(
        err.starts_with("host 127.0.0.1: its host key is not in")
            && err.contains("--ssh-accept-new"),
        "{err}"
    );
    // Trust on first use, when asked: the key is learned.
    let first = SshControl::new(
        sshd.target("user", empty.clone(), HostKeyTrust::AcceptNew),
        false,
    )
    .unwrap();
    first.run("true", &[], None).unwrap();
    let learned = std::fs::read_to_string(&empty).unwrap();
    let host_key = std::fs::read_to_string(sshd.path("host.pub")).unwrap();
    let blob = host_key.split_whitespace().nth(1).unwrap();
    assert!(learned.contains(blob), "{learned}");
    // A known key that is not the server's: refused, even with trust on first use.
    let wrong = sshd.known_hosts("wrong_known_hosts", "stranger.pub");
    for trust in [HostKeyTrust::Known, HostKeyTrust::AcceptNew] {
        let changed = SshControl::new(sshd.target("user", wrong.clone(), trust), false).unwrap();
        let err = changed.run("true", &[], None).unwrap_err();
        assert!(err.contains("host key has CHANGED"), "{trust:?}: {err}");
    }
}

#[test]
fn a_refused_key_and_an_unreachable_host_are_named() {
    if !cluster::capability::sshd_for_test() {
        return;
    }
    let sshd = Sshd::start();
    let known = sshd.known_hosts("known_hosts", "host.pub");
    let stranger = SshControl::new(
        sshd.target("stranger", known.clone(), HostKeyTrust::Known),
        false,
    )
    .unwrap();
    let err = stranger.run("true", &[], None).unwrap_err();
    assert!(err.contains("root@127.0.0.1 refused the key"), "{err}");
    let port = cluster::ports::listen_port().unwrap();
    let mut target = sshd.target("user", known, HostKeyTrust::Known);
    target.port = port;
    let nowhere = SshControl::new(target, false).unwrap();
    let err = nowhere.run("true", &[], None).unwrap_err();
    assert!(
        err.starts_with(&format!("host 127.0.0.1 is unreachable on port {port}")),
        "{err}"
    );
}
