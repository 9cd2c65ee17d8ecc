//! The JSON shapes of the etcd v3 API calls faultline makes, as etcd 3.4.23's gateway speaks them.
//!
//! Checked against a real member (curl on loopback), not a specification: `bytes` fields are
//! base64 text, 64-bit integers are JSON strings, fields are named as in etcd's `rpc.proto` (so the
//! header is snake_case, the status camelCase, a member's id `ID`), and a field at its zero value
//! is left out — no `kvs` for an empty range, no `succeeded` for a failed compare, no `leader`
//! while there is none, no `name` for a member that never started.

use super::base64;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// `POST /v3/kv/range`: one key, or the keys in `[key, range_end)`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RangeRequest {
    /// The key, base64.
    pub key: String,
    /// The end of the range, base64; none for a single key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range_end: Option<String>,
    /// Answer from the member's own state instead of through a Raft read index.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub serializable: bool,
    /// Keys without values.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub keys_only: bool,
}

impl RangeRequest {
    /// A read of `key` alone.
    pub(crate) fn key(key: &[u8], serializable: bool) -> RangeRequest {
        RangeRequest {
            key: base64::encode(key),
            range_end: None,
            serializable,
            keys_only: false,
        }
    }

    /// The keys starting with `prefix`, without their values.
    pub(crate) fn prefix_keys(prefix: &[u8], serializable: bool) -> RangeRequest {
        RangeRequest {
            key: base64::encode(prefix),
            range_end: Some(base64::encode(&prefix_end(prefix))),
            serializable,
            keys_only: true,
        }
    }
}

/// The first key after every key starting with `prefix`: the prefix with its last byte below
/// 0xff incremented and what follows dropped; `"\0"` (etcd's "to the end") when there is none.
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    match prefix.iter().rposition(|&b| b < 0xff) {
        Some(i) => {
            let mut end = prefix[..=i].to_vec();
            end[i] += 1;
            end
        }
        None => vec![0],
    }
}

/// `POST /v3/kv/deleterange`: the keys in `[key, range_end)`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DeleteRangeRequest {
    /// The first key, base64.
    pub key: String,
    /// The end of the range, base64.
    pub range_end: String,
}

impl DeleteRangeRequest {
    /// A delete of every key starting with `prefix`.
    pub(crate) fn prefix(prefix: &[u8]) -> DeleteRangeRequest {
        DeleteRangeRequest {
            key: base64::encode(prefix),
            range_end: base64::encode(&prefix_end(prefix)),
        }
    }
}

/// A delete's answer: how many keys went.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct DeleteRangeResponse {
    /// The number of keys deleted; absent when none was.
    #[serde(default, deserialize_with = "int64_text")]
    pub deleted: u64,
}

/// A range's answer.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct RangeResponse {
    /// The keys found, in key order.
    #[serde(default)]
    pub kvs: Vec<KeyValue>,
}

/// One key and its value.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct KeyValue {
    /// The key.
    #[serde(deserialize_with = "base64_bytes")]
    pub key: Vec<u8>,
    /// The value; empty with `keys_only`.
    #[serde(default, deserialize_with = "base64_bytes")]
    pub value: Vec<u8>,
}

/// `POST /v3/kv/put`; also a transaction's `request_put`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PutRequest {
    /// The key, base64.
    pub key: String,
    /// The value, base64.
    pub value: String,
}

impl PutRequest {
    /// A put of `value` at `key`.
    pub(crate) fn new(key: &[u8], value: &[u8]) -> PutRequest {
        PutRequest {
            key: base64::encode(key),
            value: base64::encode(value),
        }
    }
}

/// A put's answer: only its header, which faultline does not need.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct PutResponse {}

/// `POST /v3/kv/txn` with one compare and puts on success: `if all compares hold then success`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TxnRequest {
    /// The compares, all of which must hold.
    pub compare: Vec<Compare>,
    /// What runs when they do.
    pub success: Vec<RequestOp>,
}

