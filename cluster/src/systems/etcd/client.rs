//! An etcd client for the register and set workloads, with failures sorted by what they mean.
//!
//! Registers are plain keys holding decimal integers; compare-and-set is one transaction
//! (`if value(key) == expected then put(key, new)`), so etcd evaluates the compare and applies the
//! put atomically in the Raft log. A set is a key prefix: every element is its own key
//! `"{set}/{element}"`, so concurrent adds never contend on one key and a read is one range.
//! Requests go to etcd's JSON gateway ([`super::gateway`]) over one kept-alive connection.
//!
//! Failure classes, by what they mean for the history:
//! - a read that fails is always `fail` ([`ClientError::DidNotHappen`]): it changed nothing;
//! - a write, cas or add fails with `fail` only when the request certainly never took effect: no
//!   connection could be made (refused, unreachable, or not within half the operation timeout),
//!   so nothing was sent, or etcd replied with one of its validation errors, which it raises
//!   before proposing anything;
//! - everything else — our timeout, `Unavailable` from a member that may have proposed the entry
//!   ("request timed out", "leader changed", "server stopped"), a connection reset or closed after
//!   sending, an answer that cannot be read — is `info` ([`ClientError::MayHaveHappened`]): a
//!   proposal forwarded to the leader may still commit after the member gave up waiting for it.
//!
//! The connection is kept only after a complete answer on a connection the member keeps open;
//! after anything else (a timeout mid-answer, a reset) the next operation connects anew. Before
//! each operation a connection the member has closed since is noticed and replaced, so a member
//! restarted between operations costs a reconnect, not an operation in doubt.

use super::api::{
    Compare, PutRequest, PutResponse, RangeRequest, RangeResponse, RequestOp, TxnRequest,
    TxnResponse,
};
use super::gateway::{code, code_name, Gateway, GatewayError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::net::SocketAddr;
use std::time::Duration;
use workloads::{ClientError, CounterClient, RegisterClient, SetClient};

/// How reads are served: through Raft (the default) or from the member's local state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ReadConsistency {
    /// The member confirms with a quorum that it is up to date before answering (etcd's default).
    #[default]
    Linearizable,
    /// The member answers from its own state, which may be stale (a minority member, a lagging
    /// follower); Jepsen found stale reads this way.
    Serializable,
}

impl std::fmt::Display for ReadConsistency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Spelled as `--read-consistency` takes it: clap's derive is the one list of names.
        let name = clap::ValueEnum::to_possible_value(self).expect("no skipped variant");
        f.write_str(name.get_name())
    }
}

/// Why a call failed, before the operation's kind decides between `fail` and `info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// etcd answered with a validation error: it rejected the request before proposing it.
    Rejected(String),
    /// No connection could be made, so the request never left this process.
    NotSent(String),
    /// Anything else: the request may have been proposed and may yet commit.
    Unknown(String),
}

impl Failure {
    /// A read changes nothing, so however it failed it did not happen.
    fn for_read(self) -> ClientError {
        match self {
            Failure::Rejected(m) | Failure::NotSent(m) | Failure::Unknown(m) => {
                ClientError::DidNotHappen(m)
            }
        }
    }

    /// A write did not happen only if it was refused or never sent.
    fn for_write(self) -> ClientError {
        match self {
            Failure::Rejected(m) | Failure::NotSent(m) => ClientError::DidNotHappen(m),
            Failure::Unknown(m) => ClientError::MayHaveHappened(m),
        }
    }
}

/// One worker's client of an etcd cluster: registers and sets over the KV API.
pub struct EtcdClient {
    endpoints: Vec<SocketAddr>,
    read_consistency: ReadConsistency,
    timeout: Duration,
    /// The open connection and the member it goes to.
    connection: Option<(SocketAddr, Gateway)>,
    /// How many connections were made: the next one goes to `endpoints[made % len]`.
    made: usize,
}

