//! End-to-end tests of `faultline node`: real nodes on loopback ports, driven by the real `redis` client.

use std::net::SocketAddr;
use std::time::Duration;

use node::NodeArgs;
use redis::aio::MultiplexedConnection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout, Instant};

/// Upper bound on any one test; a hang is a failure, not a stuck CI job.
const TEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a condition polled with `eventually!` may take to become true.
const SETTLE: Duration = Duration::from_secs(10);

/// Polls `$cond` (an expression that may `.await`) until it holds, failing after [`SETTLE`].
macro_rules! eventually {
    ($what:expr, $cond:expr) => {{
        let deadline = Instant::now() + SETTLE;
        loop {
            if $cond {
                break;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {}", $what);
            sleep(Duration::from_millis(20)).await;
        }
    }};
}

/// Runs a test body under [`TEST_TIMEOUT`].
async fn bounded(body: impl std::future::Future<Output = ()>) {
    timeout(TEST_TIMEOUT, body)
        .await
        .expect("test exceeded its time bound");
}

fn args(name: &str, replica_of: Option<SocketAddr>, delay: Duration) -> NodeArgs {
    NodeArgs {
        name: name.into(),
        bind: "127.0.0.1".into(),
        port: 0,
        replica_of: replica_of.map(|a| a.to_string()),
        replication_delay: delay,
        log: None,
        fsync: node::Fsync::EverySecond,
        failover_after: None,
        peer: Vec::new(),
        rank: 0,
        mode: node::Mode::Async,
        read_quorum: None,
        write_quorum: None,
        quorum_timeout: Duration::from_secs(1),
        gossip_interval: Duration::from_millis(100),
    }
}

/// A node serving on `listener`, stopped by aborting its task.
fn spawn_on(args: NodeArgs, listener: TcpListener) -> JoinHandle<anyhow::Result<()>> {
    tokio::spawn(node::serve(args, listener))
}

/// A node on a fresh loopback port.
async fn start(args: NodeArgs) -> (SocketAddr, JoinHandle<anyhow::Result<()>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (addr, spawn_on(args, listener))
}

async fn connect(addr: SocketAddr) -> MultiplexedConnection {
    redis::Client::open(format!("redis://{addr}/"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn get(con: &mut MultiplexedConnection, key: &str) -> Option<String> {
    redis::cmd("GET").arg(key).query_async(con).await.unwrap()
}

async fn set(con: &mut MultiplexedConnection, key: &str, value: &str) {
    redis::cmd("SET")
        .arg(key)
        .arg(value)
        .query_async::<()>(con)
        .await
        .unwrap();
}

async fn cas(con: &mut MultiplexedConnection, key: &str, expected: &str, new: &str) -> i64 {
    redis::cmd("CAS")
        .arg(key)
        .arg(expected)
        .arg(new)
        .query_async(con)
        .await
        .unwrap()
}

async fn info(con: &mut MultiplexedConnection, section: &str) -> String {
    redis::cmd("INFO")
        .arg(section)
        .query_async(con)
        .await
        .unwrap()
}

/// The value of `field:` in INFO text.
fn field<'a>(info: &'a str, field: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
}

#[tokio::test]
async fn get_set_cas_and_del_behave_like_a_register() {
    bounded(async {
        let (addr, _node) = start(args("n1", None, Duration::ZERO)).await;
        let mut con = connect(addr).await;

        assert_eq!(get(&mut con, "k").await, None);
        assert_eq!(
            cas(&mut con, "k", "", "1").await,
            0,
            "a missing key never matches"
        );
        set(&mut con, "k", "1").await;
        assert_eq!(get(&mut con, "k").await.as_deref(), Some("1"));
        assert_eq!(cas(&mut con, "k", "2", "3").await, 0);
        assert_eq!(get(&mut con, "k").await.as_deref(), Some("1"));
        assert_eq!(cas(&mut con, "k", "1", "3").await, 1);
        assert_eq!(get(&mut con, "k").await.as_deref(), Some("3"));

        set(&mut con, "other", "x").await;
        let size: i64 = redis::cmd("DBSIZE").query_async(&mut con).await.unwrap();
        assert_eq!(size, 2);
        let deleted: i64 = redis::cmd("DEL")
            .arg(&["k", "other", "missing"])
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(deleted, 2);
        assert_eq!(get(&mut con, "k").await, None);

        set(&mut con, "k", "1").await;
        redis::cmd("FLUSHALL")
            .query_async::<()>(&mut con)
            .await
            .unwrap();
        assert_eq!(get(&mut con, "k").await, None);
    })
    .await;
}

#[tokio::test]
async fn bad_commands_get_redis_errors_and_the_connection_lives_on() {
    bounded(async {
        let (addr, _node) = start(args("n1", None, Duration::ZERO)).await;
        let mut con = connect(addr).await;

        let err = redis::cmd("NOPE")
            .arg("a")
            .query_async::<()>(&mut con)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("ERR"));
        assert!(
            err.detail().unwrap().starts_with("unknown command 'NOPE'"),
            "{err}"
        );
        let err = redis::cmd("CAS")
            .arg("k")
            .query_async::<()>(&mut con)
            .await
            .unwrap_err();
        assert_eq!(
            err.detail(),
            Some("wrong number of arguments for 'cas' command")
        );
        let err = redis::cmd("HELLO")
            .arg(4)
            .query_async::<()>(&mut con)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("NOPROTO"));

        let hello: Vec<redis::Value> = redis::cmd("HELLO")
            .arg(2)
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(hello.len() % 2, 0, "pairs: {hello:?}");
        let commands: Vec<String> = redis::cmd("COMMAND").query_async(&mut con).await.unwrap();
        assert!(commands.is_empty());
        redis::cmd("CLIENT")
            .arg(&["SETNAME", "worker-1"])
            .query_async::<()>(&mut con)
            .await
            .unwrap();
        let name: String = redis::cmd("CLIENT")
            .arg("GETNAME")
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(name, "worker-1");
        let pong: String = redis::cmd("PING").query_async(&mut con).await.unwrap();
        assert_eq!(pong, "PONG");
    })
    .await;
}

#[tokio::test]
async fn a_malformed_request_closes_only_its_own_connection() {
    bounded(async {
        let (addr, _node) = start(args("n1", None, Duration::ZERO)).await;
        let mut con = connect(addr).await;

        let mut raw = TcpStream::connect(addr).await.unwrap();
        raw.write_all(b"PING inline\r\n*1\r\n:1\r\n").await.unwrap();
        let mut answer = Vec::new();
        raw.read_to_end(&mut answer).await.unwrap();
        let answer = String::from_utf8(answer).unwrap();
        assert!(
            answer.starts_with("$6\r\ninline\r\n-ERR Protocol error: expected '$', got ':'"),
            "{answer:?}"
        );

        set(&mut con, "k", "still here").await;
        assert_eq!(get(&mut con, "k").await.as_deref(), Some("still here"));
    })
    .await;
}

#[tokio::test]
async fn writes_reach_both_replicas_and_the_links_are_reported() {
    bounded(async {
        let (primary, _p) = start(args("n1", None, Duration::ZERO)).await;
        let mut p = connect(primary).await;
        // Written before the replicas exist: it must travel in their snapshots.
        set(&mut p, "before", "snapshot").await;
        let (r1, _n2) = start(args("n2", Some(primary), Duration::ZERO)).await;
        let (r2, _n3) = start(args("n3", Some(primary), Duration::ZERO)).await;
        let mut replicas = [connect(r1).await, connect(r2).await];

        for r in &mut replicas {
            eventually!(
                "the snapshot on a replica",
                get(r, "before").await.as_deref() == Some("snapshot")
            );
        }
        set(&mut p, "k", "v1").await;
        assert_eq!(cas(&mut p, "k", "v1", "v2").await, 1);
        for r in &mut replicas {
            eventually!(
                "a streamed write on a replica",
                get(r, "k").await.as_deref() == Some("v2")
            );
            let text = info(r, "replication").await;
            assert_eq!(field(&text, "role"), Some("slave"));
            assert_eq!(field(&text, "master_link_status"), Some("up"));
            assert_eq!(
                field(&text, "master_port"),
                Some(&*primary.port().to_string())
            );
            assert_eq!(field(&text, "slave_repl_offset"), Some("3"));
        }

        // Offsets in INFO come from the replicas' ACKs, so they catch up shortly after the data.
        eventually!("both replicas acknowledged offset 3", {
            let text = info(&mut p, "replication").await;
            let online = text
                .lines()
                .filter(|l| l.starts_with("slave") && l.contains("state=online,offset=3,"))
                .count();
            field(&text, "connected_slaves") == Some("2") && online == 2
        });
        let text = info(&mut p, "replication").await;
        assert_eq!(field(&text, "role"), Some("master"));
        assert_eq!(field(&text, "master_repl_offset"), Some("3"));
        for port in [r1.port(), r2.port()] {
            assert!(
                text.contains(&format!("ip=127.0.0.1,port={port},")),
                "{text}"
            );
        }
        let everything = info(&mut p, "all").await;
        assert!(field(&everything, "faultline_version").is_some());
        assert_eq!(
            field(&everything, "process_id"),
            Some(&*std::process::id().to_string())
        );

        let (role, offset, links, epoch): (String, i64, Vec<(String, String, String)>, u64) =
            redis::cmd("ROLE").query_async(&mut p).await.unwrap();
        assert_eq!(
            (role.as_str(), offset, links.len(), epoch),
            ("master", 3, 2, 0)
        );
        assert!(links
            .iter()
            .all(|(ip, _, acked)| ip == "127.0.0.1" && acked == "3"));
        for r in &mut replicas {
            let (role, host, port, state, offset, epoch): (String, String, u16, String, i64, u64) =
                redis::cmd("ROLE").query_async(r).await.unwrap();
            assert_eq!(
                (
                    role.as_str(),
                    host.as_str(),
                    port,
                    state.as_str(),
                    offset,
                    epoch
                ),
                ("slave", "127.0.0.1", primary.port(), "connected", 3, 0)
            );
        }
    })
    .await;
}

#[tokio::test]
async fn replicas_refuse_writes_as_redis_does() {
    bounded(async {
        let (primary, _p) = start(args("n1", None, Duration::ZERO)).await;
        let (replica, _r) = start(args("n2", Some(primary), Duration::ZERO)).await;
        let mut r = connect(replica).await;

        let writes = [
            redis::cmd("SET").arg(&["k", "v"]).clone(),
            redis::cmd("DEL").arg("k").clone(),
            redis::cmd("CAS").arg(&["k", "a", "b"]).clone(),
            redis::cmd("FLUSHALL").clone(),
        ];
        for write in writes {
            let err = write.query_async::<()>(&mut r).await.unwrap_err();
            assert_eq!(err.code(), Some("READONLY"), "{err}");
            assert_eq!(
                err.detail(),
                Some("You can't write against a read only replica.")
            );
        }
        assert_eq!(get(&mut r, "k").await, None, "reads still work");
    })
    .await;
}

#[tokio::test]
async fn replication_delay_makes_replica_reads_stale() {
    bounded(async {
        let delay = Duration::from_millis(300);
        let (primary, _p) = start(args("n1", None, delay)).await;
        let (replica, _r) = start(args("n2", Some(primary), Duration::ZERO)).await;
        let (mut p, mut r) = (connect(primary).await, connect(replica).await);

        set(&mut p, "k", "old").await;
        eventually!(
            "the first write on the replica",
            get(&mut r, "k").await.as_deref() == Some("old")
        );

        set(&mut p, "k", "new").await;
        let acked = Instant::now();
        assert_eq!(
            get(&mut r, "k").await.as_deref(),
            Some("old"),
            "read right after the write"
        );
        eventually!(
            "the delayed write on the replica",
            get(&mut r, "k").await.as_deref() == Some("new")
        );
        // The write left the primary no earlier than `delay` after it was applied, which preceded
        // the client's acknowledgement by at most a loopback round trip.
        let seen = acked.elapsed();
        assert!(
            seen >= delay - Duration::from_millis(50),
            "new after {seen:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_replica_resyncs_from_a_new_primary_on_the_same_port() {
    bounded(async {
        let (primary, first) = start(args("n1", None, Duration::ZERO)).await;
        let (replica, _r) = start(args("n2", Some(primary), Duration::ZERO)).await;
        let mut r = connect(replica).await;
        {
            let mut p = connect(primary).await;
            set(&mut p, "k", "first").await;
            set(&mut p, "only-in-first", "x").await;
        }
        eventually!(
            "the first primary's data on the replica",
            get(&mut r, "only-in-first").await.is_some()
        );

        first.abort();
        let _ = first.await;
        eventually!(
            "the replica to notice its primary is gone",
            field(&info(&mut r, "replication").await, "master_link_status") == Some("down")
        );
        assert_eq!(
            get(&mut r, "k").await.as_deref(),
            Some("first"),
            "a replica keeps serving its data while the link is down"
        );

        let listener = TcpListener::bind(primary).await.unwrap();
        let _second = spawn_on(args("n1-again", None, Duration::ZERO), listener);
        let mut p = connect(primary).await;
        set(&mut p, "k", "second").await;
        eventually!(
            "the second primary's write on the replica",
            get(&mut r, "k").await.as_deref() == Some("second")
        );
        // Only a full snapshot removes a key the new primary never touched.
        assert_eq!(get(&mut r, "only-in-first").await, None);
        let text = info(&mut r, "replication").await;
        assert_eq!(field(&text, "master_link_status"), Some("up"));
        assert_eq!(field(&text, "slave_repl_offset"), Some("1"));
    })
    .await;
}

async fn sadd(con: &mut MultiplexedConnection, key: &str, members: &[&str]) -> i64 {
    redis::cmd("SADD")
        .arg(key)
        .arg(members)
        .query_async(con)
        .await
        .unwrap()
}

async fn smembers(con: &mut MultiplexedConnection, key: &str) -> Vec<String> {
    redis::cmd("SMEMBERS")
        .arg(key)
        .query_async(con)
        .await
        .unwrap()
}

/// The error code of a command that must be refused.
async fn refused(con: &mut MultiplexedConnection, cmd: &redis::Cmd) -> String {
    let err = cmd.query_async::<redis::Value>(con).await.unwrap_err();
    format!(
        "{} {}",
        err.code().unwrap_or("?"),
        err.detail().unwrap_or("")
    )
}

#[tokio::test]
async fn sets_behave_as_redis_sets_and_refuse_strings() {
    bounded(async {
        let (addr, _node) = start(args("n1", None, Duration::ZERO)).await;
        let mut con = connect(addr).await;

        assert!(
            smembers(&mut con, "s").await.is_empty(),
            "a missing set is empty"
        );
        assert_eq!(sadd(&mut con, "s", &["2", "1", "2"]).await, 2);
        assert_eq!(sadd(&mut con, "s", &["1", "3"]).await, 1);
        assert_eq!(smembers(&mut con, "s").await, ["1", "2", "3"]);

        let wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value";
        set(&mut con, "str", "5").await;
        for cmd in [
            redis::cmd("SADD").arg(&["str", "x"]).clone(),
            redis::cmd("SMEMBERS").arg("str").clone(),
            redis::cmd("GET").arg("s").clone(),
            redis::cmd("INCRBY").arg(&["s", "1"]).clone(),
            redis::cmd("CAS").arg(&["s", "1", "2"]).clone(),
        ] {
            assert_eq!(refused(&mut con, &cmd).await, wrongtype, "{cmd:?}");
        }
        assert_eq!(
            refused(&mut con, redis::cmd("SADD").arg("s")).await,
            "ERR wrong number of arguments for 'sadd' command"
        );
        assert_eq!(
            smembers(&mut con, "s").await,
            ["1", "2", "3"],
            "refusals changed nothing"
        );
        assert_eq!(get(&mut con, "str").await.as_deref(), Some("5"));

        // DEL and FLUSHALL take sets as they take strings; SET overwrites a set.
        let deleted: i64 = redis::cmd("DEL")
            .arg("s")
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(deleted, 1);
        assert!(smembers(&mut con, "s").await.is_empty());
        sadd(&mut con, "s", &["a"]).await;
        set(&mut con, "s", "now a string").await;
        assert_eq!(get(&mut con, "s").await.as_deref(), Some("now a string"));
        sadd(&mut con, "t", &["a"]).await;
        redis::cmd("FLUSHALL")
            .query_async::<()>(&mut con)
            .await
            .unwrap();
        let size: i64 = redis::cmd("DBSIZE").query_async(&mut con).await.unwrap();
        assert_eq!(size, 0);
        // Still serving after every refusal.
        assert_eq!(sadd(&mut con, "s", &["x"]).await, 1);
    })
    .await;
}

#[tokio::test]
async fn sets_reach_replicas_in_snapshots_and_in_the_stream() {
    bounded(async {
        let (primary, _p) = start(args("n1", None, Duration::ZERO)).await;
        let mut p = connect(primary).await;
        // Written before the replica exists: it must travel in its snapshot (SKV).
        sadd(&mut p, "s", &["1", "2"]).await;
        set(&mut p, "k", "v").await;
        let (replica, _r) = start(args("n2", Some(primary), Duration::ZERO)).await;
        let mut r = connect(replica).await;
        eventually!(
            "the snapshot's set on the replica",
            smembers(&mut r, "s").await == ["1", "2"]
        );
        assert_eq!(get(&mut r, "k").await.as_deref(), Some("v"));
        // Then streamed (WRITE ... SADD); an SADD that adds nothing is not a write.
        assert_eq!(sadd(&mut p, "s", &["2"]).await, 0);
        assert_eq!(sadd(&mut p, "s", &["3", "2"]).await, 1);
        sadd(&mut p, "other", &["x"]).await;
        eventually!(
            "the streamed adds on the replica",
            smembers(&mut r, "other").await == ["x"]
        );
        assert_eq!(smembers(&mut r, "s").await, ["1", "2", "3"]);
        let offset = |text: String, name: &str| field(&text, name).map(str::to_owned);
        assert_eq!(
            offset(info(&mut r, "replication").await, "slave_repl_offset").as_deref(),
            Some("4"),
            "two SADDs, a SET and the SADD that added 3"
        );
        assert_eq!(
            refused(&mut r, redis::cmd("SADD").arg(&["s", "4"])).await,
            "READONLY You can't write against a read only replica."
        );
    })
    .await;
}

#[tokio::test]
async fn sets_come_back_from_the_log_after_a_restart() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let durable = || NodeArgs {
            log: Some(dir.path().join("node.aof")),
            fsync: node::Fsync::Always,
            ..args("n1", None, Duration::ZERO)
        };
        let (addr, first) = start(durable()).await;
        {
            let mut con = connect(addr).await;
            sadd(&mut con, "s", &["1", "2"]).await;
            sadd(&mut con, "s", &["3"]).await;
            set(&mut con, "k", "v").await;
            sadd(&mut con, "gone", &["x"]).await;
            let _: i64 = redis::cmd("DEL")
                .arg("gone")
                .query_async(&mut con)
                .await
                .unwrap();
        }
        first.abort();
        let _ = first.await;

        let (addr, _second) = start(durable()).await;
        let mut con = connect(addr).await;
        assert_eq!(smembers(&mut con, "s").await, ["1", "2", "3"]);
        assert_eq!(get(&mut con, "k").await.as_deref(), Some("v"));
        assert!(smembers(&mut con, "gone").await.is_empty());
        assert_eq!(
            refused(&mut con, redis::cmd("GET").arg("s")).await,
            "WRONGTYPE Operation against a key holding the wrong kind of value",
            "a recovered set is still a set"
        );
        // Offsets go on from the log's: the next write is the sixth.
        sadd(&mut con, "s", &["4"]).await;
        let text = info(&mut con, "replication").await;
        assert_eq!(field(&text, "master_repl_offset"), Some("6"));
    })
    .await;
}

/// Sends `request` (raw RESP) on `stream` and reads until `expected` bytes came back.
async fn exchange(stream: &mut TcpStream, request: &[u8], expected: &[u8]) {
    stream.write_all(request).await.unwrap();
    let mut got = vec![0; expected.len()];
    stream.read_exact(&mut got).await.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected),
        "reply to {}",
        String::from_utf8_lossy(request)
    );
}

