//! One node's operating-system process: start with its output in a log file, signal, stop.

use crate::target::Launch;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running node process that faultline started and must stop.
#[derive(Debug)]
pub struct NodeProcess {
    child: Child,
    log: PathBuf,
}

impl NodeProcess {
    /// Starts `launch` with stdout and stderr appended to `log`.
    ///
    /// The child gets SIGKILL if faultline dies (PR_SET_PDEATHSIG), so even a SIGKILLed harness
    /// leaves no node behind. The signal fires when the *thread* that forked exits, so this must be
    /// called from a thread that lives as long as the cluster (the runtime's, not a blocking pool's).
    pub fn start(launch: &Launch, log: &Path) -> io::Result<NodeProcess> {
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
        // SAFETY: only async-signal-safe work (one prctl call) runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(io::Error::from)
            });
        }
        let child = cmd.spawn().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot start {}: {e}", launch.program.display()),
            )
        })?;
        Ok(NodeProcess {
            child,
            log: log.to_path_buf(),
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where its output goes.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: Signal) -> Result<(), String> {
        kill(Pid::from_raw(self.child.id() as i32), signal)
            .map_err(|e| format!("cannot send {signal} to pid {}: {e}", self.child.id()))
    }

    /// Whether it has exited, and how; `None` while it runs.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("unknown ({e})")),
        }
    }

    /// Stops the process for good: resume it if paused (so no stopped process outlives us), kill it,
    /// and reap it.
    pub fn stop(&mut self) {
        if self.exited().is_some() {
            return;
        }
        let _ = self.signal(Signal::SIGCONT);
        let _ = self.child.kill();
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.exited().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sleeper(log: &Path) -> NodeProcess {
        let launch = Launch {
            program: "sleep".into(),
            args: vec!["30".into()],
        };
        NodeProcess::start(&launch, log).unwrap()
    }

    fn state(pid: u32) -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit(')').next()?.trim().chars().next()
    }

    #[test]
    fn paused_process_is_resumed_and_killed_on_stop() {
        let dir = std::env::temp_dir().join(format!("faultline-proc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut p = sleeper(&dir.join("log"));
        let pid = p.pid();
        p.signal(Signal::SIGSTOP).unwrap();
        let deadline = Instant::now() + Duration::from_secs(2);
        while state(pid) != Some('T') && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(state(pid), Some('T'), "SIGSTOP stops it");
        p.stop();
        assert!(p.exited().is_some());
        assert_eq!(state(pid), None, "reaped, not a zombie");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_program_names_it() {
        let launch = Launch {
            program: "/nonexistent/redis-server".into(),
            args: vec![],
        };
        let err = NodeProcess::start(&launch, Path::new("/dev/null")).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/redis-server"),
            "{err}"
        );
    }
}
