//! One node's operating-system process: start with its output in a log file, signal, stop — or
//! adopt one started by an earlier faultline (a lab cluster, or a crashed run to clean up).

use crate::system::Launch;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a node process may outlive the faultline that started it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// It dies with faultline (a test run): even a SIGKILLed faultline leaves no node behind.
    WithFaultline,
    /// It outlives faultline (`faultline cluster up`) until `faultline cluster down`.
    Detached,
}

#[derive(Debug)]
enum Handle {
    /// Started by this faultline: waitable.
    Child(Child),
    /// Started by an earlier faultline, known by pid (checked against its command line).
    Adopted(u32),
}

/// A node process that faultline started and must stop.
#[derive(Debug)]
pub struct NodeProcess {
    handle: Handle,
    log: PathBuf,
}

impl NodeProcess {
    /// Starts `launch` with stdout and stderr appended to `log`.
    ///
    /// With [`Lifetime::WithFaultline`] the child gets SIGKILL when faultline dies
    /// (PR_SET_PDEATHSIG). That signal fires when the *thread* that forked exits, so start nodes
    /// from a thread that lives as long as the cluster (the runtime's, not a blocking pool's).
    pub fn start(launch: &Launch, log: &Path, lifetime: Lifetime) -> io::Result<NodeProcess> {
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
        Ok(NodeProcess {
            handle: Handle::Child(child),
            log: log.to_path_buf(),
        })
    }

    /// Takes over `pid`, but only if it still runs `program` with `marker` (e.g. its port) in its
    /// command line: a pid the kernel has since given to another program is never signalled.
    ///
    /// The executable is compared rather than the whole command line because Redis rewrites its
    /// process title (`redis-server 10.77.3.11:6379`).
    pub fn adopt(pid: u32, program: &Path, marker: &str, log: &Path) -> NodeProcess {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
        let same_exe = exe.is_some_and(|e| Some(e) == std::fs::canonicalize(program).ok());
        let ours = same_exe && cmdline(pid).is_some_and(|args| args.join(" ").contains(marker));
        // A pid that is not ours any more is recorded as 0, which every method treats as gone.
        let pid = if ours { pid } else { 0 };
        NodeProcess {
            handle: Handle::Adopted(pid),
            log: log.to_path_buf(),
        }
    }

    /// The process id (0 for an adopted process that was already gone).
    pub fn pid(&self) -> u32 {
        match &self.handle {
            Handle::Child(c) => c.id(),
            Handle::Adopted(pid) => *pid,
        }
    }

    /// Where its output goes.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: Signal) -> Result<(), String> {
        let pid = self.pid();
        if pid == 0 || self.state() == Some('Z') {
            return Err(format!("cannot send {signal}: the process has exited"));
        }
        kill(Pid::from_raw(pid as i32), signal)
            .map_err(|e| format!("cannot send {signal} to pid {pid}: {e}"))
    }

    /// Whether it has exited, and how; `None` while it runs.
    pub fn exited(&mut self) -> Option<String> {
        match &mut self.handle {
            Handle::Child(c) => match c.try_wait() {
                Ok(Some(status)) => Some(status.to_string()),
                Ok(None) => None,
                Err(e) => Some(format!("unknown ({e})")),
            },
            Handle::Adopted(0) => Some("gone".into()),
            Handle::Adopted(pid) => match state_of(*pid) {
                None | Some('Z') => Some("gone".into()),
                Some(_) => None,
            },
        }
    }

    /// Stops owning the process: dropping this handle afterwards leaves it running.
    pub fn release(&mut self) {
        self.handle = Handle::Adopted(self.pid());
    }

    /// Whether it is stopped by SIGSTOP (paused).
    pub fn paused(&self) -> bool {
        self.state() == Some('T')
    }

    fn state(&self) -> Option<char> {
        state_of(self.pid())
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
        if matches!(self.handle, Handle::Child(_)) {
            self.stop();
        }
    }
}

/// The process's state letter from /proc (R, S, T, Z, …), or `None` if there is no such process.
fn state_of(pid: u32) -> Option<char> {
    if pid == 0 {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')').next()?.trim().chars().next()
}

/// The process's command line, split into arguments.
fn cmdline(pid: u32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let text = String::from_utf8_lossy(&raw);
    Some(text.split_terminator('\0').map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sleeper(log: &Path, lifetime: Lifetime) -> NodeProcess {
        let launch = Launch {
            program: "sleep".into(),
            args: vec!["30".into()],
        };
        NodeProcess::start(&launch, log, lifetime).unwrap()
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
        let wrong = NodeProcess::adopt(pid, &sleep, "31", &log);
        assert_eq!(wrong.pid(), 0, "a pid running something else is not ours");
        assert!(wrong.signal(Signal::SIGSTOP).is_err());
        let other = NodeProcess::adopt(pid, Path::new("/bin/sh"), "30", &log);
        assert_eq!(other.pid(), 0, "nor is one running another program");
        let adopted = NodeProcess::adopt(pid, &sleep, "30", &log);
        assert_eq!(
            adopted.pid(),
            pid,
            "exe {:?} vs {:?}, cmdline {:?}",
            std::fs::read_link(format!("/proc/{pid}/exe")),
            std::fs::canonicalize(&sleep),
            cmdline(pid)
        );
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
        let err = NodeProcess::start(&launch, Path::new("/dev/null"), Lifetime::WithFaultline)
            .unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/redis-server"),
            "{err}"
        );
    }
}