#[tokio::test]
async fn hello_3_switches_the_connection_to_resp3_and_hello_2_back() {
    bounded(async {
        let (addr, _node) = start(args("n1", None, Duration::ZERO)).await;
        let mut con = connect(addr).await;
        sadd(&mut con, "s", &["b", "a"]).await;

        let mut raw = TcpStream::connect(addr).await.unwrap();
        // RESP2 until HELLO 3.
        exchange(&mut raw, b"GET missing\r\n", b"$-1\r\n").await;
        exchange(&mut raw, b"SMEMBERS s\r\n", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n").await;
        let version = env!("CARGO_PKG_VERSION");
        let hello3 = format!(
            "%7\r\n$6\r\nserver\r\n$9\r\nfaultline\r\n$7\r\nversion\r\n${}\r\n{version}\r\n\
             $5\r\nproto\r\n:3\r\n$2\r\nid\r\n:2\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n\
             $4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n",
            version.len()
        );
        exchange(&mut raw, b"HELLO 3\r\n", hello3.as_bytes()).await;
        exchange(&mut raw, b"GET missing\r\n", b"_\r\n").await;
        exchange(&mut raw, b"SMEMBERS s\r\n", b"~2\r\n$1\r\na\r\n$1\r\nb\r\n").await;
        exchange(&mut raw, b"SMEMBERS missing\r\n", b"~0\r\n").await;
        exchange(&mut raw, b"CLIENT GETNAME\r\n", b"_\r\n").await;
        exchange(&mut raw, b"SADD s c\r\n", b":1\r\n").await;
        exchange(
            &mut raw,
            b"HELLO 4\r\n",
            b"-NOPROTO unsupported protocol version\r\n",
        )
        .await;
        // HELLO without a version answers in the protocol the connection speaks.
        let hello = b"HELLO\r\n";
        raw.write_all(hello).await.unwrap();
        let mut head = [0; 4];
        raw.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"%7\r\n");
        let mut rest = vec![0; hello3.len() - 4];
        raw.read_exact(&mut rest).await.unwrap();
        let hello2 = hello3.replacen("%7", "*14", 1).replacen(":3", ":2", 1);
        exchange(&mut raw, b"HELLO 2\r\n", hello2.as_bytes()).await;
        exchange(&mut raw, b"GET missing\r\n", b"$-1\r\n").await;
        exchange(&mut raw, b"SMEMBERS missing\r\n", b"*0\r\n").await;
    })
    .await;
}