impl EtcdClient {
    /// A client of the members at `endpoints` (their client addresses); nothing is connected yet.
    ///
    /// With one endpoint every operation goes to that member, which is what a test of one
    /// member's view needs; with several, each new connection goes to the next member in turn,
    /// so after a failure the client moves on. `timeout` bounds every operation, connecting
    /// included.
    ///
    /// # Panics
    /// If `endpoints` is empty.
    pub fn new(
        endpoints: Vec<SocketAddr>,
        read_consistency: ReadConsistency,
        timeout: Duration,
    ) -> EtcdClient {
        assert!(!endpoints.is_empty(), "an etcd client needs a member");
        EtcdClient {
            endpoints,
            read_consistency,
            timeout,
            connection: None,
            made: 0,
        }
    }

    /// The members this client talks to.
    pub fn endpoints(&self) -> &[SocketAddr] {
        &self.endpoints
    }

    /// How this client's reads are served.
    pub fn read_consistency(&self) -> ReadConsistency {
        self.read_consistency
    }

    /// Calls `path` with `request` under the per-operation timeout, on the open connection or a
    /// new one.
    async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &mut self,
        path: &str,
        request: &Req,
    ) -> Result<Resp, Failure> {
        if let Some((_, gateway)) = &mut self.connection {
            if !gateway.is_open() {
                self.connection = None;
            }
        }
        let member = match &self.connection {
            Some((member, _)) => *member,
            None => {
                self.made += 1;
                self.endpoints[(self.made - 1) % self.endpoints.len()]
            }
        };
        let timeout = self.timeout;
        let connection = &mut self.connection;
        let outcome = tokio::time::timeout(timeout, async move {
            if connection.is_none() {
                // Half the operation's time: a member that does not accept connections surfaces
                // as a connect failure (`fail`), not as the operation's timeout (`info`).
                let gateway = Gateway::connect(member, timeout / 2)
                    .await
                    .map_err(|e| classify(e, member))?;
                *connection = Some((member, gateway));
            }
            let (_, gateway) = connection.as_mut().expect("connected above");
            gateway
                .call(path, request)
                .await
                .map_err(|e| classify(e, member))
        })
        .await;
        outcome.unwrap_or_else(|_| {
            Err(Failure::Unknown(format!(
                "timeout: {member} did not answer within {timeout:?}"
            )))
        })
    }

    /// Whether reads skip the Raft read index.
    fn serializable(&self) -> bool {
        self.read_consistency == ReadConsistency::Serializable
    }
}

/// Sorts a gateway error into a [`Failure`]; `member` names the member in the message.
fn classify(e: GatewayError, member: SocketAddr) -> Failure {
    match e {
        GatewayError::NotConnected(m) => {
            Failure::NotSent(format!("cannot connect to {member}: {m}"))
        }
        GatewayError::Etcd { code, message } if is_rejection(code, &message) => {
            Failure::Rejected(format!("{member} refused: {message}"))
        }
        GatewayError::Etcd { code, message } => {
            Failure::Unknown(format!("{member}: {}: {message}", code_name(code)))
        }
        GatewayError::Broken(m) => Failure::Unknown(format!("{member}: {m}")),
    }
}

/// Whether etcd itself refused the request before proposing it.
///
/// etcd's validation errors (empty key, too many operations in a transaction, request too large,
/// too many requests in flight, space quota, authentication) carry these codes and a message
/// starting `etcdserver: `. Errors without that prefix come from the gRPC layer or the gateway,
/// not from etcd, and only etcd's word is taken: a request over etcd's limit plus gRPC's
/// allowance gets ResourceExhausted "grpc: received message larger than max (2252808 vs.
/// 2097152)" (seen here), which probably means nothing ran, but nothing guarantees it. The Raft
/// outcomes that leave a proposal in doubt ("request timed out", "leader changed", "server
/// stopped", "no leader") are all `Unavailable`, which is not in this list.
fn is_rejection(status: i32, message: &str) -> bool {
    [
        code::INVALID_ARGUMENT,
        code::OUT_OF_RANGE,
        code::FAILED_PRECONDITION,
        code::PERMISSION_DENIED,
        code::UNAUTHENTICATED,
        code::RESOURCE_EXHAUSTED,
        code::NOT_FOUND,
        code::ALREADY_EXISTS,
    ]
    .contains(&status)
        && message.starts_with("etcdserver: ")
}

