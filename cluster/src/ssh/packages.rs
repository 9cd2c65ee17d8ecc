//! Debian packages on a remote host (`--install`): one `apt-get install` for every package the
//! host lacks, and a program looked for among its package's own files when the login's PATH
//! misses it (a daemon in /usr/sbin, say, off a PATH that is not root's).

use super::control::SshControl;
use crate::control::Control;
use std::path::PathBuf;
use std::process::Output;

/// How long apt-get waits for dpkg's lock before it gives up: on a freshly booted host
/// unattended-upgrades often holds it for a minute or more, and without a wait apt-get fails at
/// once ("Could not get lock /var/lib/dpkg/lock-frontend").
const LOCK_WAIT_SECS: u32 = 300;

/// Lines of apt-get's stderr an error quotes: apt puts its verdict (`E: …`) last.
const QUOTED_LINES: usize = 5;

impl SshControl {
    /// Installs `packages` with one `apt-get install -y --no-install-recommends` (no questions
    /// asked: DEBIAN_FRONTEND=noninteractive; through `sudo -n` for a login that is not root),
    /// calling `before` once apt-get is found, right before it runs. Every error names the host:
    /// no apt-get there, or apt-get's exit status and the last lines it wrote.
    pub fn install(&self, packages: &[String], before: impl FnOnce()) -> Result<(), String> {
        let listed = packages.join(" ");
        if !self.has_program("apt-get")? {
            return Err(format!(
                "host {}: apt-get not found (not a Debian host?); install {listed} yourself",
                self.host()
            ));
        }
        before();
        let lock = format!("DPkg::Lock::Timeout={LOCK_WAIT_SECS}");
        let mut words = vec![
            "env",
            "DEBIAN_FRONTEND=noninteractive",
            "apt-get",
            "install",
            "-y",
            "--no-install-recommends",
            "-o",
            &lock,
        ];
        words.extend(packages.iter().map(String::as_str));
        let out = self.exec(&words, None)?;
        if out.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("sudo:") {
            // sudo refused before apt-get ran: its own error says why.
            return Err(self.failed(&format!("apt-get install {listed}"), &out));
        }
        Err(apt_failure(self.host(), &listed, &out))
    }

    /// Where `package`'s files hold the executable `program` on the host: a file `dpkg -L`
    /// lists ending in /bin/PROGRAM or /sbin/PROGRAM that is executable there; `None` if none.
    pub fn find_in_package(&self, package: &str, program: &str) -> Result<Option<PathBuf>, String> {
        let listing = self.run("dpkg", &["-L", package], None)?;
        let candidates = named_executables(&listing, program);
        if candidates.is_empty() {
            return Ok(None);
        }
        // One round trip: the first candidate that is an executable file (a symlink to one
        // counts: Debian's redis-server is one).
        let mut args = vec![
            "-c",
            r#"for f; do if [ -f "$f" ] && [ -x "$f" ]; then echo "$f"; exit 0; fi; done"#,
            "sh",
        ];
        args.extend(candidates);
        let found = self.run("sh", &args, None)?;
        Ok(found
            .lines()
            .next()
            .filter(|l| !l.is_empty())
            .map(PathBuf::from))
    }
}

/// The error for an `apt-get install` of `listed` on `host` that ended as `out` says: its exit
/// status and the last lines of its stderr (of its output, where stderr is empty).
fn apt_failure(host: &str, listed: &str, out: &Output) -> String {
    let status = match out.status.code() {
        Some(code) => format!("exited {code}"),
        None => "was killed".to_string(),
    };
    let said = [&out.stderr, &out.stdout]
        .into_iter()
        .map(|text| last_lines(&String::from_utf8_lossy(text), QUOTED_LINES))
        .find(|lines| !lines.is_empty())
        .unwrap_or_else(|| "(it wrote nothing)".into());
    format!("host {host}: `apt-get install {listed}` {status}: {said}")
}

/// The last `n` non-blank lines of `text`, joined by `; `.
fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..].join("; ")
}

/// The paths in `dpkg -L`'s `listing` that end in /bin/PROGRAM or /sbin/PROGRAM (the listing's
/// other lines, such as "diverted by …", are not paths).
fn named_executables<'a>(listing: &'a str, program: &str) -> Vec<&'a str> {
    let ends = [format!("/bin/{program}"), format!("/sbin/{program}")];
    listing
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('/') && ends.iter().any(|end| l.ends_with(end.as_str())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn a_program_is_found_among_its_packages_bin_and_sbin_files_only() {
        let listing = "/.\n/usr\n/usr/bin\n/usr/sbin/etcd\n/usr/share/doc/etcd-server/etcd\n\
                       /usr/bin/etcdctl\n/usr/lib/etcd/bin/etcd\n\
                       diverted by other to: /usr/bin/etcd.distrib\n";
        assert_eq!(
            named_executables(listing, "etcd"),
            ["/usr/sbin/etcd", "/usr/lib/etcd/bin/etcd"]
        );
        assert!(named_executables(listing, "redis-server").is_empty());
        // A longer name that ends alike is another program.
        assert!(named_executables("/usr/bin/xetcd\n", "etcd").is_empty());
    }

    #[test]
    fn a_failed_apt_get_is_told_by_its_status_and_last_lines() {
        let out = |code: i32, stdout: &str, stderr: &str| Output {
            status: std::process::ExitStatus::from_raw(code << 8),
            stdout: stdout.into(),
            stderr: stderr.into(),
        };
        let stderr = "W: one\nW: two\n\nW: three\nW: four\nW: five\nE: Unable to locate package \
                      redis-server\n";
        assert_eq!(
            apt_failure(
                "db1",
                "redis-server",
                &out(100, "Reading package lists...", stderr)
            ),
            "host db1: `apt-get install redis-server` exited 100: W: two; W: three; W: four; \
             W: five; E: Unable to locate package redis-server"
        );
        assert_eq!(
            apt_failure("db1", "a b", &out(1, "Reading package lists...\n", "")),
            "host db1: `apt-get install a b` exited 1: Reading package lists..."
        );
        assert_eq!(
            apt_failure("db1", "a", &out(1, "", "")),
            "host db1: `apt-get install a` exited 1: (it wrote nothing)"
        );
    }
}
