//! `--install` on remote hosts, with the real apt-get and dpkg: the test's hosts (network
//! namespaces with an sshd each, see `common/hosts.rs`) share this machine's installed packages,
//! so a host "lacks" redis-server by a PATH without it, and apt-get fails by a dpkg status and
//! apt lists without it, mounted in the host's sshd's own mount namespace. apt never needs the
//! network here (the namespaces have no route out): installing an installed package downloads
//! nothing.
//!
//! apt-get install marks a package manually installed in /var/lib/apt/extended_states, so every
//! host gets a private copy of /var/lib/apt (a copy of the directory: apt replaces the file by
//! rename, which a bind-mounted file refuses with EBUSY, leaving apt's temporary file in the real
//! directory), and each test checks that this machine's package state is as it was.

mod common;

use common::hosts::*;
use common::*;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// apt takes its locks in /var/lib/dpkg, which every host here shares: one test at a time.
static APT: Mutex<()> = Mutex::new(());

fn apt_lock() -> MutexGuard<'static, ()> {
    // A failed test poisons the lock; the next may still run.
    APT.lock().unwrap_or_else(|e| e.into_inner())
}

/// [`Setup::mounts`]: the host's own copy of /var/lib/apt, whose `lists` is this machine's
/// (`lists`) or an empty directory; with `status`, that file over /var/lib/dpkg/status.
fn private_apt(lists: bool, status: Option<&Path>) -> String {
    let lists = if lists {
        r#" && mount --bind /var/lib/apt/lists "$d/lists""#
    } else {
        ""
    };
    let status = status.map_or(String::new(), |s| {
        format!(" && mount --bind {} /var/lib/dpkg/status", s.display())
    });
    format!(
        r#"d=$(mktemp -d "$1/apt.XXXXXX") && for f in /var/lib/apt/*; do [ "$f" = /var/lib/apt/lists ] || cp -a "$f" "$d/" || exit 1; done && mkdir "$d/lists"{lists} && mount --rbind "$d" /var/lib/apt{status}"#
    )
}

/// A directory of links to every program of this machine's usual PATH directories but
/// `except`: the PATH of a host that lacks them.
fn path_without(except: &[&str]) -> tempfile::TempDir {
    let bin = tempfile::tempdir().unwrap();
    for dir in ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries {
            let name = entry.unwrap().file_name();
            let link = bin.path().join(&name);
            if except.iter().any(|e| name == *e) || link.symlink_metadata().is_ok() {
                continue;
            }
            std::os::unix::fs::symlink(Path::new(dir).join(&name), link).unwrap();
        }
    }
    bin
}

/// This machine's package state as an apt-get install could change it: /var/lib/apt's
/// entries, its extended_states, and dpkg's status.
fn package_state() -> (Vec<PathBuf>, Vec<u8>, Vec<u8>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir("/var/lib/apt")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    (
        entries,
        std::fs::read("/var/lib/apt/extended_states").unwrap_or_default(),
        std::fs::read("/var/lib/dpkg/status").unwrap(),
    )
}

/// A short Redis run on `hosts`, with `extra` options.
fn redis_run(case: &Case, hosts: &Hosts, extra: &[&str]) -> std::process::Output {
    let ssh = hosts.ssh_args("user", &hosts.path("known_hosts"));
    let args = [
        &[
            "test",
            "--target",
            "redis",
            "--nemesis",
            "none",
            "--time-limit",
            "3s",
        ][..],
        extra,
    ]
    .concat();
    run(case, &args, &ssh)
}

/// Hosts whose PATH lacks redis-server: without --install the run stops naming each host and
/// the way out; with it each host gets `apt-get install redis-server` (already installed:
/// nothing is downloaded), faultline finds /usr/bin/redis-server through `dpkg -L` (still not
/// on the PATH), starts it by that path, and the run is valid, with what was installed where
/// Runs `body` on `n` hosts whose PATH lacks `without` and whose apt state is their own
/// ([`private_apt`] with `lists` and `status`), one such test at a time; then asserts that this
/// machine's package state is as it was. Returns at once where hosts cannot be made.
fn on_install_hosts(
    n: usize,
    without: &[&str],
    lists: bool,
    status: Option<&Path>,
    body: impl FnOnce(&Hosts),
) {
    let _apt = apt_lock();
    let before = package_state();
    let bin = path_without(without);
    let mounts = private_apt(lists, status);
    let setup = Setup {
        path: Some(bin.path()),
        mounts: Some(&mounts),
        ..Setup::default()
    };
    let Some(hosts) = Hosts::start_with(n, &setup) else {
        return;
    };
    body(&hosts);
    drop(hosts);
    assert!(
        package_state() == before,
        "this machine's package state changed"
    );
}