/// A register's value as stored: decimal text.
fn parse_value(key: &str, value: &[u8]) -> Result<i64, Failure> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            Failure::Rejected(format!(
                "key {key} holds {:?}, not an integer",
                String::from_utf8_lossy(value)
            ))
        })
}

/// The key holding `element` of the set `set`.
fn element_key(set: &str, element: i64) -> String {
    format!("{set}/{element}")
}

impl crate::client::Answered for EtcdClient {
    /// The member of the open connection, or the one member a single-endpoint client has.
    fn answered_by(&self) -> Option<SocketAddr> {
        match (&self.connection, &self.endpoints[..]) {
            (Some((member, _)), _) => Some(*member),
            (None, [only]) => Some(*only),
            (None, _) => None,
        }
    }
}

impl RegisterClient for EtcdClient {
    async fn read(&mut self, key: &str) -> Result<Option<i64>, ClientError> {
        let request = RangeRequest::key(key.as_bytes(), self.serializable());
        let resp: RangeResponse = self
            .call("/v3/kv/range", &request)
            .await
            .map_err(Failure::for_read)?;
        match resp.kvs.first() {
            None => Ok(None),
            Some(kv) => parse_value(key, &kv.value)
                .map(Some)
                .map_err(Failure::for_read),
        }
    }

    async fn write(&mut self, key: &str, value: i64) -> Result<(), ClientError> {
        let request = PutRequest::new(key.as_bytes(), value.to_string().as_bytes());
        let _: PutResponse = self
            .call("/v3/kv/put", &request)
            .await
            .map_err(Failure::for_write)?;
        Ok(())
    }

    async fn cas(&mut self, key: &str, expected: i64, new: i64) -> Result<bool, ClientError> {
        // A missing key fails the compare, as a register holding nothing is not `expected`.
        let request = TxnRequest {
            compare: vec![Compare::value_equals(
                key.as_bytes(),
                expected.to_string().as_bytes(),
            )],
            success: vec![RequestOp {
                request_put: PutRequest::new(key.as_bytes(), new.to_string().as_bytes()),
            }],
        };
        let resp: TxnResponse = self
            .call("/v3/kv/txn", &request)
            .await
            .map_err(Failure::for_write)?;
        Ok(resp.succeeded)
    }
}

/// How many times an add re-reads the counter after another add won the race, before it gives up
/// (certainly not applied: every attempt's compare failed).
const COUNTER_ATTEMPTS: usize = 20;

impl CounterClient for EtcdClient {
    /// etcd has no increment: read, then put the sum in a transaction that holds only if the
    /// counter still has the value read (deltas are positive, so the value never comes back), and
    /// read again when another add got there first.
    async fn incr(&mut self, key: &str, delta: i64) -> Result<(), ClientError> {
        for _ in 0..COUNTER_ATTEMPTS {
            // Nothing is written until the transaction: a failed read means the add did not happen.
            let current = RegisterClient::read(self, key)
                .await
                .map_err(|e| ClientError::DidNotHappen(e.to_string()))?;
            let compare = match current {
                Some(v) => Compare::value_equals(key.as_bytes(), v.to_string().as_bytes()),
                None => Compare::absent(key.as_bytes()),
            };
            let sum = current.unwrap_or(0) + delta;
            let request = TxnRequest {
                compare: vec![compare],
                success: vec![RequestOp {
                    request_put: PutRequest::new(key.as_bytes(), sum.to_string().as_bytes()),
                }],
            };
            let resp: TxnResponse = self
                .call("/v3/kv/txn", &request)
                .await
                .map_err(Failure::for_write)?;
            if resp.succeeded {
                return Ok(());
            }
        }
        Err(ClientError::DidNotHappen(format!(
            "counter {key}: {COUNTER_ATTEMPTS} attempts each lost the race to another add"
        )))
    }

