//! [`Control`] over SSH: commands, files, daemons and signals on a remote host.

use super::quote::{command_line, quote};
use super::session::{Session, SshTarget};
use crate::control::{Control, Lifetime, ProcessInfo, Spawned};
use crate::system::Launch;
use nix::sys::signal::Signal;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A remote host, driven over SSH.
#[derive(Debug)]
pub struct SshControl {
    session: Session,
    /// Prefix commands with `sudo -n` (a login that is not root).
    sudo: bool,
}

/// Exit status of a shell for a command it could not find.
const NOT_FOUND: i32 = 127;

impl SshControl {
    /// A control for `target`; `sudo` runs every command through `sudo -n`, which fails with a
    /// clear error instead of waiting for a password.
    pub fn new(target: SshTarget, sudo: bool) -> io::Result<SshControl> {
        Ok(SshControl {
            session: Session::new(target)?,
            sudo,
        })
    }

    /// The host as given.
    pub fn host(&self) -> &str {
        &self.session.target.host
    }

    /// Runs the words `words` on the host, with `stdin`; the output whatever the exit status.
    pub(super) fn exec(&self, words: &[&str], stdin: Option<&[u8]>) -> Result<Output, String> {
        let mut line = String::new();
        if self.sudo {
            line.push_str("sudo -n -- ");
        }
        line.push_str(&command_line(words));
        self.session.exec(&line, stdin)
    }

    /// Runs a short shell script on the host: `script` gets `args` as `$1`, `$2`, ….
    fn script(&self, script: &str, args: &[&str], stdin: Option<&[u8]>) -> Result<Output, String> {
        let mut words = vec!["sh", "-c", script, "sh"];
        words.extend_from_slice(args);
        self.exec(&words, stdin)
    }

    /// The error for a command that exited with `out`'s non-zero status.
    pub(super) fn failed(&self, shown: &str, out: &Output) -> String {
        let host = self.host();
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if self.sudo && stderr.contains("sudo:") && stderr.contains("password") {
            return format!(
                "host {host}: sudo wants a password for {}; give the user passwordless sudo \
                 (NOPASSWD) or log in as root",
                self.session.target.destination()
            );
        }
        // A shell script's missing command is named by the shell ("sh: 1: mv: not found"), a
        // missing program by sudo ("sudo: etcd: command not found"); else it is the first word.
        let named = stderr
            .split_once(": not found")
            .or_else(|| stderr.split_once(": command not found"))
            .and_then(|(before, _)| before.rsplit(": ").next());
        let program = named.unwrap_or_else(|| shown.split_whitespace().next().unwrap_or(shown));
        if self.sudo && out.status.code() == Some(NOT_FOUND) && stderr.contains("sudo") {
            return format!(
                "host {host}: sudo is not installed, and {} is not root; install sudo (with \
                 NOPASSWD rights) or log in as root",
                self.session.target.destination()
            );
        }
        // sudo says so itself, with its own exit status, where the program is missing.
        if self.sudo && stderr.contains("sudo:") && stderr.contains("command not found") {
            return format!("command not found on host {host}: {program}");
        }
        if stderr.contains("No space left on device") {
            return format!(
                "host {host}: no space left on device: `{shown}` failed ({stderr}); free space \
                 on the host (df -h)"
            );
        }
        match out.status.code() {
            Some(NOT_FOUND) => format!("command not found on host {host}: {program}"),
            Some(code) => format!("`{shown}` on host {host} exited {code}: {stderr}"),
            None => format!("`{shown}` on host {host} was killed: {stderr}"),
        }
    }
}

