//! One connection to an etcd member's gRPC-JSON gateway, on its client port.
//!
//! etcd (3.4 here) serves its v3 API as JSON over HTTP/1.1 next to gRPC: `POST /v3/kv/range` with
//! a JSON request answers 200 and the JSON response, or an error status with `{"error", "code",
//! "message"}` carrying the gRPC status. Talking JSON instead of gRPC leaves protoc, prost and
//! tonic out of the build: the README's first command must build with nothing but Rust.
//!
//! A [`GatewayError`] says how far a call got, which is what the failure classes need: never
//! connected, answered by etcd with an error, or broken somewhere in between.

use super::api::ErrorReply;
use super::http::HttpConnection;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::net::SocketAddr;
use std::time::Duration;

/// Large enough for a range over a whole set: a long set workload can hold hundreds of thousands
/// of elements. etcd's gateway itself has no smaller limit (a 7 MB range came through here).
pub(crate) const MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;

/// How a gateway call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GatewayError {
    /// No connection could be made: nothing was sent.
    NotConnected(String),
    /// etcd answered with an error status.
    Etcd {
        /// The gRPC status code.
        code: i32,
        /// etcd's message.
        message: String,
    },
    /// The exchange failed after connecting (reset, closed, malformed or oversized answer): the
    /// request may have arrived.
    Broken(String),
}

impl std::fmt::Display for GatewayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GatewayError::NotConnected(m) => write!(f, "cannot connect: {m}"),
            GatewayError::Etcd { code, message } => write!(f, "{}: {message}", code_name(*code)),
            GatewayError::Broken(m) => f.write_str(m),
        }
    }
}

/// The gRPC status codes etcd's errors carry, by name.
pub(crate) mod code {
    /// The request is malformed (etcd: empty key, too large, too many operations).
    pub const INVALID_ARGUMENT: i32 = 3;
    /// A named thing does not exist (etcd: member, lease, user, role).
    pub const NOT_FOUND: i32 = 5;
    /// It exists already (etcd: member, user, role).
    pub const ALREADY_EXISTS: i32 = 6;
    /// Not allowed for this user.
    pub const PERMISSION_DENIED: i32 = 7;
    /// A limit was hit (etcd: too many requests, space quota).
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    /// The system is not in a state for it (etcd: a compacted or future revision).
    pub const FAILED_PRECONDITION: i32 = 9;
    /// Out of range (etcd: a future revision).
    pub const OUT_OF_RANGE: i32 = 11;
    /// No valid credentials.
    pub const UNAUTHENTICATED: i32 = 16;
}

/// A gRPC status code's name, as tonic and grpc-go print it.
pub(crate) fn code_name(code: i32) -> String {
    let name = match code {
        0 => "Ok",
        1 => "Cancelled",
        2 => "Unknown",
        3 => "InvalidArgument",
        4 => "DeadlineExceeded",
        5 => "NotFound",
        6 => "AlreadyExists",
        7 => "PermissionDenied",
        8 => "ResourceExhausted",
        9 => "FailedPrecondition",
        10 => "Aborted",
        11 => "OutOfRange",
        12 => "Unimplemented",
        13 => "Internal",
        14 => "Unavailable",
        15 => "DataLoss",
        16 => "Unauthenticated",
        other => return format!("code {other}"),
    };
    name.to_string()
}

/// A connection to one member's gateway.
pub(crate) struct Gateway {
    http: HttpConnection,
}

impl Gateway {
    /// Connects to the member serving clients at `addr`, giving up after `timeout`.
    pub(crate) async fn connect(
        addr: SocketAddr,
        timeout: Duration,
    ) -> Result<Gateway, GatewayError> {
        HttpConnection::connect(addr, timeout)
            .await
            .map(|http| Gateway { http })
            .map_err(GatewayError::NotConnected)
    }

    /// Whether the connection can carry another call (see [`HttpConnection::is_open`]).
    pub(crate) fn is_open(&mut self) -> bool {
        self.http.is_open()
    }

    /// Calls `path` (`/v3/kv/range`, …) with `request` and reads its answer.
    pub(crate) async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &mut self,
        path: &str,
        request: &Req,
    ) -> Result<Resp, GatewayError> {
        let body = serde_json::to_vec(request).expect("the request types serialize");
        let response = self
            .http
            .post(path, &body, MAX_RESPONSE_BYTES)
            .await
            .map_err(GatewayError::Broken)?;
        if response.status == 200 {
            return serde_json::from_slice(&response.body).map_err(|e| {
                GatewayError::Broken(format!(
                    "unreadable answer to {path}: {e}: {}",
                    excerpt(&response.body)
                ))
            });
        }
        match serde_json::from_slice::<ErrorReply>(&response.body) {
            Ok(reply) if reply.code != 0 => Err(GatewayError::Etcd {
                code: reply.code,
                message: if reply.message.is_empty() {
                    reply.error
                } else {
                    reply.message
                },
            }),
            // Not the gateway's error shape (a proxy, a wrong path): nothing says what ran.
            _ => Err(GatewayError::Broken(format!(
                "HTTP status {} from {path}: {}",
                response.status,
                excerpt(&response.body)
            ))),
        }
    }
}

/// The start of a body, for error messages.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    if body.len() > 200 {
        format!("{text}…")
    } else {
        text.into_owned()
    }
}
