//! Whether this machine can run a given kind of cluster, and the test suite's policy when it cannot.

use std::path::PathBuf;

/// Finds `program` in `PATH` the way a shell would.
pub fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// For tests: whether a test needing `what` may run.
///
/// Where `present` is false it prints a SKIPPED line and returns false, unless the environment
/// variable FAULTLINE_REQUIRE_ALL is non-empty (CI sets it): there a skip would hide a broken
/// install step, so it panics instead.
pub fn available_for_test(present: bool, what: &str) -> bool {
    if !present {
        let required = std::env::var_os("FAULTLINE_REQUIRE_ALL").is_some_and(|v| !v.is_empty());
        assert!(
            !required,
            "{what} is missing but FAULTLINE_REQUIRE_ALL is set: the install step failed"
        );
        eprintln!("SKIPPED: {what} is not available here");
    }
    present
}

/// For tests: whether Debian's redis-server is installed, under [`available_for_test`]'s policy.
pub fn redis_for_test() -> bool {
    available_for_test(
        find_in_path("redis-server").is_some(),
        "redis-server (apt-get install redis-server)",
    )
}

/// For tests: whether Debian's redis-sentinel is installed, under [`available_for_test`]'s policy.
pub fn sentinel_for_test() -> bool {
    available_for_test(
        find_in_path("redis-sentinel").is_some() && find_in_path("redis-server").is_some(),
        "redis-sentinel (apt-get install redis-server redis-sentinel)",
    )
}

/// For tests: whether Debian's etcd is installed, under [`available_for_test`]'s policy.
pub fn etcd_for_test() -> bool {
    available_for_test(
        find_in_path("etcd").is_some(),
        "etcd (apt-get install etcd-server)",
    )
}

/// For tests: whether this machine has Debian's package tools (apt-get and dpkg), under
/// [`available_for_test`]'s policy.
pub fn apt_for_test() -> bool {
    available_for_test(
        find_in_path("apt-get").is_some() && find_in_path("dpkg").is_some(),
        "apt-get and dpkg (a Debian machine)",
    )
}

/// For tests: whether an SSH test can run here: OpenSSH's client and server, and root (the
/// test's sshd logs in as the user running it, and only root's sshd can).
pub fn sshd_for_test() -> bool {
    let root = effective_uid() == Some(0);
    let present = find_in_path("ssh").is_some()
        && find_in_path("ssh-keygen").is_some()
        && std::path::Path::new(SSHD).is_file();
    available_for_test(
        present && root,
        "sshd as root (apt-get install openssh-server openssh-client; run as root)",
    )
}

/// For tests: whether sudo is installed (a login other than root runs commands through it),
/// under [`available_for_test`]'s policy.
pub fn sudo_for_test() -> bool {
    available_for_test(
        find_in_path("sudo").is_some(),
        "sudo (apt-get install sudo)",
    )
}

/// This process's effective user id, from `/proc/self/status`.
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let ids = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    ids.split_whitespace().nth(1)?.parse().ok()
}

/// Where Debian's openssh-server puts its daemon.
pub const SSHD: &str = "/usr/sbin/sshd";

/// For tests: whether Debian's chromium (the browser the report test renders report.html in) is
/// installed, under [`available_for_test`]'s policy.
pub fn chromium_for_test() -> bool {
    available_for_test(
        find_in_path("chromium").is_some(),
        "chromium (apt-get install chromium)",
    )
}

/// Whether this process may create network namespaces and devices (CAP_NET_ADMIN, root has it).
pub fn can_admin_network() -> bool {
    // Bit 12 of the effective capability set is CAP_NET_ADMIN (linux/capability.h).
    const CAP_NET_ADMIN: u32 = 12;
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let hex = s
                .lines()
                .find_map(|l| l.strip_prefix("CapEff:"))?
                .trim()
                .to_string();
            u64::from_str_radix(&hex, 16).ok()
        })
        .is_some_and(|caps| caps & (1 << CAP_NET_ADMIN) != 0)
}

/// Whether the tools netns mode runs are installed (iproute2's ip and tc, iptables).
pub fn netns_tools() -> bool {
    ["ip", "tc", "iptables-restore"]
        .iter()
        .all(|t| find_in_path(t).is_some())
}

/// For tests: whether namespaces can be made here, under [`available_for_test`]'s policy.
pub fn netns_for_test() -> bool {
    available_for_test(
        can_admin_network() && netns_tools(),
        "root (CAP_NET_ADMIN) with iproute2 and iptables (apt-get install iproute2 iptables)",
    )
}

/// Whether the kernel has `sch_netem` (latency in netns mode), probed in a throwaway namespace.
pub fn netem_available() -> bool {
    // The kernel's qdiscs do not change while faultline runs, and the network asks before every
    // degradation (NetMode::can_degrade): probe once.
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(probe_netem)
}

fn probe_netem() -> bool {
    // `unshare --net` gives the probe its own namespace, which vanishes with it: nothing to clean.
    std::process::Command::new("unshare")
        .args([
            "--net", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