impl Control for SshControl {
    fn run(&self, program: &str, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
        let mut words = vec![program];
        words.extend_from_slice(args);
        let out = self.exec(&words, stdin.map(str::as_bytes))?;
        if !out.status.success() {
            return Err(self.failed(&words.join(" "), &out));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn write_file(&self, path: &Path, contents: &[u8]) -> Result<(), String> {
        let shown = path.display().to_string();
        let out = self.script(r#"cat > "$1""#, &[&shown], Some(contents))?;
        if !out.status.success() {
            return Err(self.failed(&format!("write {shown}"), &out));
        }
        Ok(())
    }

    fn read_file(&self, path: &Path) -> Result<Vec<u8>, String> {
        let shown = path.display().to_string();
        let out = self.exec(&["cat", "--", &shown], None)?;
        if !out.status.success() {
            return Err(self.failed(&format!("cat {shown}"), &out));
        }
        Ok(out.stdout)
    }

    /// Starts the daemon in a session of its own (`setsid`), so that it outlives the SSH
    /// session that started it whatever `_lifetime` asks: a remote daemon cannot die with
    /// faultline, and is stopped by pid instead.
    fn spawn(&self, launch: &Launch, log: &Path, _lifetime: Lifetime) -> io::Result<Spawned> {
        let program = launch.program.display().to_string();
        let mut args: Vec<&str> = vec![&program];
        args.extend(launch.args.iter().map(String::as_str));
        // In a shell without job control a background job is no group leader, so setsid does
        // not fork, and the inner `exec` keeps the pid: `$!` is the daemon's own.
        let script = format!(
            "setsid sh -c 'exec \"$@\" >> {} 2>&1 < /dev/null' sh \"$@\" > /dev/null 2>&1 & echo $!",
            quote(&log.display().to_string()).replace('\'', r"'\''")
        );
        let out = self
            .script(&script, &args, None)
            .map_err(io::Error::other)?;
        if !out.status.success() {
            return Err(io::Error::other(self.failed(&program, &out)));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let pid = text.trim().parse().map_err(|_| {
            io::Error::other(format!(
                "host {}: starting {program} gave no pid: {text:?}",
                self.host()
            ))
        })?;
        Ok(Spawned { pid, child: None })
    }

    fn signal(&self, pid: u32, signal: Signal) -> Result<(), String> {
        let name = signal.as_str().trim_start_matches("SIG");
        let pid = pid.to_string();
        let out = self.exec(&["kill", "-s", name, "--", &pid], None)?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(format!(
                "host {}: {} to pid {pid}: {}",
                self.host(),
                signal.as_str(),
                stderr.trim()
            ));
        }
        Ok(())
    }

    fn process(&self, pid: u32) -> Option<ProcessInfo> {
        // One round trip: the state line, the executable, then the NUL-separated command line.
        let script = r#"d=/proc/$1; read -r stat < "$d/stat" || exit 1; printf '%s\n' "$stat"; readlink "$d/exe"; echo; cat "$d/cmdline""#;
        let out = self.script(script, &[&pid.to_string()], None).ok()?;
        if !out.status.success() {
            return None;
        }
        parse_process(&out.stdout)
    }
}

/// Reads what [`SshControl::process`]'s script printed: `/proc/PID/stat`'s line, the
/// executable (possibly empty), an empty line, then the command line.
fn parse_process(out: &[u8]) -> Option<ProcessInfo> {
    let text = String::from_utf8_lossy(out);
    let mut lines = text.splitn(3, '\n');
    let stat = lines.next()?;
    // The state follows the command name's closing parenthesis (a name may hold spaces).
    let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
    let exe = lines.next().filter(|e| !e.is_empty()).map(PathBuf::from);
    let rest = lines.next().unwrap_or_default();
    let cmdline = rest
        .strip_prefix('\n')
        .unwrap_or(rest)
        .split('\0')
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    Some(ProcessInfo {
        state,
        exe,
        cmdline,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_is_read_from_its_stat_exe_and_cmdline() {
        let out = b"42 (redis server) S 1 42 42 0\n/usr/bin/redis-server\n\nredis-server\0--port\x006379\0";
        let info = parse_process(out).unwrap();
        assert_eq!(info.state, 'S');
        assert_eq!(info.exe, Some(PathBuf::from("/usr/bin/redis-server")));
        assert_eq!(info.cmdline, ["redis-server", "--port", "6379"]);
        // A process whose exe cannot be read (another user's, or a zombie).
        let info = parse_process(b"7 (x) Z 1\n\n\n").unwrap();
        assert_eq!((info.state, info.exe, info.cmdline.len()), ('Z', None, 0));
        assert_eq!(parse_process(b""), None);
    }

    /// What failed is named whoever reports it: the shell, sudo, or a full disk's ENOSPC.
    #[test]
    fn a_failure_names_the_host_and_what_failed() {
        use std::os::unix::process::ExitStatusExt;
        let out = |code: i32, stderr: &str| Output {
            status: std::process::ExitStatus::from_raw(code << 8),
            stdout: Vec::new(),
            stderr: stderr.into(),
        };
        let root = SshControl::new(SshTarget::new("db1"), false).unwrap();
        assert_eq!(
            root.failed("sh -c x", &out(127, "sh: 1: mv: not found\n")),
            "command not found on host db1: mv"
        );
        assert_eq!(
            root.failed(
                "etcd --name n1",
                &out(127, "bash: line 1: etcd: command not found")
            ),
            "command not found on host db1: etcd"
        );
        let full = root.failed(
            "write /tmp/f/n1/faultline",
            &out(1, "cat: write error: No space left on device"),
        );
        assert!(
            full.starts_with("host db1: no space left on device: `write /tmp/f/n1/faultline`"),
            "{full}"
        );
        let mut target = SshTarget::new("db1");
        target.user = Some("ops".into());
        let user = SshControl::new(target, true).unwrap();
        assert_eq!(
            user.failed("etcd", &out(1, "sudo: etcd: command not found")),
            "command not found on host db1: etcd"
        );
        let no_sudo = user.failed("sh -c x", &out(127, "sh: 1: sudo: not found"));
        assert!(
            no_sudo.starts_with("host db1: sudo is not installed, and ops@db1 is not root"),
            "{no_sudo}"
        );
        let prompt = user.failed("sh -c x", &out(1, "sudo: a password is required"));
        assert!(
            prompt.starts_with("host db1: sudo wants a password for ops@db1"),
            "{prompt}"
        );
    }
}
