//! The etcd pieces against a real three-member etcd cluster on loopback: launch flags, the
//! register and set client with its failure classification, member status, and a leader kill.
//!
//! Each test starts its own cluster from `etcd_args` on free 127.0.0.1 ports, with data and logs
//! in a temporary directory; a guard kills every member by pid when the test ends, panics
//! included. Skips when etcd is missing, unless CI or FAULTLINE_REQUIRE_ALL is set: there a skip
//! would hide a broken install step, so it fails naming the etcd-server package.

use cluster::systems::etcd::{
    etcd_args, find_etcd, health, member_names, member_status, unique_token, EtcdClient,
    EtcdMember, EtcdTiming, MemberStatus, ReadConsistency, ETCD_PACKAGE,
};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::fs::File;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use workloads::{ClientError, RegisterClient, SetClient};

/// Every client operation's timeout in these tests.
const OP_TIMEOUT: Duration = Duration::from_secs(2);

/// The etcd binary, or `None` after printing why the test is skipped.
fn etcd_for_test() -> Option<PathBuf> {
    match find_etcd(false) {
        Ok(path) => Some(path),
        Err(e) => {
            let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
            assert!(!ci, "{e}; CI is set, so the install step failed");
            // Prints SKIPPED, or panics where FAULTLINE_REQUIRE_ALL asks for every test to run.
            cluster::capability::available_for_test(
                false,
                &format!("etcd (apt-get install {ETCD_PACKAGE})"),
            );
            None
        }
    }
}

/// `n` distinct free loopback addresses.
fn free_addrs(n: usize) -> Vec<SocketAddr> {
    cluster::ports::listen_ports(n)
        .expect("free ports")
        .into_iter()
        .map(|port| SocketAddr::from(([127, 0, 0, 1], port)))
        .collect()
}

/// A running etcd cluster whose members die with it.
struct EtcdCluster {
    dir: tempfile::TempDir,
    members: Vec<EtcdMember>,
    children: Vec<Option<Child>>,
}

