//! One node's operating-system process: start with its output in a log file, signal, stop — or
//! adopt one started by an earlier faultline (a lab cluster, or a crashed run to clean up).

use crate::control::{Control, Lifetime};
use crate::system::Launch;
use nix::sys::signal::Signal;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A daemon faultline started (or adopted) and must stop, known by its pid on its host and
/// signalled and inspected only through that host's [`Control`], so the same handle serves a
/// local and a remote host.
#[derive(Debug)]
pub struct NodeProcess {
    control: Arc<dyn Control>,
    /// 0 once it is known not to be ours (an adopted pid the kernel gave to another program).
    pid: u32,
    /// The child to reap, for a daemon this process forked.
    child: Option<Child>,
    /// Whether dropping this handle stops the daemon (false for an adopted or released one).
    owned: bool,
    log: PathBuf,
}

impl NodeProcess {
    /// Starts `launch` on `control`'s host with stdout and stderr appended to `log`.
    pub fn start(
        control: Arc<dyn Control>,
        launch: &Launch,
        log: &Path,
        lifetime: Lifetime,
    ) -> io::Result<NodeProcess> {
        let spawned = control.spawn(launch, log, lifetime)?;
        Ok(NodeProcess {
            control,
            pid: spawned.pid,
            child: spawned.child,
            owned: true,
            log: log.to_path_buf(),
        })
    }

    /// Takes over `pid` on `control`'s host, but only if it still runs `program` with `marker`
    /// (e.g. its port) in its command line: a pid the kernel has since given to another program
    /// is never signalled.
    ///
    /// The executable is compared rather than the whole command line because Redis rewrites its
    /// process title (`redis-server 10.77.3.11:6379`).
    pub fn adopt(
        control: Arc<dyn Control>,
        pid: u32,
        program: &Path,
        marker: &str,
        log: &Path,
    ) -> NodeProcess {
        let ours = control.process(pid).is_some_and(|p| {
            let Some(exe) = p.exe.as_deref() else {
                return false;
            };
            // A remote host's program is a bare name found through its PATH, or a path there,
            // and either may be a link (redis-server -> redis-check-rdb): only the host can say
            // which file it runs as. A local one this machine resolves itself.
            let same_exe = std::fs::canonicalize(program).is_ok_and(|p| p == exe)
                || exe == program
                || control
                    .resolve_program(&program.to_string_lossy())
                    .is_some_and(|p| p == exe);
            same_exe && p.cmdline.join(" ").contains(marker)
        });
        NodeProcess {
            control,
            pid: if ours { pid } else { 0 },
            child: None,
            owned: false,
            log: log.to_path_buf(),
        }
    }