/// in results.json and the report.
#[test]
fn install_finds_the_program_through_dpkg_and_the_run_is_valid() {
    if !cluster::capability::apt_for_test() || !cluster::capability::redis_for_test() {
        return;
    }
    on_install_hosts(2, &["redis-server"], true, None, |hosts| {
        let refused = Case::new();
        let out = redis_run(&refused, hosts, &[]);
        let err = stderr(&out);
        assert_ne!(out.status.code(), Some(0), "{err}");
        for ip in &hosts.ips {
            assert!(
                err.contains(&format!(
                    "command not found on host {ip}: redis-server (install redis-server, or pass \
                     --install)"
                )),
                "{err}"
            );
        }

        let case = Case::new();
        let out = redis_run(&case, hosts, &["--install", "--seed", "3"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{err}");
        for ip in &hosts.ips {
            assert!(
                err.contains(&format!(
                    "INSTALLING on host {ip} (--install): apt-get install redis-server"
                )),
                "{err}"
            );
        }
        assert_run_dir_complete(&case, "valid");
        let results = case.results();
        let installed: serde_json::Value = hosts
            .ips
            .iter()
            .map(|ip| (ip.clone(), serde_json::json!(["redis-server"])))
            .collect::<serde_json::Map<_, _>>()
            .into();
        assert_eq!(results["remote"]["installed"], installed, "{results:#}");
        assert_eq!(results["options"]["install"], true);
        let report = std::fs::read_to_string(case.latest().join("report.html")).unwrap();
        let fact = report
            .split_once("installed (--install)</span><b>")
            .and_then(|(_, rest)| rest.split_once("</b>"))
            .map(|(fact, _)| fact)
            .expect("the report's run facts show what was installed");
        for ip in &hosts.ips {
            assert!(fact.contains(&format!("{ip}: redis-server")), "{fact}");
        }
    });
}

/// apt-get failing on a host (its dpkg status and apt lists know no redis-server) stops the
/// run before anything starts, naming the host, apt-get's exit status and what apt said.
#[test]
fn apt_get_failing_names_the_host_and_says_what_apt_said() {
    if !cluster::capability::apt_for_test() {
        return;
    }
    let files = tempfile::tempdir().unwrap();
    let status = files.path().join("status");
    let real = std::fs::read_to_string("/var/lib/dpkg/status").unwrap();
    let without: Vec<&str> = real
        .split("\n\n")
        .filter(|stanza| !stanza.trim_start().starts_with("Package: redis-server\n"))
        .collect();
    std::fs::write(&status, without.join("\n\n")).unwrap();
    on_install_hosts(1, &["redis-server"], false, Some(&status), |hosts| {
        let case = Case::new();
        let out = redis_run(&case, hosts, &["--install"]);
        let err = stderr(&out);
        assert_ne!(out.status.code(), Some(0), "{err}");
        let said = format!(
            "host {}: `apt-get install redis-server` exited 100: ",
            hosts.ips[0]
        );
        let at = err.find(&said).unwrap_or_else(|| panic!("{err}"));
        // apt's own verdict on the package, whichever words this apt uses for it.
        let apt = &err[at + said.len()..];
        assert!(
            apt.starts_with("E: ") && apt.lines().next().unwrap().contains("redis-server"),
            "{err}"
        );
    });
}

/// A host whose PATH has no apt-get is named as maybe not Debian, with what to install.
#[test]
fn a_host_without_apt_get_is_named() {
    if !cluster::capability::apt_for_test() {
        return;
    }
    on_install_hosts(1, &["redis-server", "apt-get"], true, None, |hosts| {
        let case = Case::new();
        let out = redis_run(&case, hosts, &["--install"]);
        let err = stderr(&out);
        assert_ne!(out.status.code(), Some(0), "{err}");
        assert!(
            err.contains(&format!(
                "host {}: apt-get not found (not a Debian host?); install redis-server yourself",
                hosts.ips[0]
            )),
            "{err}"
        );
        assert!(!err.contains("INSTALLING"), "nothing was installed: {err}");
    });
}