/// A transaction's condition: `value(key) == value`, or `key` absent.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Compare {
    /// The key, base64.
    pub key: String,
    /// What is compared: `"VALUE"`, or `"CREATE"` (the key's creation revision).
    pub target: &'static str,
    /// How: always `"EQUAL"` here.
    pub result: &'static str,
    /// The value compared with, base64 (for `"VALUE"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The creation revision compared with (for `"CREATE"`): 0 for a key that does not exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_revision: Option<String>,
}

impl Compare {
    /// Holds when `key` exists and holds `value`; a missing key fails the compare.
    pub(crate) fn value_equals(key: &[u8], value: &[u8]) -> Compare {
        Compare {
            key: base64::encode(key),
            target: "VALUE",
            result: "EQUAL",
            value: Some(base64::encode(value)),
            create_revision: None,
        }
    }

    /// Holds when `key` does not exist (etcd gives a missing key creation revision 0).
    pub(crate) fn absent(key: &[u8]) -> Compare {
        Compare {
            key: base64::encode(key),
            target: "CREATE",
            result: "EQUAL",
            value: None,
            create_revision: Some("0".into()),
        }
    }
}

/// One operation of a transaction branch.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RequestOp {
    /// A put.
    pub request_put: PutRequest,
}

/// A transaction's answer.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct TxnResponse {
    /// Whether the compares held (and the success branch ran).
    #[serde(default)]
    pub succeeded: bool,
}

/// `POST /v3/maintenance/status` takes an empty object; so does the member list.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Empty {}

/// Every answer's header: whom it came from.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Header {
    /// The answering member's id.
    #[serde(default, deserialize_with = "int64_text")]
    pub member_id: u64,
}

/// The maintenance status of one member.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct StatusResponse {
    /// Whom the answer came from.
    pub header: Option<Header>,
    /// The server version.
    #[serde(default)]
    pub version: String,
    /// The leader this member follows; absent (0) when it knows none.
    #[serde(default, deserialize_with = "int64_text")]
    pub leader: u64,
    /// The member's Raft log index.
    #[serde(default, rename = "raftIndex", deserialize_with = "int64_text")]
    pub raft_index: u64,
    /// The term of the last entry the member applied (etcd 3.4's meaning).
    #[serde(default, rename = "raftTerm", deserialize_with = "int64_text")]
    pub raft_term: u64,
}

/// The cluster's members as one member knows them.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct MemberListResponse {
    /// Every member, started or not.
    #[serde(default)]
    pub members: Vec<Member>,
}

/// One member of the cluster.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Member {
    /// Its id.
    #[serde(rename = "ID", deserialize_with = "int64_text")]
    pub id: u64,
    /// Its launch name; empty until it has started.
    #[serde(default)]
    pub name: String,
}

/// An error reply: the gRPC status code and message.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ErrorReply {
    /// The gRPC code (14 is Unavailable).
    #[serde(default)]
    pub code: i32,
    /// The message, `etcdserver: …` for etcd's own errors.
    #[serde(default)]
    pub message: String,
    /// The same text under another name; read when `message` is missing.
    #[serde(default)]
    pub error: String,
}

/// A `bytes` field: base64 text.
fn base64_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(d)?;
    base64::decode(&text).map_err(de::Error::custom)
}

