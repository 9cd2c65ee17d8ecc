//! What a run leaves on a remote host, written on that host as the run goes, so that
//! `faultline cluster down --nodes HOST,…` can remove it after a control node that died without
//! cleaning up (SIGKILL, a crash, a lost store), from this machine or another.
//!
//! ```text
//!   /tmp/faultline-records/<run>-<node>.json   {"node", "addr", "dir", "chain", "daemons": [pid, program, marker], "attached": [...]}
//!   /tmp/<run>/<node>/                          the node's directory the record names
//! ```
//! A record is written (atomically: a temporary file, then `mv`) when the node's directory is
//! made, after each daemon starts or restarts, and before the first cut makes the `FAULTLINE`
//! chain; a clean teardown removes it with the directory. A sweep signals only recorded pids
//! whose executable and command line still match ([`NodeProcess::adopt`]), and removes only
//! directories of the shape faultline makes.
//!
//! A node faultline attached to (`--attach … --nodes …`) runs a process faultline did not start:
//! its pid is listed under `attached`, never under `daemons`, and a sweep only resumes it
//! (SIGCONT, where a run that died left it paused) — it never stops it.
//!
//! A record names the address its node was bound to, and a sweep acts only on records of the
//! addresses its host has: hosts that share a filesystem (network namespaces on one machine,
//! containers sharing `/tmp`) each sweep their own leftovers and no other host's.

use crate::control::Control;
use crate::process::NodeProcess;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The directory of records on every host.
pub const RECORDS_DIR: &str = "/tmp/faultline-records";

/// One daemon a run started on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostDaemon {
    /// Its pid on the host.
    pub pid: u32,
    /// The program it runs, as the host names it.
    pub program: PathBuf,
    /// A string its command line contains, checked before it is signalled.
    pub marker: String,
}

/// What one run left on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRecord {
    /// The node the host runs.
    pub node: String,
    /// The host's address the node was bound to: the sweep of a host acts only on its own.
    pub addr: IpAddr,
    /// The node's directory on the host (`/tmp/faultline-<pid>-<nanos>/<node>`).
    pub dir: PathBuf,
    /// Whether a cut may have made faultline's firewall chain on the host.
    pub chain: bool,
    /// The daemons started, with their current pids: a sweep stops them.
    pub daemons: Vec<HostDaemon>,
    /// Processes faultline attached to and did not start (`--attach`): a sweep resumes them
    /// if paused, and never stops them.
    #[serde(default)]
    pub attached: Vec<HostDaemon>,
}

impl HostRecord {
    /// A record of `node` at `addr` in `dir`, with nothing started yet.
    pub fn new(node: &str, addr: IpAddr, dir: &Path) -> HostRecord {
        HostRecord {
            node: node.to_string(),
            addr,
            dir: dir.to_path_buf(),
            chain: false,
            daemons: Vec::new(),
            attached: Vec::new(),
        }
    }

    /// Where the record of the node in `dir` lives: named after the run and the node.
    pub fn path_for(dir: &Path) -> PathBuf {
        let run = dir
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let node = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Path::new(RECORDS_DIR).join(format!("{run}-{node}.json"))
    }

    /// Writes the record on `control`'s host, replacing the previous one at once (a write that
    /// fails leaves no temporary file behind).
    pub fn save(&self, control: &dyn Control) -> Result<(), String> {
        let path = HostRecord::path_for(&self.dir).display().to_string();
        let text = serde_json::to_string(self).expect("a host record serialises");
        control
            .run(
                "sh",
                &[
                    "-c",
                    r#"mkdir -p -- "$1" && { cat > "$2.tmp" && mv -f -- "$2.tmp" "$2" || { rm -f -- "$2.tmp"; exit 1; }; }"#,
                    "sh",
                    RECORDS_DIR,
                    &path,
                ],
                Some(&format!("{text}\n")),
            )
            .map(|_| ())
    }

    /// Removes the record from `control`'s host.
    pub fn remove(dir: &Path, control: &dyn Control) -> Result<(), String> {
        let path = HostRecord::path_for(dir).display().to_string();
        control.run("rm", &["-f", "--", &path], None).map(|_| ())
    }
}

/// How the name of a run's directory on a host begins (`faultline-<pid>-<nanos>`): made by
/// `SshNetwork`, the shape [`is_node_dir`] accepts.
pub const RUN_DIR_PREFIX: &str = "faultline-";

/// Whether `dir` has the shape of a node directory faultline makes:
/// `/tmp/faultline-<pid>-<nanos>/<node>`. A record naming anything else is not acted on.
pub fn is_node_dir(dir: &Path) -> bool {
    let parts: Vec<String> = dir
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let plain = |s: &str| {
        !s.is_empty()
            && s != ".."
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    matches!(parts.as_slice(),
        [root, tmp, run, node] if root == "/" && tmp == "tmp"
            && run.strip_prefix(RUN_DIR_PREFIX).is_some_and(|rest| {
                !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit() || b == b'-')
            })
            && plain(node))
}

