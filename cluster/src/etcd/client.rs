//! An etcd client for the register and set workloads, with failures sorted by what they mean.
//!
//! Registers are plain keys holding decimal integers; compare-and-set is one transaction
//! (`if value(key) == expected then put(key, new)`), so etcd evaluates the compare and applies the
//! put atomically in the Raft log. A set is a key prefix: every element is its own key
//! `"{set}/{element}"`, so concurrent adds never contend on one key and a read is one range.
//!
//! Failure classes, by what they mean for the history:
//! - a read that fails is always `fail` ([`ClientError::DidNotHappen`]): it changed nothing;
//! - a write, cas or add fails with `fail` only when the request certainly never took effect: no
//!   connection could be made (tonic reports a `ConnectError`, so nothing was sent), or etcd
//!   replied with one of its validation errors, which it raises before proposing anything;
//! - everything else — our timeout, `Unavailable` from a member that may have proposed the entry
//!   ("request timed out", "leader changed", "server stopped"), a connection reset after sending —
//!   is `info` ([`ClientError::MayHaveHappened`]): a proposal forwarded to the leader may still
//!   commit after the member gave up waiting for it.
//!
//! After any failure that is not an etcd reply the connection is dropped and the next operation
//! builds a new one, so a wedged HTTP/2 connection cannot stall every later operation.

use etcd_client::{Client, Compare, CompareOp, ConnectOptions, GetOptions, KvClient, Txn, TxnOp};
use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use workloads::{ClientError, RegisterClient, SetClient};

/// Large enough for a range over a whole set: tonic's default limit (4 MiB) is about a hundred
/// thousand elements, which a long set workload can exceed.
const MAX_DECODING_MESSAGE_SIZE: usize = 256 * 1024 * 1024;

/// How reads are served: through Raft (the default) or from the member's local state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadConsistency {
    /// The member confirms with a quorum that it is up to date before answering (etcd's default).
    #[default]
    Linearizable,
    /// The member answers from its own state, which may be stale (a minority member, a lagging
    /// follower); Jepsen found stale reads this way.
    Serializable,
}

impl ReadConsistency {
    /// The option's spelling on the command line and in results.
    pub fn as_str(self) -> &'static str {
        match self {
            ReadConsistency::Linearizable => "linearizable",
            ReadConsistency::Serializable => "serializable",
        }
    }
}

impl std::fmt::Display for ReadConsistency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ReadConsistency {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "linearizable" => Ok(ReadConsistency::Linearizable),
            "serializable" => Ok(ReadConsistency::Serializable),
            other => Err(format!(
                "unknown read consistency {other:?}: expected linearizable or serializable"
            )),
        }
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

    /// Whether the connection is still known to be good: only an etcd reply proves it.
    fn keeps_connection(&self) -> bool {
        matches!(self, Failure::Rejected(_))
    }
}

/// One worker's client of an etcd cluster: registers and sets over the KV API.
pub struct EtcdClient {
    endpoints: Vec<SocketAddr>,
    read_consistency: ReadConsistency,
    timeout: Duration,
    client: Option<Client>,
}