/// A 64-bit integer field: the gateway writes them as strings; plain numbers are accepted too.
fn int64_text<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct Int64Text;
    impl Visitor<'_> for Int64Text {
        type Value = u64;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an unsigned 64-bit integer, as a string or a number")
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
            v.parse()
                .map_err(|_| E::custom(format!("{v:?} is not an unsigned 64-bit integer")))
        }
    }
    d.deserialize_any(Int64Text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers etcd 3.4.23 gave here, verbatim but for the elided parts.
    #[test]
    fn etcds_answers_parse() {
        let status: StatusResponse = serde_json::from_str(
            r#"{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709",
            "revision":"2","raft_term":"2"},"version":"3.4.23","dbSize":"20480",
            "leader":"13668033151171901709","raftIndex":"5","raftTerm":"2",
            "raftAppliedIndex":"5","dbSizeInUse":"16384"}"#,
        )
        .unwrap();
        assert_eq!(status.header.unwrap().member_id, 13668033151171901709);
        assert_eq!(status.leader, 13668033151171901709);
        assert_eq!((status.raft_index, status.raft_term), (5, 2));
        assert_eq!(status.version, "3.4.23");

        let members: MemberListResponse = serde_json::from_str(
            r#"{"header":{"cluster_id":"1","member_id":"2","raft_term":"2"},"members":[
            {"ID":"13668033151171901709","name":"t1","peerURLs":["http://127.0.0.1:23801"],
            "clientURLs":["http://127.0.0.1:23791"]},{"ID":"7","peerURLs":["http://x:1"]}]}"#,
        )
        .unwrap();
        let listed: Vec<(u64, &str)> = members
            .members
            .iter()
            .map(|m| (m.id, m.name.as_str()))
            .collect();
        assert_eq!(listed, [(13668033151171901709, "t1"), (7, "")]);

        let range: RangeResponse = serde_json::from_str(
            r#"{"header":{"revision":"2"},"kvs":[{"key":"Zm9v","create_revision":"2",
            "mod_revision":"2","version":"1","value":"MQ=="},{"key":"cy8x"}],"count":"2"}"#,
        )
        .unwrap();
        assert_eq!(range.kvs[0].key, b"foo");
        assert_eq!(range.kvs[0].value, b"1");
        assert_eq!(
            (range.kvs[1].key.as_slice(), range.kvs[1].value.len()),
            (&b"s/1"[..], 0)
        );

        let txn: TxnResponse = serde_json::from_str(
            r#"{"header":{"revision":"3"},"succeeded":true,"responses":[{"response_put":{}}]}"#,
        )
        .unwrap();
        assert!(txn.succeeded);
    }

    #[test]
    fn zero_values_are_left_out_and_read_as_zero() {
        let empty = r#"{"header":{"member_id":"1","revision":"3"}}"#;
        assert!(serde_json::from_str::<RangeResponse>(empty)
            .unwrap()
            .kvs
            .is_empty());
        assert!(
            !serde_json::from_str::<TxnResponse>(empty)
                .unwrap()
                .succeeded
        );
        assert_eq!(
            serde_json::from_str::<StatusResponse>(empty)
                .unwrap()
                .leader,
            0
        );
    }

    #[test]
    fn requests_serialize_as_the_gateway_reads_them() {
        let get = serde_json::to_string(&RangeRequest::key(b"foo", false)).unwrap();
        assert_eq!(get, r#"{"key":"Zm9v"}"#);
        let set = serde_json::to_string(&RangeRequest::prefix_keys(b"s/", true)).unwrap();
        assert_eq!(
            set,
            r#"{"key":"cy8=","range_end":"czA=","serializable":true,"keys_only":true}"#
        );
        let txn = TxnRequest {
            compare: vec![Compare::value_equals(b"foo", b"1")],
            success: vec![RequestOp {
                request_put: PutRequest::new(b"foo", b"2"),
            }],
        };
        assert_eq!(
            serde_json::to_string(&txn).unwrap(),
            r#"{"compare":[{"key":"Zm9v","target":"VALUE","result":"EQUAL","value":"MQ=="}],"success":[{"request_put":{"key":"Zm9v","value":"Mg=="}}]}"#
        );
        assert_eq!(
            serde_json::to_string(&Compare::absent(b"foo")).unwrap(),
            r#"{"key":"Zm9v","target":"CREATE","result":"EQUAL","create_revision":"0"}"#
        );
    }

    #[test]
    fn a_prefix_ends_at_its_last_byte_plus_one() {
        assert_eq!(prefix_end(b"s/"), b"s0");
        assert_eq!(prefix_end(b"a\xff\xff"), b"b");
        assert_eq!(prefix_end(b"\xff"), b"\0");
    }

    #[test]
    fn malformed_integers_and_bytes_are_errors_naming_the_value() {
        let e = serde_json::from_str::<StatusResponse>(r#"{"leader":"x1"}"#).unwrap_err();
        assert!(e.to_string().contains("x1"), "{e}");
        let e = serde_json::from_str::<RangeResponse>(r#"{"kvs":[{"key":"!!"}]}"#).unwrap_err();
        assert!(e.to_string().contains("!!"), "{e}");
    }
}