/// One record file on a host: its path, and its record or why it cannot be read.
pub type RecordFile = (PathBuf, Result<HostRecord, String>);

/// Every record file on `control`'s host (none when there is no record directory), each read
/// or the reason it cannot be, naming the file: one bad file keeps no other from being read.
pub fn read_all(control: &dyn Control) -> Result<Vec<RecordFile>, String> {
    // One line per file, its name and its contents (newlines taken out) split by a tab, so an
    // empty or torn file cannot shift the next file's name into its place.
    let listing = control.run(
        "sh",
        &[
            "-c",
            r#"for f in "$1"/*.json; do [ -f "$f" ] || continue; printf '%s\t' "$f"; tr -d '\n' < "$f"; echo; done"#,
            "sh",
            RECORDS_DIR,
        ],
        None,
    )?;
    Ok(parse_listing(&listing))
}

/// `read_all`'s listing: `file<TAB>json` a line.
fn parse_listing(listing: &str) -> Vec<RecordFile> {
    listing
        .lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let (file, text) = line.split_once('\t').unwrap_or((line, ""));
            let record = serde_json::from_str(text)
                .map_err(|e| format!("{file} is not a faultline host record: {e}"));
            (PathBuf::from(file), record)
        })
        .collect()
}

/// The addresses `control`'s host has, from `ip -o addr` (or `hostname -I` without iproute2).
pub fn own_addrs(control: &dyn Control) -> Result<Vec<IpAddr>, String> {
    let listing = control.run(
        "sh",
        &["-c", "ip -o addr show 2>/dev/null || hostname -I"],
        None,
    )?;
    Ok(parse_addrs(&listing))
}

/// The addresses in `ip -o addr`'s lines (the word after each `inet`/`inet6`, less its
/// prefix length) or in `hostname -I`'s one line.
fn parse_addrs(listing: &str) -> Vec<IpAddr> {
    let words: Vec<&str> = listing.split_whitespace().collect();
    let tagged = words.iter().any(|w| *w == "inet" || *w == "inet6");
    words
        .iter()
        .enumerate()
        .filter(|&(i, _)| !tagged || (i > 0 && matches!(words[i - 1], "inet" | "inet6")))
        .filter_map(|(_, w)| w.split('/').next()?.parse().ok())
        .collect()
}

/// What a sweep removed from one host.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Swept {
    /// The records of this host's addresses found (one per run and node).
    pub records: usize,
    /// Records of other addresses, left for their own hosts (a shared filesystem).
    pub others: usize,
    /// The pids stopped (recorded and still running what was recorded).
    pub stopped: Vec<u32>,
    /// Recorded pids that were gone or now run something else (left alone).
    pub gone: Vec<u32>,
    /// Attached processes (not faultline's) found paused and resumed; never stopped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resumed: Vec<u32>,
    /// Whether faultline's chain was removed.
    pub chain: bool,
    /// The directories removed.
    pub dirs: Vec<PathBuf>,
    /// Records of this host not acted on, and why (a directory faultline does not make).
    pub refused: Vec<String>,
}

