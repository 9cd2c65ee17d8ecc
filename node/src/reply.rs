//! Replies: RESP2 frames (`redis-protocol`'s) and small constructors that keep them well-formed.

use bytes::{Bytes, BytesMut};
use redis_protocol::bytes_utils::Str;
use redis_protocol::resp2::encode::extend_encode;
pub use redis_protocol::resp2::types::BytesFrame as Reply;

/// `+OK`.
pub fn ok() -> Reply {
    Reply::SimpleString(Bytes::from_static(b"OK"))
}

/// A simple string; `text` must not hold CR or LF (callers pass constants).
pub fn simple(text: &'static str) -> Reply {
    Reply::SimpleString(Bytes::from_static(text.as_bytes()))
}

/// A bulk string.
pub fn bulk(data: impl Into<Bytes>) -> Reply {
    Reply::BulkString(data.into())
}

/// An error reply; `text` starts with its code (`ERR`, `READONLY`, ...).
pub fn error(text: impl ToString) -> Reply {
    // Errors may quote client input, and a CR or LF inside would end the frame early.
    let text = text.to_string().replace(['\r', '\n'], " ");
    Reply::Error(Str::from(text))
}

/// An array of bulk strings.
pub fn bulks<I, B>(items: I) -> Reply
where
    I: IntoIterator<Item = B>,
    B: Into<Bytes>,
{
    Reply::Array(items.into_iter().map(bulk).collect())
}

/// An integer reply from a count.
pub fn count(n: usize) -> Reply {
    Reply::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Appends `reply` to `out` in RESP2.
pub fn encode(reply: &Reply, out: &mut BytesMut) {
    // Encoding into a growable buffer only fails on frames we never build (see the constructors);
    // should it happen, the client still gets exactly one reply, so the connection stays in step.
    let before = out.len();
    if let Err(e) = extend_encode(out, reply, false) {
        tracing::error!("cannot encode reply {reply:?}: {e}");
        out.truncate(before);
        out.extend_from_slice(b"-ERR internal error encoding the reply\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(reply: Reply) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode(&reply, &mut out);
        out.to_vec()
    }

    #[test]
    fn frames_encode_as_resp2() {
        assert_eq!(wire(ok()), b"+OK\r\n");
        assert_eq!(wire(Reply::Null), b"$-1\r\n");
        assert_eq!(
            wire(bulks(["a", "bc"])),
            b"*2\r\n$1\r\na\r\n$2\r\nbc\r\n".to_vec()
        );
    }

    #[test]
    fn errors_cannot_break_the_frame() {
        assert_eq!(wire(error("ERR a\r\nb")), b"-ERR a  b\r\n");
    }
}