#[tokio::test]
async fn the_redis_client_speaks_resp3_to_the_node() {
    bounded(async {
        let (addr, _node) = start(args("n1", None, Duration::ZERO)).await;
        let mut con = redis::Client::open(format!("redis://{addr}/?protocol=resp3"))
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let added: i64 = redis::cmd("SADD")
            .arg(&["s", "2", "1"])
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(added, 2);
        let value = |items: &[&str]| {
            redis::Value::Set(
                items
                    .iter()
                    .map(|i| redis::Value::BulkString(i.as_bytes().to_vec()))
                    .collect(),
            )
        };
        let members: redis::Value = redis::cmd("SMEMBERS")
            .arg("s")
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(members, value(&["1", "2"]));
        let missing: redis::Value = redis::cmd("GET")
            .arg("k")
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(missing, redis::Value::Nil);
        let hello: redis::Value = redis::cmd("HELLO").query_async(&mut con).await.unwrap();
        let redis::Value::Map(fields) = hello else {
            panic!("HELLO on a RESP3 connection is a map: {hello:?}");
        };
        let proto = fields
            .iter()
            .find(|(k, _)| *k == redis::Value::BulkString(b"proto".to_vec()))
            .map(|(_, v)| v.clone());
        assert_eq!(proto, Some(redis::Value::Int(3)));
        // Typed reads work as on RESP2.
        let members: Vec<i64> = redis::cmd("SMEMBERS")
            .arg("s")
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(members, [1, 2]);
    })
    .await;
}