/// Removes what every record of `control`'s host names: stops its daemons (only recorded pids
/// still running the recorded program), resumes the attached processes it finds paused (never
/// stopping them), removes faultline's chain where one was made with `remove_chain`, then the
/// node directories and the records.
pub fn sweep(
    control: &Arc<dyn Control>,
    remove_chain: impl Fn(&dyn Control) -> Result<(), String>,
) -> Result<Swept, String> {
    let addrs = own_addrs(&**control)?;
    let mut unreadable = Vec::new();
    let read: Vec<(PathBuf, HostRecord)> = read_all(&**control)?
        .into_iter()
        .filter_map(|(file, r)| match r {
            Ok(record) => Some((file, record)),
            Err(e) => {
                unreadable.push(format!("{e}; left alone"));
                None
            }
        })
        .collect();
    let (mine, others): (Vec<_>, Vec<_>) =
        read.into_iter().partition(|(_, r)| addrs.contains(&r.addr));
    // A record naming a directory faultline does not make is not acted on at all.
    let (records, refused): (Vec<_>, Vec<_>) =
        mine.into_iter().partition(|(_, r)| is_node_dir(&r.dir));
    let mut swept = Swept {
        records: records.len(),
        others: others.len(),
        refused: refused
            .iter()
            .map(|(file, r)| {
                format!(
                    "{} names {}, which is not a directory faultline makes; left alone",
                    file.display(),
                    r.dir.display()
                )
            })
            .chain(unreadable)
            .collect(),
        ..Swept::default()
    };
    for (_, record) in &records {
        for d in &record.daemons {
            let mut process =
                NodeProcess::adopt(control.clone(), d.pid, &d.program, &d.marker, Path::new(""));
            if process.pid() == 0 {
                swept.gone.push(d.pid);
                continue;
            }
            process.stop();
            swept.stopped.push(d.pid);
        }
        for d in &record.attached {
            // Adopted, so never owned: dropping the handle leaves the process running.
            let process =
                NodeProcess::adopt(control.clone(), d.pid, &d.program, &d.marker, Path::new(""));
            if process.pid() != 0 && process.paused() {
                process.signal(nix::sys::signal::Signal::SIGCONT)?;
                swept.resumed.push(d.pid);
            }
        }
    }
    if records.iter().any(|(_, r)| r.chain) {
        remove_chain(&**control)?;
        swept.chain = true;
    }
    for (file, record) in &records {
        let dir = record.dir.display().to_string();
        control.run("rm", &["-rf", "--", &dir], None)?;
        if let Some(base) = record.dir.parent() {
            // Another node of the run may still have its directory there: not an error.
            let _ = control.run("rmdir", &["--", &base.display().to_string()], None);
        }
        control.run("rm", &["-f", "--", &file.display().to_string()], None)?;
        swept.dirs.push(record.dir.clone());
    }
    Ok(swept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_named_after_its_run_and_node() {
        let dir = Path::new("/tmp/faultline-12-345/n2");
        assert_eq!(
            HostRecord::path_for(dir),
            Path::new("/tmp/faultline-records/faultline-12-345-n2.json")
        );
    }

    /// Only directories of the shape faultline makes are ever removed.
    #[test]
    fn only_faultline_node_directories_are_removed() {
        assert!(is_node_dir(Path::new("/tmp/faultline-12-345/n1")));
        for bad in [
            "/",
            "/tmp",
            "/tmp/faultline-12-345",
            "/tmp/faultline-/n1",
            "/tmp/faultline-12-345/..",
            "/tmp/faultline-12-345/n1/x",
            "/tmp/other-12/n1",
            "/home/faultline-12-345/n1",
            "tmp/faultline-12-345/n1",
            "/tmp/faultline-12-345/n 1",
        ] {
            assert!(!is_node_dir(Path::new(bad)), "{bad}");
        }
    }

    /// A record is one line of JSON: the sweep's listing reads a file name, then its line.
    #[test]
    fn a_bad_record_file_is_named_and_keeps_no_other_from_being_read() {
        let good = HostRecord::new("n1", "10.0.0.1".parse().unwrap(), Path::new("/tmp/x/n1"));
        let json = serde_json::to_string(&good).unwrap();
        let listing = format!("/r/a.json\t\n/r/b.json\t{json}\n/r/c.json\t{{\"torn\n");
        let read = parse_listing(&listing);
        assert_eq!(read.len(), 3, "{read:?}");
        assert_eq!(read[0].0, PathBuf::from("/r/a.json"));
        assert!(read[0]
            .1
            .as_ref()
            .unwrap_err()
            .starts_with("/r/a.json is not"));
        assert_eq!(read[1], (PathBuf::from("/r/b.json"), Ok(good)));
        assert!(read[2]
            .1
            .as_ref()
            .unwrap_err()
            .starts_with("/r/c.json is not"));
    }

    #[test]
    fn a_record_is_one_line_of_json() {
        let record = HostRecord {
            node: "n1".into(),
            addr: "10.0.0.11".parse().unwrap(),
            dir: PathBuf::from("/tmp/faultline-1-2/n1"),
            chain: true,
            daemons: vec![HostDaemon {
                pid: 42,
                program: "/usr/bin/redis-server".into(),
                marker: "6379".into(),
            }],
            attached: vec![HostDaemon {
                pid: 43,
                program: "/usr/bin/redis-check-rdb".into(),
                marker: "6380".into(),
            }],
        };
        let text = serde_json::to_string(&record).unwrap();
        assert!(!text.contains('\n'), "one line per record: {text}");
        assert_eq!(serde_json::from_str::<HostRecord>(&text).unwrap(), record);
    }

    /// A host's addresses from iproute2's one-line listing (broadcast addresses are not its
    /// own) or from `hostname -I`.
    #[test]
    fn a_hosts_addresses_are_read_from_ip_or_hostname() {
        let ip = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
                  2: veth0    inet 10.79.0.11/24 brd 10.79.0.255 scope global veth0\n\
                  2: veth0    inet6 fe80::1/64 scope link \\       valid_lft forever\n";
        let want: Vec<IpAddr> = ["127.0.0.1", "10.79.0.11", "fe80::1"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        assert_eq!(parse_addrs(ip), want);
        assert_eq!(
            parse_addrs("10.0.0.5 fd00::5 \n"),
            vec![
                "10.0.0.5".parse::<IpAddr>().unwrap(),
                "fd00::5".parse().unwrap()
            ]
        );
    }
}