    /// The process id (0 for an adopted process that was already gone).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Where its output goes.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: Signal) -> Result<(), String> {
        if self.pid == 0 || self.state() == Some('Z') {
            return Err(format!("cannot send {signal}: the process has exited"));
        }
        self.control.signal(self.pid, signal)
    }

    /// Whether it has exited, and how; `None` while it runs.
    pub fn exited(&mut self) -> Option<String> {
        if let Some(child) = &mut self.child {
            // Ours to reap: waiting also clears the zombie.
            return match child.try_wait() {
                Ok(Some(status)) => Some(status.to_string()),
                Ok(None) => None,
                Err(e) => Some(format!("unknown ({e})")),
            };
        }
        match self.state() {
            None | Some('Z') => Some("gone".into()),
            Some(_) => None,
        }
    }

    /// Stops owning the process: dropping this handle afterwards leaves it running.
    pub fn release(&mut self) {
        self.owned = false;
    }

    /// Whether it is stopped by SIGSTOP (paused).
    pub fn paused(&self) -> bool {
        self.state() == Some('T')
    }

    fn state(&self) -> Option<char> {
        self.control.process(self.pid).map(|p| p.state)
    }

    /// Stops the process for good: resume it if paused (so no stopped process outlives us), kill
    /// it, and reap it (an adopted one is reaped by whoever is its parent now).
    pub fn stop(&mut self) {
        if self.exited().is_some() {
            return;
        }
        let _ = self.signal(Signal::SIGCONT);
        let _ = self.signal(Signal::SIGKILL);
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.exited().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        // Only a process this faultline started dies with its handle; an adopted one (a lab
        // cluster between commands) lives on until `cluster down` stops it explicitly.
        if self.owned {
            self.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::LocalControl;

    fn local() -> Arc<dyn Control> {
        Arc::new(LocalControl::root())
    }

    fn state_of(pid: u32) -> Option<char> {
        local().process(pid).map(|p| p.state)
    }

    fn cmdline(pid: u32) -> Option<Vec<String>> {
        local().process(pid).map(|p| p.cmdline)
    }

    fn sleeper(log: &Path, lifetime: Lifetime) -> NodeProcess {
        let launch = Launch {
            program: "sleep".into(),
            args: vec!["30".into()],
        };
        NodeProcess::start(local(), &launch, log, lifetime).unwrap()
    }

    fn wait_state(pid: u32, want: Option<char>) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while state_of(pid) != want && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(state_of(pid), want);
    }

    #[test]
    fn paused_process_is_resumed_and_killed_on_stop() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = sleeper(&dir.path().join("log"), Lifetime::WithFaultline);
        let pid = p.pid();
        p.signal(Signal::SIGSTOP).unwrap();
        wait_state(pid, Some('T'));
        assert!(p.paused());
        p.stop();
        assert!(p.exited().is_some());
        assert_eq!(state_of(pid), None, "reaped, not a zombie");
    }

    #[test]
    fn adopted_process_is_checked_by_command_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let mut started = sleeper(&log, Lifetime::Detached);
        let pid = started.pid();
        let sleep = crate::capability::find_in_path("sleep").unwrap();
        // spawn returns once exec has begun (its CLOEXEC pipe closed), but the kernel sets up the
        // new program's arguments a moment later: until then /proc shows an empty command line.
        let deadline = Instant::now() + Duration::from_secs(5);
        while cmdline(pid).is_none_or(|args| args.is_empty()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        let wrong = NodeProcess::adopt(local(), pid, &sleep, "31", &log);
        assert_eq!(wrong.pid(), 0, "a pid running something else is not ours");
        assert!(wrong.signal(Signal::SIGSTOP).is_err());
        let other = NodeProcess::adopt(local(), pid, Path::new("/bin/sh"), "30", &log);
        assert_eq!(other.pid(), 0, "nor is one running another program");
        let adopted = NodeProcess::adopt(local(), pid, &sleep, "30", &log);
        assert_eq!(
            adopted.pid(),
            pid,
            "exe {:?} vs {:?}, cmdline {:?}",
            std::fs::read_link(format!("/proc/{pid}/exe")),
            std::fs::canonicalize(&sleep),
            cmdline(pid)
        );
        // As a remote host's program is named: the host's shell says which file that is.
        let by_name = NodeProcess::adopt(local(), pid, Path::new("sleep"), "30", &log);
        assert_eq!(by_name.pid(), pid, "a bare name found through the PATH");
        drop(by_name);
        adopted.signal(Signal::SIGSTOP).unwrap();
        wait_state(pid, Some('T'));
        drop(adopted);
        assert_eq!(
            state_of(pid),
            Some('T'),
            "dropping an adopted handle leaves the process"
        );
        started.stop();
        assert_eq!(state_of(pid), None);
    }

    #[test]
    fn missing_program_names_it() {
        let launch = Launch {
            program: "/nonexistent/redis-server".into(),
            args: vec![],
        };
        let err = NodeProcess::start(
            local(),
            &launch,
            Path::new("/dev/null"),
            Lifetime::WithFaultline,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/redis-server"),
            "{err}"
        );
    }
}