    async fn read_counter(&mut self, key: &str) -> Result<i64, ClientError> {
        Ok(RegisterClient::read(self, key).await?.unwrap_or(0))
    }
}

impl SetClient for EtcdClient {
    async fn add(&mut self, key: &str, element: i64) -> Result<(), ClientError> {
        let element_key = element_key(key, element);
        let request = PutRequest::new(element_key.as_bytes(), element.to_string().as_bytes());
        let _: PutResponse = self
            .call("/v3/kv/put", &request)
            .await
            .map_err(Failure::for_write)?;
        Ok(())
    }

    async fn read_set(&mut self, key: &str) -> Result<Vec<i64>, ClientError> {
        let prefix = format!("{key}/");
        let request = RangeRequest::prefix_keys(prefix.as_bytes(), self.serializable());
        let resp: RangeResponse = self
            .call("/v3/kv/range", &request)
            .await
            .map_err(Failure::for_read)?;
        let mut elements = resp
            .kvs
            .iter()
            .map(|kv| {
                std::str::from_utf8(&kv.key)
                    .ok()
                    .and_then(|k| k.strip_prefix(&prefix))
                    .and_then(|e| e.parse::<i64>().ok())
                    .ok_or_else(|| {
                        ClientError::DidNotHappen(format!(
                            "set {key} has key {:?}, not {prefix}<integer>",
                            String::from_utf8_lossy(&kv.key)
                        ))
                    })
            })
            .collect::<Result<Vec<i64>, ClientError>>()?;
        elements.sort_unstable();
        Ok(elements)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpSocket, TcpStream};

    /// The gRPC code etcd's in-doubt Raft outcomes carry.
    const UNAVAILABLE: i32 = 14;

    fn member() -> SocketAddr {
        "127.0.0.1:2379".parse().unwrap()
    }

    fn etcd_error(code: i32, message: &str) -> GatewayError {
        GatewayError::Etcd {
            code,
            message: message.to_string(),
        }
    }

    #[test]
    fn etcd_validation_errors_are_rejections() {
        for (code, msg) in [
            (code::INVALID_ARGUMENT, "etcdserver: key is not provided"),
            (code::INVALID_ARGUMENT, "etcdserver: request is too large"),
            (code::RESOURCE_EXHAUSTED, "etcdserver: too many requests"),
            (
                code::RESOURCE_EXHAUSTED,
                "etcdserver: mvcc: database space exceeded",
            ),
            (code::NOT_FOUND, "etcdserver: requested lease not found"),
            (
                code::OUT_OF_RANGE,
                "etcdserver: mvcc: required revision is a future revision",
            ),
        ] {
            let f = classify(etcd_error(code, msg), member());
            assert_eq!(
                f,
                Failure::Rejected(format!("127.0.0.1:2379 refused: {msg}"))
            );
            assert!(matches!(f.for_write(), ClientError::DidNotHappen(_)));
        }
    }

    #[test]
    fn raft_outcomes_in_doubt_may_have_happened() {
        for msg in [
            "etcdserver: request timed out",
            "etcdserver: request timed out, possibly due to previous leader failure",
            "etcdserver: leader changed",
            "etcdserver: server stopped",
            "etcdserver: no leader",
        ] {
            let f = classify(etcd_error(UNAVAILABLE, msg), member());
            assert_eq!(
                f,
                Failure::Unknown(format!("127.0.0.1:2379: Unavailable: {msg}"))
            );
            assert!(matches!(
                f.clone().for_write(),
                ClientError::MayHaveHappened(_)
            ));
            assert!(
                matches!(f.for_read(), ClientError::DidNotHappen(_)),
                "a read changes nothing"
            );
        }
    }

    #[test]
    fn a_rejection_code_without_etcds_prefix_is_not_trusted() {
        // gRPC's own size check and the gateway's JSON errors are not etcd's word.
        for (code, msg) in [
            (
                code::RESOURCE_EXHAUSTED,
                "grpc: received message larger than max (2252808 vs. 2097152)",
            ),
            (code::INVALID_ARGUMENT, "unexpected EOF"),
        ] {
            let f = classify(etcd_error(code, msg), member());
            assert!(
                matches!(f, Failure::Unknown(ref m) if m.contains(msg)),
                "{f:?}"
            );
            assert!(matches!(f.for_write(), ClientError::MayHaveHappened(_)));
        }
    }

