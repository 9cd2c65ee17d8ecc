//! The control interface: how faultline runs commands and daemons on a node's host.
//!
//! Targets, the network and the nemesis never run, signal or inspect a process directly; they ask
//! a [`Control`]. Locally that is a plain exec (or one inside the node's network namespace), a
//! `kill(2)` and a look at `/proc`; an SSH implementation gives remote machines the same
//! interface (`kill -STOP PID`, `ps`), and every daemon handle ([`NodeProcess`]) goes through it.
//!
//! [`NodeProcess`]: crate::process::NodeProcess

use crate::system::Launch;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// How long a node process may outlive the faultline that started it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// It dies with faultline (a test run): even a SIGKILLed faultline leaves no node behind.
    WithFaultline,
    /// It outlives faultline (`faultline cluster up`) until `faultline cluster down`.
    Detached,
}

/// Runs commands and starts daemons on one host.
pub trait Control: Send + Sync + fmt::Debug {
    /// Runs `program args` to completion, feeding `stdin`; the error carries the command and stderr.
    fn run(&self, program: &str, args: &[&str], stdin: Option<&str>) -> Result<String, String>;
    /// Writes `contents` to the file `path` on the host (a configuration file, say).
    fn write_file(&self, path: &Path, contents: &[u8]) -> Result<(), String>;
    /// Reads the file `path` on the host.
    fn read_file(&self, path: &Path) -> Result<Vec<u8>, String>;
    /// Starts a daemon with its output appended to `log`, living as long as `lifetime` says.
    fn spawn(&self, launch: &Launch, log: &Path, lifetime: Lifetime) -> io::Result<Spawned>;
    /// Sends `signal` to process `pid` on the host.
    fn signal(&self, pid: u32, signal: Signal) -> Result<(), String>;
    /// What the host knows of process `pid`; `None` when there is no such process.
    fn process(&self, pid: u32) -> Option<ProcessInfo>;
    /// Whether the host's shell finds `program` (a name in its PATH, or a path).
    fn has_program(&self, program: &str) -> Result<bool, String> {
        let found = self.run(
            "sh",
            &[
                "-c",
                r#"command -v -- "$1" >/dev/null && echo yes || echo no"#,
                "sh",
                program,
            ],
            None,
        )?;
        Ok(found.trim() == "yes")
    }
    /// The file `program` (a name in the host's PATH, or a path) runs as, links resolved: what
    /// the host shows as the executable of a process started by that name (Debian's
    /// `redis-server` is a link to `redis-check-rdb`). `None` if the host does not find it.
    fn resolve_program(&self, program: &str) -> Option<PathBuf> {
        let found = self
            .run(
                "sh",
                &[
                    "-c",
                    r#"p=$(command -v -- "$1") && readlink -f -- "$p""#,
                    "sh",
                    program,
                ],
                None,
            )
            .ok()?;
        let path = found.trim();
        (!path.is_empty()).then(|| PathBuf::from(path))
    }
}

/// A daemon just started on a host.
#[derive(Debug)]
pub struct Spawned {
    /// Its process id on the host.
    pub pid: u32,
    /// The child to reap, when this process forked it (a local host); `None` for a remote one.
    pub child: Option<Child>,
}

/// One process as its host sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Its state letter: R, S, T (stopped: paused), Z (exited, not yet reaped), …
    pub state: char,
    /// The executable it runs, where the host tells.
    pub exe: Option<PathBuf>,
    /// Its command line, split into arguments (empty for a moment after exec begins).
    pub cmdline: Vec<String>,
}

/// This machine, optionally inside a named network namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalControl {
    netns: Option<String>,
}

impl LocalControl {
    /// The machine itself, in the root network namespace.
    pub fn root() -> LocalControl {
        LocalControl { netns: None }
    }

    /// Inside the network namespace `name` (created with `ip netns add`).
    pub fn netns(name: &str) -> LocalControl {
        LocalControl {
            netns: Some(name.to_string()),
        }
    }

    /// `launch`, wrapped to run inside this host's namespace.
    fn wrap(&self, launch: &Launch) -> Launch {
        match &self.netns {
            None => launch.clone(),
            // `ip netns exec` execs the program in place (no fork), so the pid is the node's own.
            Some(ns) => {
                let mut args = vec!["netns".into(), "exec".into(), ns.clone()];
                args.push(launch.program.display().to_string());
                args.extend(launch.args.iter().cloned());
                Launch {
                    program: "ip".into(),
                    args,
                }
            }
        }
    }
}