async fn replicaof(con: &mut MultiplexedConnection, host: &str, port: &str) {
    redis::cmd("REPLICAOF")
        .arg(host)
        .arg(port)
        .query_async::<()>(con)
        .await
        .unwrap();
}

/// A node's role and epoch, from INFO replication.
async fn role_and_epoch(con: &mut MultiplexedConnection) -> (String, u64) {
    let text = info(con, "replication").await;
    let role = field(&text, "role").unwrap_or_default().to_string();
    let epoch = field(&text, "epoch").and_then(|e| e.parse().ok()).unwrap();
    (role, epoch)
}

#[tokio::test]
async fn a_demoted_primary_resyncs_and_loses_the_writes_the_new_primary_lacks() {
    bounded(async {
        let (n1, _n1) = start(args("n1", None, Duration::ZERO)).await;
        let (n2, _n2) = start(args("n2", Some(n1), Duration::ZERO)).await;
        let (mut c1, mut c2) = (connect(n1).await, connect(n2).await);
        set(&mut c1, "k", "before").await;
        eventually!(
            "the first write on n2",
            get(&mut c2, "k").await.as_deref() == Some("before")
        );
        assert_eq!(role_and_epoch(&mut c2).await, ("slave".into(), 0));

        replicaof(&mut c2, "no", "one").await;
        assert_eq!(role_and_epoch(&mut c2).await, ("master".into(), 1));
        assert_eq!(
            get(&mut c2, "k").await.as_deref(),
            Some("before"),
            "kept its data"
        );
        // Split brain: both take writes, n1 still in epoch 0.
        set(&mut c1, "lost", "acknowledged by n1").await;
        set(&mut c2, "k", "after").await;
        assert_eq!(role_and_epoch(&mut c1).await, ("master".into(), 0));

        replicaof(&mut c1, "127.0.0.1", &n2.port().to_string()).await;
        eventually!(
            "n1 resynced from n2",
            get(&mut c1, "k").await.as_deref() == Some("after")
        );
        assert_eq!(
            get(&mut c1, "lost").await,
            None,
            "the full resync dropped it"
        );
        assert_eq!(role_and_epoch(&mut c1).await, ("slave".into(), 1));
        let err = redis::cmd("SET")
            .arg(&["k", "v"])
            .query_async::<()>(&mut c1)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("READONLY"));
        let (role, _, _, state, _, epoch): (String, String, u16, String, i64, u64) =
            redis::cmd("ROLE").query_async(&mut c1).await.unwrap();
        assert_eq!(
            (role.as_str(), state.as_str(), epoch),
            ("slave", "connected", 1)
        );
        let again: String = redis::cmd("REPLICAOF")
            .arg(&["127.0.0.1", &n2.port().to_string()])
            .query_async(&mut c1)
            .await
            .unwrap();
        assert_eq!(again, "OK Already connected to specified master");
        // n2's link to n1 ended with its promotion: n2 lists n1 as its one replica.
        eventually!(
            "n1 listed as n2's replica",
            field(&info(&mut c2, "replication").await, "connected_slaves") == Some("1")
        );
    })
    .await;
}