    #[test]
    fn not_connecting_means_not_sent_and_a_broken_exchange_may_have_happened() {
        let f = classify(
            GatewayError::NotConnected("Connection refused (os error 111)".into()),
            member(),
        );
        assert_eq!(
            f,
            Failure::NotSent(
                "cannot connect to 127.0.0.1:2379: Connection refused (os error 111)".into()
            )
        );
        assert!(matches!(f.for_write(), ClientError::DidNotHappen(_)));
        let f = classify(
            GatewayError::Broken("reading the response's status line: reset".into()),
            member(),
        );
        assert!(matches!(
            f.clone().for_write(),
            ClientError::MayHaveHappened(_)
        ));
        assert!(matches!(f.for_read(), ClientError::DidNotHappen(_)));
    }

    #[test]
    fn values_must_be_integers() {
        assert_eq!(parse_value("k", b"-42"), Ok(-42));
        assert!(
            matches!(parse_value("k", b"x1"), Err(Failure::Rejected(ref m)) if m.contains("x1"))
        );
    }

    #[test]
    fn read_consistency_round_trips_through_its_spelling() {
        use clap::ValueEnum;
        for rc in ReadConsistency::value_variants() {
            assert_eq!(ReadConsistency::from_str(&rc.to_string(), false), Ok(*rc));
        }
        assert_eq!(ReadConsistency::default(), ReadConsistency::Linearizable);
        assert!(ReadConsistency::from_str("strong", false).is_err());
    }