impl EtcdCluster {
    /// Starts `n` members named n1..nN, each logging to `<dir>/<name>.log`.
    fn start(etcd: &Path, n: usize) -> EtcdCluster {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let addrs = free_addrs(2 * n);
        let members: Vec<EtcdMember> = (0..n)
            .map(|i| EtcdMember::new(format!("n{}", i + 1), addrs[2 * i], addrs[2 * i + 1]))
            .collect();
        let token = unique_token();
        let mut cluster = EtcdCluster {
            dir,
            members: members.clone(),
            children: Vec::new(),
        };
        for m in &members {
            let data = cluster.dir.path().join(&m.name);
            let log = File::create(cluster.log_path(&m.name)).expect("create the log");
            let mut cmd = Command::new(etcd);
            cmd.args(etcd_args(m, &members, &token, &data, EtcdTiming::default()))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log);
            // SAFETY: only async-signal-safe work (one prctl call) runs between fork and exec.
            // The member then dies even if this test process is SIGKILLed and no Drop runs.
            unsafe {
                cmd.pre_exec(|| {
                    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)
                });
            }
            // Pushed one by one so the guard covers the members started before a failing spawn.
            cluster
                .children
                .push(Some(cmd.spawn().expect("spawn etcd")));
        }
        cluster
    }

    fn log_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.log"))
    }

    /// The last lines of every member's log, for failure messages.
    fn log_tails(&self) -> String {
        let mut out = String::new();
        for m in &self.members {
            let text = std::fs::read_to_string(self.log_path(&m.name)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(8)..];
            out.push_str(&format!(
                "--- {} log tail ---\n{}\n",
                m.name,
                tail.join("\n")
            ));
        }
        out
    }

    /// Indices of the members not killed.
    fn alive(&self) -> Vec<usize> {
        (0..self.members.len())
            .filter(|&i| self.children[i].is_some())
            .collect()
    }

    /// Waits until every live member answers and knows a leader; panics with the logs if not.
    async fn wait_healthy(&self, deadline: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let mut last_error = None;
            for i in self.alive() {
                if let Err(e) = health(self.members[i].client_addr, OP_TIMEOUT).await {
                    last_error = Some(e);
                    break;
                }
            }
            match last_error {
                None => return started.elapsed(),
                Some(e) if started.elapsed() > deadline => panic!(
                    "etcd not healthy after {deadline:?}: {e}\n{}",
                    self.log_tails()
                ),
                Some(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Every live member's status, in member order.
    async fn statuses(&self) -> Vec<(usize, MemberStatus)> {
        let mut out = Vec::new();
        for i in self.alive() {
            let status = member_status(self.members[i].client_addr, OP_TIMEOUT)
                .await
                .unwrap_or_else(|e| panic!("status of {}: {e}", self.members[i].name));
            out.push((i, status));
        }
        out
    }

    /// SIGKILLs member `i` by pid and reaps it.
    fn kill(&mut self, i: usize) {
        let mut child = self.children[i].take().expect("a live member");
        kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).expect("SIGKILL etcd");
        child.wait().expect("reap etcd");
    }

    /// A client of member `i` alone.
    fn client(&self, i: usize, rc: ReadConsistency) -> EtcdClient {
        EtcdClient::new(vec![self.members[i].client_addr], rc, OP_TIMEOUT)
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for child in self.children.iter_mut().filter_map(Option::take) {
            // By pid, and only the processes this test started.
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
            let mut child = child;
            let _ = child.wait();
        }
    }
}

/// The one member that says it leads, if exactly one does and every member follows it.
fn agreed_leader(statuses: &[(usize, MemberStatus)]) -> Option<(usize, MemberStatus)> {
    let mut leaders = statuses.iter().filter(|(_, s)| s.is_leader);
    let (i, leader) = leaders.next()?.clone();
    let agreed = leaders.next().is_none()
        && statuses
            .iter()
            .all(|(_, s)| s.leader_id == leader.member_id);
    agreed.then_some((i, leader))
}

/// [`agreed_leader`], which must exist.
fn sole_leader(statuses: &[(usize, MemberStatus)]) -> (usize, MemberStatus) {
    agreed_leader(statuses).unwrap_or_else(|| panic!("not exactly one agreed leader: {statuses:?}"))
}

#[tokio::test]
async fn registers_sets_reads_and_roles_on_a_three_member_cluster() {
    let Some(etcd) = etcd_for_test() else { return };
    let cluster = EtcdCluster::start(&etcd, 3);
    let took = cluster.wait_healthy(Duration::from_secs(15)).await;
    eprintln!("3 members healthy after {took:?}");

    // Registers, through member n1.
    let mut c1 = cluster.client(0, ReadConsistency::Linearizable);
    assert_eq!(
        c1.read("r").await.unwrap(),
        None,
        "a missing key reads None"
    );
    assert!(
        !c1.cas("r", 0, 1).await.unwrap(),
        "cas on a missing key fails the compare"
    );
    assert_eq!(c1.read("r").await.unwrap(), None, "and writes nothing");
    c1.write("r", 1).await.unwrap();
    assert_eq!(c1.read("r").await.unwrap(), Some(1));
    assert!(c1.cas("r", 1, 2).await.unwrap(), "cas swaps on a match");
    assert!(!c1.cas("r", 1, 3).await.unwrap(), "and reports a mismatch");
    assert_eq!(c1.read("r").await.unwrap(), Some(2));
    // etcd refuses a request over its 1.5 MiB limit before proposing it: `fail` even for a
    // write, and the client goes on (the error reply leaves the connection usable).
    let huge = "k".repeat(1700 * 1024);
    let err = c1.write(&huge, 1).await.unwrap_err();
    assert!(
        matches!(err, ClientError::DidNotHappen(ref m) if m.ends_with("refused: etcdserver: request is too large")),
        "{err:?}"
    );
    c1.write("r", -7).await.unwrap();

    // A linearizable read through another member sees the acknowledged write at once.
    let mut c2 = cluster.client(1, ReadConsistency::Linearizable);
    assert_eq!(c2.read("r").await.unwrap(), Some(-7));

    // A serializable read answers from the member's own state: it must work, and it converges.
    let mut s3 = cluster.client(2, ReadConsistency::Serializable);
    assert_eq!(s3.read_consistency(), ReadConsistency::Serializable);
    let started = Instant::now();
    loop {
        match s3.read("r").await.unwrap() {
            Some(-7) => break,
            other => {
                assert!(
                    started.elapsed() < Duration::from_secs(5),
                    "serializable read still {other:?}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    assert_eq!(s3.read("never-written").await.unwrap(), None);

    // Sets: one key per element, read back sorted; another set sharing a name prefix stays apart.
    for e in [3, 1, 20, 2] {
        c1.add("s", e).await.unwrap();
    }
    c1.add("s", 3).await.unwrap(); // Adding twice is idempotent: the same key.
    c1.add("s2", 5).await.unwrap();
    assert_eq!(c1.read_set("s").await.unwrap(), vec![1, 2, 3, 20]);
    assert_eq!(c2.read_set("s2").await.unwrap(), vec![5]);
    assert_eq!(c2.read_set("empty").await.unwrap(), Vec::<i64>::new());
    let mut multi = EtcdClient::new(
        cluster.members.iter().map(|m| m.client_addr).collect(),
        ReadConsistency::Linearizable,
        OP_TIMEOUT,
    );
    assert_eq!(multi.read_set("s").await.unwrap(), vec![1, 2, 3, 20]);

    // Roles: exactly one leader, and the ids map to the launch names.
    let statuses = cluster.statuses().await;
    let (leader_index, leader) = sole_leader(&statuses);
    assert!(leader.raft_term >= 2, "an election happened: {leader:?}");
    assert!(leader.raft_index > 0, "{leader:?}");
    assert!(leader.version.starts_with("3."), "{leader:?}");
    let mut names = member_names(cluster.members[1].client_addr, OP_TIMEOUT)
        .await
        .unwrap();
    names.sort_by(|a, b| a.1.cmp(&b.1));
    let listed: Vec<&str> = names.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(listed, ["n1", "n2", "n3"]);
    for (i, status) in &statuses {
        let name = &names
            .iter()
            .find(|(id, _)| *id == status.member_id)
            .unwrap()
            .1;
        assert_eq!(name, &cluster.members[*i].name, "{names:?} {statuses:?}");
    }
    eprintln!("leader is {}", cluster.members[leader_index].name);

    // A paused follower accepts connections (the kernel does) but never answers: the operation
    // timeout decides, a write is info, a read is fail, and neither hangs.
    let follower = (leader_index + 1) % 3;
    let short = Duration::from_millis(500);
    let mut to_paused = EtcdClient::new(
        vec![cluster.members[follower].client_addr],
        ReadConsistency::Linearizable,
        short,
    );
    to_paused.read("r").await.unwrap();
    let pid = Pid::from_raw(cluster.children[follower].as_ref().unwrap().id() as i32);
    kill(pid, Signal::SIGSTOP).unwrap();
    let started = Instant::now();
    let write = to_paused.write("r", 8).await;
    let read = to_paused.read("r").await;
    let took = started.elapsed();
    kill(pid, Signal::SIGCONT).unwrap();
    assert!(
        matches!(write, Err(ClientError::MayHaveHappened(ref m)) if m.contains("timeout")),
        "{write:?}"
    );
    assert!(
        matches!(read, Err(ClientError::DidNotHappen(_))),
        "{read:?}"
    );
    assert!(took < 2 * short + Duration::from_millis(500), "{took:?}");
    eprintln!("paused member: {write:?} then {read:?}, {took:?} for both");
    // Resumed, it serves again through a new connection.
    let started = Instant::now();
    while let Err(e) = to_paused.read("r").await {
        assert!(started.elapsed() < Duration::from_secs(5), "{e:?}");
    }
}

#[tokio::test]
async fn a_killed_leader_is_replaced_and_its_clients_fail_without_hanging() {
    let Some(etcd) = etcd_for_test() else { return };
    let mut cluster = EtcdCluster::start(&etcd, 3);
    cluster.wait_healthy(Duration::from_secs(15)).await;
    let (old, old_status) = sole_leader(&cluster.statuses().await);

    // A client of the leader with a live connection, and one that has never connected.
    let mut to_old = cluster.client(old, ReadConsistency::Linearizable);
    to_old.write("k", 1).await.unwrap();
    let mut fresh_to_old = cluster.client(old, ReadConsistency::Linearizable);

    cluster.kill(old);
    let killed_at = Instant::now();

    // The killed member: a read certainly did not happen; a write is fail or info, never a hang.
    let slack = Duration::from_millis(500);
    let started = Instant::now();
    let err = to_old.read("k").await.unwrap_err();
    assert!(matches!(err, ClientError::DidNotHappen(_)), "{err:?}");
    assert!(
        started.elapsed() < OP_TIMEOUT + slack,
        "{:?}",
        started.elapsed()
    );
    eprintln!(
        "read at the killed leader: {err:?} after {:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let err = to_old.write("k", 2).await.unwrap_err();
    assert!(
        started.elapsed() < OP_TIMEOUT + slack,
        "{:?}",
        started.elapsed()
    );
    eprintln!(
        "write at the killed leader: {err:?} after {:?}",
        started.elapsed()
    );
    // Nothing listens there now, so a client that never connected cannot have sent anything.
    let err = fresh_to_old.write("k", 3).await.unwrap_err();
    assert!(
        matches!(err, ClientError::DidNotHappen(ref m) if m.contains("cannot connect")),
        "{err:?}"
    );
    let err = fresh_to_old.read("k").await.unwrap_err();
    assert!(matches!(err, ClientError::DidNotHappen(_)), "{err:?}");

    // The survivors elect a new leader among themselves, in a later term.
    let deadline = Duration::from_secs(15);
    let new_leader = loop {
        let statuses = cluster.statuses().await;
        if let Some(leader) = agreed_leader(&statuses) {
            break leader;
        }
        assert!(
            killed_at.elapsed() < deadline,
            "no new leader after {deadline:?}: {statuses:?}\n{}",
            cluster.log_tails()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (new, _) = new_leader;
    assert_ne!(new, old);
    eprintln!(
        "{} replaced {} after {:?}",
        cluster.members[new].name,
        cluster.members[old].name,
        killed_at.elapsed()
    );

    // Writes through a surviving follower succeed once it knows the new leader; until then a
    // failure must be one of the two classes, which the type guarantees, so only retry.
    let follower = *cluster
        .alive()
        .iter()
        .find(|&&i| i != new)
        .expect("two survivors");
    let mut to_follower = cluster.client(follower, ReadConsistency::Linearizable);
    let started = Instant::now();
    loop {
        match to_follower.write("k", 4).await {
            Ok(()) => break,
            Err(e) => {
                assert!(
                    started.elapsed() < deadline,
                    "no write through a survivor: {e:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    eprintln!(
        "first write through a survivor after {:?}",
        killed_at.elapsed()
    );
    let mut to_new = cluster.client(new, ReadConsistency::Linearizable);
    assert_eq!(to_new.read("k").await.unwrap(), Some(4));
    assert!(to_new.cas("k", 4, 5).await.unwrap());
    assert_eq!(to_follower.read("k").await.unwrap(), Some(5));
    // Only now: etcd reports the term of the last entry a member applied, which lags the election
    // until the new leader's first entry is applied; the cas above waited for that.
    let after = member_status(cluster.members[new].client_addr, OP_TIMEOUT)
        .await
        .unwrap();
    assert!(after.is_leader, "{after:?}");
    assert!(
        after.raft_term > old_status.raft_term,
        "{after:?} {old_status:?}"
    );
}