#[tokio::test]
async fn with_failover_after_a_replica_promotes_itself_and_the_others_follow_it() {
    bounded(async {
        let listeners = [
            TcpListener::bind("127.0.0.1:0").await.unwrap(),
            TcpListener::bind("127.0.0.1:0").await.unwrap(),
            TcpListener::bind("127.0.0.1:0").await.unwrap(),
        ];
        let addrs: Vec<SocketAddr> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
        let node_args = |i: usize| {
            let name = format!("n{}", i + 1);
            let mut a = args(&name, (i > 0).then_some(addrs[0]), Duration::ZERO);
            a.failover_after = Some(Duration::from_millis(1500));
            a.rank = i as u32;
            a.peer = (0..3)
                .filter(|&j| j != i)
                .map(|j| addrs[j].to_string())
                .collect();
            a
        };
        let mut nodes: Vec<_> = listeners
            .into_iter()
            .enumerate()
            .map(|(i, l)| spawn_on(node_args(i), l))
            .collect();
        let (mut c2, mut c3) = (connect(addrs[1]).await, connect(addrs[2]).await);
        {
            let mut c1 = connect(addrs[0]).await;
            set(&mut c1, "k", "from n1").await;
        }
        eventually!(
            "the write on n3",
            get(&mut c3, "k").await.as_deref() == Some("from n1")
        );
        assert_eq!(
            role_and_epoch(&mut c2).await,
            ("slave".into(), 0),
            "n1 is alive"
        );

        let n1 = nodes.remove(0);
        n1.abort();
        let _ = n1.await;
        let lost_at = Instant::now();
        eventually!(
            "n2 (rank 1) promoted",
            role_and_epoch(&mut c2).await == ("master".into(), 1)
        );
        assert!(
            lost_at.elapsed() >= Duration::from_millis(2500),
            "D + one stagger"
        );
        eventually!("n3 following n2", {
            let text = info(&mut c3, "replication").await;
            field(&text, "master_port") == Some(&*addrs[1].port().to_string())
                && field(&text, "master_link_status") == Some("up")
        });
        assert_eq!(role_and_epoch(&mut c3).await, ("slave".into(), 1));
        set(&mut c2, "k", "from n2").await;

        // n1 comes back empty as a primary in epoch 0, sees n2 in epoch 1 and follows it.
        let listener = TcpListener::bind(addrs[0]).await.unwrap();
        let _n1 = spawn_on(node_args(0), listener);
        let mut c1 = connect(addrs[0]).await;
        eventually!(
            "n1 demoted and resynced from n2",
            get(&mut c1, "k").await.as_deref() == Some("from n2")
        );
        assert_eq!(role_and_epoch(&mut c1).await, ("slave".into(), 1));
        assert_eq!(role_and_epoch(&mut c2).await, ("master".into(), 1));
    })
    .await;
}

#[test]
fn main_reports_a_port_already_in_use() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut node = args("n1", None, Duration::ZERO);
    node.port = taken.local_addr().unwrap().port();
    let err = node::main(node).unwrap_err();
    assert!(format!("{err:#}").contains("binding 127.0.0.1:"), "{err:#}");
}