    /// Reads one HTTP request (head and `Content-Length` body) from `stream`; false at its end.
    async fn read_request(stream: &mut TcpStream) -> bool {
        let mut seen = Vec::new();
        let mut byte = [0u8; 1];
        while !seen.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte).await.unwrap_or(0) == 0 {
                return false;
            }
            seen.push(byte[0]);
        }
        let head = String::from_utf8(seen).unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .expect("a Content-Length")
            .parse()
            .unwrap();
        let mut body = vec![0; length];
        stream.read_exact(&mut body).await.is_ok()
    }

    /// A put's answer as etcd 3.4.23 sends it.
    const PUT_OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
        Content-Length: 27\r\n\r\n{\"header\":{\"revision\":\"4\"}}";

    /// Nothing listens on a port just released: connection refused, so `fail` for a write, and
    /// well within the timeout.
    #[tokio::test]
    async fn a_closed_port_is_did_not_happen_for_writes() {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let timeout = Duration::from_secs(2);
        let mut client = EtcdClient::new(vec![addr], ReadConsistency::Linearizable, timeout);
        let started = Instant::now();
        let err = client.write("k", 1).await.unwrap_err();
        assert!(
            matches!(err, ClientError::DidNotHappen(ref m) if m.contains("cannot connect")),
            "{err:?}"
        );
        let err = client.cas("k", 1, 2).await.unwrap_err();
        assert!(matches!(err, ClientError::DidNotHappen(_)), "{err:?}");
        let err = client.add("s", 1).await.unwrap_err();
        assert!(matches!(err, ClientError::DidNotHappen(_)), "{err:?}");
        assert!(started.elapsed() < timeout, "{:?}", started.elapsed());
    }

    /// A listener whose accept queue is full drops the SYN: the connect gives up at half the
    /// operation timeout, and a write is `fail` because nothing was sent.
    #[tokio::test]
    async fn a_member_not_accepting_is_did_not_happen_for_writes() {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(0).unwrap();
        let addr = listener.local_addr().unwrap();
        // Linux queues one connection beyond a backlog of 0; this one fills the queue.
        let _filler = TcpStream::connect(addr).await.unwrap();
        let timeout = Duration::from_millis(600);
        let mut client = EtcdClient::new(vec![addr], ReadConsistency::Linearizable, timeout);
        let started = Instant::now();
        let err = client.write("k", 1).await.unwrap_err();
        let took = started.elapsed();
        assert!(
            matches!(err, ClientError::DidNotHappen(ref m) if m.contains("no connection within 300ms")),
            "{err:?}"
        );
        assert!(took >= timeout / 2 && took < timeout, "{took:?}");
    }

    /// The member takes the request and resets the connection without answering: the write may
    /// have happened, the read did not; the next operation connects anew.
    #[tokio::test]
    async fn a_connection_reset_mid_request_may_have_happened() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let mut accepted = 0;
            while accepted < 3 {
                let (mut stream, _) = listener.accept().await.unwrap();
                accepted += 1;
                assert!(read_request(&mut stream).await, "a whole request arrives");
                if accepted < 3 {
                    // Linger 0: close with a RST, as a crashing member's kernel does.
                    stream.set_zero_linger().unwrap();
                    drop(stream);
                } else {
                    stream.write_all(PUT_OK).await.unwrap();
                }
            }
            accepted
        });
        let timeout = Duration::from_secs(2);
        let mut client = EtcdClient::new(vec![addr], ReadConsistency::Linearizable, timeout);
        let err = client.write("k", 1).await.unwrap_err();
        assert!(
            matches!(err, ClientError::MayHaveHappened(ref m) if m.contains(&addr.to_string())),
            "{err:?}"
        );
        let err = client.read("k").await.unwrap_err();
        assert!(matches!(err, ClientError::DidNotHappen(_)), "{err:?}");
        client.write("k", 2).await.expect("a new connection works");
        assert_eq!(server.await.unwrap(), 3, "one connection per operation");
    }

    /// The member accepts and reads but never answers: the operation timeout decides, `info`
    /// for a write and `fail` for a read, each after about the timeout.
    #[tokio::test]
    async fn a_member_that_never_answers_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let mut held = Vec::new();
            for _ in 0..2 {
                let (mut stream, _) = listener.accept().await.unwrap();
                assert!(read_request(&mut stream).await);
                held.push(stream);
            }
            held
        });
        let timeout = Duration::from_millis(400);
        let mut client = EtcdClient::new(vec![addr], ReadConsistency::Linearizable, timeout);
        let started = Instant::now();
        let err = client.write("k", 1).await.unwrap_err();
        let took = started.elapsed();
        assert_eq!(
            err,
            ClientError::MayHaveHappened(format!("timeout: {addr} did not answer within 400ms"))
        );
        assert!(took >= timeout && took < timeout * 2, "{took:?}");
        let err = client.read("k").await.unwrap_err();
        assert!(
            matches!(err, ClientError::DidNotHappen(ref m) if m.contains("timeout")),
            "{err:?}"
        );
        // The abandoned connection was not reused: the member saw two.
        assert_eq!(server.await.unwrap().len(), 2);
    }

    /// A member that closed the kept-alive connection while it was idle (a restart): noticed
    /// before sending, so the next write goes out on a new connection and succeeds, not `info`.
    #[tokio::test]
    async fn an_idle_connection_closed_by_the_member_is_replaced_before_sending() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (closed_tx, closed_rx) = tokio::sync::oneshot::channel();
        let server = tokio::spawn(async move {
            let (mut first, _) = listener.accept().await.unwrap();
            assert!(read_request(&mut first).await);
            first.write_all(PUT_OK).await.unwrap();
            drop(first);
            closed_tx.send(()).unwrap();
            let (mut second, _) = listener.accept().await.unwrap();
            assert!(read_request(&mut second).await);
            second.write_all(PUT_OK).await.unwrap();
        });
        let mut client = EtcdClient::new(
            vec![addr],
            ReadConsistency::Linearizable,
            Duration::from_secs(2),
        );
        client.write("k", 1).await.unwrap();
        closed_rx.await.unwrap();
        // The FIN travels through loopback at once, but give the kernel a moment.
        tokio::time::sleep(Duration::from_millis(20)).await;
        client
            .write("k", 2)
            .await
            .expect("sent on a new connection");
        server.await.unwrap();
    }
}
