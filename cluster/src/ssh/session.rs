//! One host's SSH connection: how `ssh` is invoked, how many commands share it at once, and what
//! its failures mean in words that name the host.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Condvar, Mutex};

/// Commands in flight on one host's connection at most (sshd allows 10 sessions by default).
pub const MAX_SESSIONS: usize = 8;

/// Which host keys to trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostKeyTrust {
    /// Only keys already in known_hosts (the default): an unknown host is refused.
    #[default]
    Known,
    /// An unknown host's key is trusted and added to known_hosts (trust on first use); a key
    /// that differs from the one known is still refused.
    AcceptNew,
}

/// Where a host is and how to log in to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshTarget {
    /// The host name or address, as given.
    pub host: String,
    /// The SSH port.
    pub port: u16,
    /// The user to log in as (`None`: ssh's default, the local user).
    pub user: Option<String>,
    /// The private key (`None`: ssh's defaults and agent).
    pub key: Option<PathBuf>,
    /// The known_hosts file (`None`: the user's).
    pub known_hosts: Option<PathBuf>,
    /// Which host keys to trust.
    pub trust: HostKeyTrust,
}

impl SshTarget {
    /// `host` on port 22 as the local user, with ssh's keys and known_hosts.
    pub fn new(host: &str) -> SshTarget {
        SshTarget {
            host: host.to_string(),
            port: 22,
            user: None,
            key: None,
            known_hosts: None,
            trust: HostKeyTrust::Known,
        }
    }

    /// `user@host`, or the host alone.
    pub fn destination(&self) -> String {
        match &self.user {
            Some(user) => format!("{user}@{}", self.host),
            None => self.host.clone(),
        }
    }
}

/// A host's connection: the ssh options every command shares, and the count of commands in
/// flight.
#[derive(Debug)]
pub(super) struct Session {
    pub(super) target: SshTarget,
    /// Holds the master connection's socket; removed with the session.
    control_dir: tempfile::TempDir,
    in_flight: Mutex<usize>,
    freed: Condvar,
}

impl Session {
    /// A session for `target`; nothing connects until the first command.
    pub(super) fn new(target: SshTarget) -> std::io::Result<Session> {
        Ok(Session {
            target,
            control_dir: tempfile::Builder::new().prefix("faultline-ssh").tempdir()?,
            in_flight: Mutex::new(0),
            freed: Condvar::new(),
        })
    }

    fn control_path(&self) -> PathBuf {
        self.control_dir.path().join("master")
    }

    /// ssh's options, then the destination.
    fn ssh_args(&self) -> Vec<String> {
        let t = &self.target;
        let strict = match t.trust {
            HostKeyTrust::Known => "yes",
            HostKeyTrust::AcceptNew => "accept-new",
        };
        let mut args = vec![
            "-o".to_string(),
            "BatchMode=yes".to_string(),
            "-o".to_string(),
            format!("StrictHostKeyChecking={strict}"),
            "-o".to_string(),
            "ControlMaster=auto".to_string(),
            "-o".to_string(),
            format!("ControlPath={}", self.control_path().display()),
            "-o".to_string(),
            "ControlPersist=60".to_string(),
            "-o".to_string(),
            "ConnectTimeout=10".to_string(),
            "-o".to_string(),
            "LogLevel=ERROR".to_string(),
            "-p".to_string(),
            t.port.to_string(),
        ];
        if let Some(key) = &t.key {
            args.extend(["-i".to_string(), key.display().to_string()]);
            args.extend(["-o".to_string(), "IdentitiesOnly=yes".to_string()]);
        }
        if let Some(known) = &t.known_hosts {
            args.extend([
                "-o".to_string(),
                format!("UserKnownHostsFile={}", known.display()),
                "-o".to_string(),
                "GlobalKnownHostsFile=/dev/null".to_string(),
            ]);
        }
        args.push(t.destination());
        args
    }

    /// Runs the remote command line `line` (already quoted), feeding `stdin`, and returns its
    /// output whatever its exit status; an `Err` is ssh itself failing to run.
    pub(super) fn exec(&self, line: &str, stdin: Option<&[u8]>) -> Result<Output, String> {
        let _slot = self.slot();
        let mut cmd = Command::new("ssh");
        cmd.args(self.ssh_args())
            .arg("--")
            .arg(line)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("{}: cannot run ssh: {e}", self.target.host))?;
        if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A remote command that does not read its input closes the pipe: not our error.
            let _ = pipe.write_all(bytes);
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("{}: ssh did not finish: {e}", self.target.host))?;
        if out.status.code() == Some(255) {
            return Err(self.ssh_failure(&String::from_utf8_lossy(&out.stderr)));
        }
        Ok(out)
    }

    /// Waits for a free session on the connection; the slot frees it when dropped.
    fn slot(&self) -> Slot<'_> {
        let mut n = self.in_flight.lock().expect("ssh sessions");
        while *n >= MAX_SESSIONS {
            n = self.freed.wait(n).expect("ssh sessions");
        }
        *n += 1;
        Slot(self)
    }

    /// What ssh's own failure (exit 255) means, naming the host.
    fn ssh_failure(&self, stderr: &str) -> String {
        let host = &self.target.host;
        let said = stderr.trim();
        let known = self.target.known_hosts.as_deref().map_or_else(
            || "~/.ssh/known_hosts".to_string(),
            |p| p.display().to_string(),
        );
        if said.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
            || said.contains("Host key for") && said.contains("has changed")
        {
            format!(
                "host {host}: its host key has CHANGED from the one in {known}; refusing to \
                 connect (if the host was reinstalled, remove its old key with ssh-keygen -R)"
            )
        } else if said.contains("Host key verification failed") {
            format!(
                "host {host}: its host key is not in {known}; add it (ssh-keyscan), or pass \
                 --ssh-accept-new to trust it on first use"
            )
        } else if said.contains("Permission denied") {
            format!(
                "host {host}: {} refused the key ({said})",
                self.target.destination()
            )
        } else if said.contains("Connection refused")
            || said.contains("timed out")
            || said.contains("No route to host")
            || said.contains("Could not resolve")
            || said.contains("Network is unreachable")
        {
            format!(
                "host {host} is unreachable on port {}: {said}",
                self.target.port
            )
        } else {
            format!("host {host}: ssh failed: {said}")
        }
    }

    /// Ends the master connection, if one was opened.
    fn close(&self) {
        if self.control_path().exists() {
            let _ = Command::new("ssh")
                .args([
                    "-o",
                    &format!("ControlPath={}", self.control_path().display()),
                ])
                .args(["-O", "exit", &self.target.destination()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.close();
    }
}

/// One command's share of the connection.
struct Slot<'a>(&'a Session);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.in_flight.lock().expect("ssh sessions") -= 1;
        self.0.freed.notify_one();
    }
}