impl EtcdClient {
    /// A client of the members at `endpoints` (their client addresses); nothing is connected yet.
    ///
    /// With one endpoint every operation goes to that member, which is what a test of one
    /// member's view needs; with several, etcd-client balances requests between them. `timeout`
    /// bounds every operation, connecting included.
    pub fn new(
        endpoints: Vec<SocketAddr>,
        read_consistency: ReadConsistency,
        timeout: Duration,
    ) -> EtcdClient {
        EtcdClient {
            endpoints,
            read_consistency,
            timeout,
            client: None,
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

    /// The endpoints as error messages name them.
    fn target(&self) -> String {
        match self.endpoints.as_slice() {
            [one] => one.to_string(),
            many => format!("{many:?}"),
        }
    }

    /// The KV client, building the connection if there is none.
    async fn kv(&mut self) -> Result<KvClient, Failure> {
        if self.client.is_none() {
            let client = connect(&self.endpoints, self.timeout).await.map_err(|e| {
                Failure::NotSent(format!("cannot connect to {}: {e}", self.target()))
            })?;
            self.client = Some(client);
        }
        let client = self.client.as_ref().expect("connected above");
        Ok(client
            .kv_client()
            .max_decoding_message_size(MAX_DECODING_MESSAGE_SIZE))
    }

    /// Runs `op` under the per-operation timeout, dropping the connection unless etcd answered.
    async fn call<T, Fut>(&mut self, op: impl FnOnce(KvClient) -> Fut) -> Result<T, Failure>
    where
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        let target = self.target();
        let timeout = self.timeout;
        let outcome = tokio::time::timeout(timeout, async {
            let kv = self.kv().await?;
            op(kv).await.map_err(|e| classify(&e, &target))
        })
        .await;
        let result = outcome.unwrap_or_else(|_| {
            Err(Failure::Unknown(format!(
                "timeout: {target} did not answer within {timeout:?}"
            )))
        });
        if let Err(failure) = &result {
            if !failure.keeps_connection() {
                self.client = None;
            }
        }
        result
    }

    /// Get options for this client's read consistency.
    fn get_options(&self) -> GetOptions {
        match self.read_consistency {
            ReadConsistency::Linearizable => GetOptions::new(),
            ReadConsistency::Serializable => GetOptions::new().with_serializable(),
        }
    }
}

/// A client for `endpoints` whose connection attempts give up before the operation does.
///
/// etcd-client connects lazily, on the first request; half the operation timeout for the connect
/// means a member that does not accept connections surfaces as a connect error (`fail`) rather
/// than as our operation timeout (`info`).
pub(crate) async fn connect(endpoints: &[SocketAddr], timeout: Duration) -> Result<Client, String> {
    let urls: Vec<String> = endpoints.iter().map(|a| format!("http://{a}")).collect();
    let options = ConnectOptions::new().with_connect_timeout(timeout / 2);
    Client::connect(urls, Some(options))
        .await
        .map_err(|e| describe(&e))
}

/// Sorts an etcd-client error into a [`Failure`]; `target` names the members in the message.
pub(crate) fn classify(e: &etcd_client::Error, target: &str) -> Failure {
    use etcd_client::Error as E;
    match e {
        E::GRpcStatus(status) => {
            if chain_has_connect_error(status) {
                Failure::NotSent(format!("cannot connect to {target}: {}", describe(e)))
            } else if is_rejection(status) {
                Failure::Rejected(format!("{target} refused: {}", status.message()))
            } else {
                Failure::Unknown(format!("{target}: {}", describe(e)))
            }
        }
        E::TransportError(t) if chain_has_connect_error(t) => {
            Failure::NotSent(format!("cannot connect to {target}: {}", describe(e)))
        }
        // Raised while building the request, before anything is sent.
        E::InvalidArgs(_) | E::InvalidUri(_) | E::InvalidMetadataValue(_) => {
            Failure::NotSent(format!("{target}: {}", describe(e)))
        }
        _ => Failure::Unknown(format!("{target}: {}", describe(e))),
    }
}

/// Whether etcd itself refused the request before proposing it.
///
/// etcd's validation errors (empty key, too many operations in a transaction, request too large,
/// too many requests in flight, space quota, authentication) carry these codes and a message
/// starting `etcdserver: `; the transport never produces that prefix, and the Raft outcomes
/// that leave a proposal in doubt ("request timed out", "leader changed", "server stopped",
/// "no leader") are all `Unavailable`, which is not in this list.
fn is_rejection(status: &tonic::Status) -> bool {
    use tonic::Code;
    matches!(
        status.code(),
        Code::InvalidArgument
            | Code::OutOfRange
            | Code::FailedPrecondition
            | Code::PermissionDenied
            | Code::Unauthenticated
            | Code::ResourceExhausted
            | Code::NotFound
            | Code::AlreadyExists
    ) && status.message().starts_with("etcdserver: ")
}

/// Whether tonic's `ConnectError` is in `e`'s source chain: the connection was never made.
fn chain_has_connect_error(e: &(dyn StdError + 'static)) -> bool {
    let mut current = Some(e);
    while let Some(err) = current {
        if err.is::<tonic::ConnectError>() {
            return true;
        }
        current = err.source();
    }
    false
}

/// An etcd-client error with its causes, which carry the useful part ("Connection refused").
///
/// A gRPC status is rendered as its code, message and causes' messages, not with its `Display`,
/// which embeds the causes' `Debug` forms and would make every history line a wall of text.
pub(crate) fn describe(e: &etcd_client::Error) -> String {
    use etcd_client::Error as E;
    let (mut text, mut current): (String, Option<&(dyn StdError + 'static)>) = match e {
        E::GRpcStatus(s) => (format!("{:?}: {}", s.code(), s.message()), s.source()),
        E::TransportError(t) => (e.to_string(), t.source()),
        E::IoError(io) => (e.to_string(), io.source()),
        _ => (e.to_string(), None),
    };
    while let Some(err) = current {
        let part = err.to_string();
        // Wrappers often repeat their cause's text; say each thing once.
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        current = err.source();
    }
    text
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

impl RegisterClient for EtcdClient {
    async fn read(&mut self, key: &str) -> Result<Option<i64>, ClientError> {
        let options = self.get_options();
        let owned = key.to_string();
        let resp = self
            .call(move |mut kv| async move { kv.get(owned, Some(options)).await })
            .await
            .map_err(Failure::for_read)?;
        match resp.kvs().first() {
            None => Ok(None),
            Some(kv) => parse_value(key, kv.value())
                .map(Some)
                .map_err(Failure::for_read),
        }
    }

    async fn write(&mut self, key: &str, value: i64) -> Result<(), ClientError> {
        let owned = key.to_string();
        self.call(move |mut kv| async move { kv.put(owned, value.to_string(), None).await })
            .await
            .map_err(Failure::for_write)?;
        Ok(())
    }

    async fn cas(&mut self, key: &str, expected: i64, new: i64) -> Result<bool, ClientError> {
        // A missing key fails the compare, as a register holding nothing is not `expected`.
        let txn = Txn::new()
            .when([Compare::value(key, CompareOp::Equal, expected.to_string())])
            .and_then([TxnOp::put(key, new.to_string(), None)]);
        let resp = self
            .call(move |mut kv| async move { kv.txn(txn).await })
            .await
            .map_err(Failure::for_write)?;
        Ok(resp.succeeded())
    }
}

impl SetClient for EtcdClient {
    async fn add(&mut self, key: &str, element: i64) -> Result<(), ClientError> {
        let element_key = element_key(key, element);
        self.call(
            move |mut kv| async move { kv.put(element_key, element.to_string(), None).await },
        )
        .await
        .map_err(Failure::for_write)?;
        Ok(())
    }

    async fn read_set(&mut self, key: &str) -> Result<Vec<i64>, ClientError> {
        let prefix = format!("{key}/");
        let options = self.get_options().with_prefix().with_keys_only();
        let owned = prefix.clone();
        let resp = self
            .call(move |mut kv| async move { kv.get(owned, Some(options)).await })
            .await
            .map_err(Failure::for_read)?;
        let mut elements = resp
            .kvs()
            .iter()
            .map(|kv| {
                std::str::from_utf8(kv.key())
                    .ok()
                    .and_then(|k| k.strip_prefix(&prefix))
                    .and_then(|e| e.parse::<i64>().ok())
                    .ok_or_else(|| {
                        ClientError::DidNotHappen(format!(
                            "set {key} has key {:?}, not {prefix}<integer>",
                            String::from_utf8_lossy(kv.key())
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
    use std::io;

    fn status_error(code: tonic::Code, message: &str) -> etcd_client::Error {
        etcd_client::Error::GRpcStatus(tonic::Status::new(code, message))
    }

    #[test]
    fn etcd_validation_errors_are_rejections() {
        for (code, msg) in [
            (
                tonic::Code::InvalidArgument,
                "etcdserver: key is not provided",
            ),
            (
                tonic::Code::InvalidArgument,
                "etcdserver: request is too large",
            ),
            (
                tonic::Code::ResourceExhausted,
                "etcdserver: too many requests",
            ),
        ] {
            let f = classify(&status_error(code, msg), "n1");
            assert!(
                matches!(f, Failure::Rejected(ref m) if m.contains(msg)),
                "{f:?}"
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
            let f = classify(&status_error(tonic::Code::Unavailable, msg), "n1");
            assert!(matches!(f, Failure::Unknown(_)), "{msg}: {f:?}");
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
        // h2's ENHANCE_YOUR_CALM maps to ResourceExhausted, but the server may have run the call.
        let f = classify(
            &status_error(tonic::Code::ResourceExhausted, "h2 protocol error"),
            "n1",
        );
        assert!(matches!(f, Failure::Unknown(_)), "{f:?}");
    }

    #[test]
    fn a_connect_error_in_the_chain_means_not_sent() {
        let refused = io::Error::new(io::ErrorKind::ConnectionRefused, "Connection refused");
        let status = tonic::Status::from_error(Box::new(tonic::ConnectError(Box::new(refused))));
        assert_eq!(status.code(), tonic::Code::Unavailable);
        let e = etcd_client::Error::GRpcStatus(status);
        let f = classify(&e, "127.0.0.1:1");
        assert_eq!(
            f,
            Failure::NotSent(
                "cannot connect to 127.0.0.1:1: Unavailable: Connection refused".to_string()
            )
        );
        assert!(matches!(f.for_write(), ClientError::DidNotHappen(_)));
    }

    #[test]
    fn a_reset_connection_may_have_happened() {
        let reset = io::Error::new(io::ErrorKind::ConnectionReset, "Connection reset by peer");
        let status = tonic::Status::from_error(Box::new(reset));
        let f = classify(&etcd_client::Error::GRpcStatus(status), "n1");
        assert!(matches!(f, Failure::Unknown(_)), "{f:?}");
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
        for rc in [ReadConsistency::Linearizable, ReadConsistency::Serializable] {
            assert_eq!(rc.as_str().parse::<ReadConsistency>(), Ok(rc));
        }
        assert_eq!(ReadConsistency::default(), ReadConsistency::Linearizable);
        assert!("strong".parse::<ReadConsistency>().is_err());
    }

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
        let started = std::time::Instant::now();
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
}
