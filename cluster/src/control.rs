//! The control interface: how faultline runs commands and daemons on a node's host.
//!
//! Targets and the network never run a process directly; they ask a [`Control`]. Locally that is
//! a plain exec, or an exec inside the node's network namespace; a later SSH implementation gives
//! remote machines the same interface.

use crate::process::{Lifetime, NodeProcess};
use crate::system::Launch;
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs commands and starts daemons on one host.
pub trait Control: Send + Sync + fmt::Debug {
    /// Runs `program args` to completion, feeding `stdin`; the error carries the command and stderr.
    fn run(&self, program: &str, args: &[&str], stdin: Option<&str>) -> Result<String, String>;
    /// Writes `contents` to the file `path` on the host (a configuration file, say).
    fn write_file(&self, path: &Path, contents: &[u8]) -> Result<(), String>;
    /// Reads the file `path` on the host.
    fn read_file(&self, path: &Path) -> Result<Vec<u8>, String>;
    /// Starts a daemon with its output appended to `log`.
    fn start(
        &self,
        launch: &Launch,
        log: &Path,
        lifetime: Lifetime,
    ) -> std::io::Result<NodeProcess>;
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

    fn start(
        &self,
        launch: &Launch,
        log: &Path,
        lifetime: Lifetime,
    ) -> std::io::Result<NodeProcess> {
        NodeProcess::start(&self.wrap(launch), log, lifetime)
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