impl Control for LocalControl {
    fn run(&self, program: &str, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
        let launch = self.wrap(&Launch {
            program: program.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
        });
        let shown = format!("{} {}", launch.program.display(), launch.args.join(" "));
        let mut child = Command::new(&launch.program)
            .args(&launch.args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("`{shown}` could not start: {e}"))?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())
                .map_err(|e| format!("`{shown}`: writing stdin: {e}"))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("`{shown}`: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "`{shown}` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    // A network namespace shares this machine's files: plain file calls reach the host's files.
    fn write_file(&self, path: &Path, contents: &[u8]) -> Result<(), String> {
        std::fs::write(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    fn read_file(&self, path: &Path) -> Result<Vec<u8>, String> {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    }

    /// With [`Lifetime::WithFaultline`] the child gets SIGKILL when faultline dies
    /// (PR_SET_PDEATHSIG). That signal fires when the *thread* that forked exits, so start nodes
    /// from a thread that lives as long as the cluster (the runtime's, not a blocking pool's).
    fn spawn(&self, launch: &Launch, log: &Path, lifetime: Lifetime) -> io::Result<Spawned> {
        let launch = self.wrap(launch);
        let out = File::options().create(true).append(true).open(log)?;
        let err = out.try_clone()?;
        let mut cmd = Command::new(&launch.program);
        cmd.args(&launch.args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Its own process group: a Ctrl-C in the terminal goes to faultline, which then tears
            // down in order, instead of killing nodes mid-run behind its back.
            .process_group(0);
        if lifetime == Lifetime::WithFaultline {
            // SAFETY: only async-signal-safe work (one prctl call) runs between fork and exec.
            unsafe {
                cmd.pre_exec(|| {
                    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(io::Error::from)
                });
            }
        }
        let child = cmd.spawn().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot start {}: {e}", launch.program.display()),
            )
        })?;
        Ok(Spawned {
            pid: child.id(),
            child: Some(child),
        })
    }

    // Namespaces here are network namespaces only: every process shares this machine's pids.
    fn signal(&self, pid: u32, signal: Signal) -> Result<(), String> {
        kill(Pid::from_raw(pid as i32), signal)
            .map_err(|e| format!("cannot send {signal} to pid {pid}: {e}"))
    }

    fn process(&self, pid: u32) -> Option<ProcessInfo> {
        if pid == 0 {
            return None;
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let state = stat.rsplit(')').next()?.trim().chars().next()?;
        let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&raw)
            .split_terminator('\0')
            .map(str::to_string)
            .collect();
        Some(ProcessInfo {
            state,
            exe: std::fs::read_link(format!("/proc/{pid}/exe")).ok(),
            cmdline,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_with_stdin_and_reports_stderr() {
        let c = LocalControl::root();
        assert_eq!(c.run("cat", &[], Some("hello")).unwrap(), "hello");
        let err = c
            .run("sh", &["-c", "echo broken >&2; exit 3"], None)
            .unwrap_err();
        assert!(
            err.contains("sh -c") && err.contains("broken") && err.contains('3'),
            "{err}"
        );
        let err = c.run("/nonexistent/tool", &[], None).unwrap_err();
        assert!(err.contains("/nonexistent/tool"), "{err}");
    }

    #[test]
    fn files_round_trip_and_errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let c = LocalControl::netns("unused-for-files");
        let path = dir.path().join("sentinel.conf");
        c.write_file(&path, b"port 1\n").unwrap();
        assert_eq!(c.read_file(&path).unwrap(), b"port 1\n");
        let missing = dir.path().join("nope/x");
        assert!(c.read_file(&missing).unwrap_err().contains("nope/x"));
        assert!(c.write_file(&missing, b"").unwrap_err().contains("nope/x"));
    }

    #[test]
    fn processes_are_inspected_and_signalled_through_the_host() {
        let c = LocalControl::root();
        let me = std::process::id();
        let info = c.process(me).unwrap();
        assert_eq!(info.exe, std::env::current_exe().ok());
        assert!(
            !info.cmdline.is_empty() && "RS".contains(info.state),
            "{info:?}"
        );
        assert_eq!(c.process(0), None);
        let err = c.signal(u32::MAX >> 1, Signal::SIGCONT).unwrap_err();
        assert!(err.contains("SIGCONT") && err.contains("pid"), "{err}");
    }

    #[test]
    fn namespace_wraps_the_command() {
        let launch = Launch {
            program: "redis-server".into(),
            args: vec!["--port".into(), "1".into()],
        };
        let wrapped = LocalControl::netns("fl1-n1").wrap(&launch);
        assert_eq!(wrapped.program, Path::new("ip"));
        assert_eq!(
            wrapped.args,
            ["netns", "exec", "fl1-n1", "redis-server", "--port", "1"]
        );
    }
}
