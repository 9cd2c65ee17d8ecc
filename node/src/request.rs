//! Client requests as they arrive on the wire: RESP2 arrays of bulk strings, or inline commands.
//!
//! The parser is our own rather than `redis-protocol`'s general decoder because a request has a fixed,
//! flat shape: accepting only that shape means hostile input (deeply nested arrays, huge declared
//! lengths) is refused with an error instead of recursing or allocating, and the limits are Redis's.
//!
//! Inline commands (`PING\r\n`, as typed into telnet) are split on ASCII whitespace; quoting is not
//! supported.

use bytes::{Bytes, BytesMut};

/// Most arguments one request may carry (Redis allows the same).
const MAX_ARGS: usize = 1024 * 1024;
/// Longest single argument (Redis's `proto-max-bulk-len` default).
const MAX_BULK_LEN: usize = 512 * 1024 * 1024;
/// Longest header or inline line before we give up waiting for its end.
const MAX_LINE_LEN: usize = 64 * 1024;

/// Why a request could not be parsed; the connection that sent it is closed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    /// A `*` or `$` header did not hold a usable length.
    #[error("invalid {0} length")]
    InvalidLength(&'static str),
    /// An array element was not a bulk string.
    #[error("expected '$', got '{}'", char::from(*.0))]
    ExpectedBulk(u8),
    /// A bulk string was not followed by CRLF.
    #[error("bulk string not terminated by CRLF")]
    MissingCrlf,
    /// A header or inline line went on without end.
    #[error("too big request line")]
    LineTooLong,
}

/// Takes one complete request off the front of `buf`.
///
/// Returns `Ok(None)` when `buf` holds only part of a request (read more and call again), and
/// `Ok(Some(args))` with the command name first; `args` may be empty (a blank inline line or `*0`),
/// which callers skip as Redis does.
pub fn parse(buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, RequestError> {
    match buf.first() {
        None => Ok(None),
        Some(b'*') => parse_array(buf),
        Some(_) => parse_inline(buf),
    }
}

fn parse_array(buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, RequestError> {
    let Some((count, mut pos)) = header(buf, 0, "multibulk")? else {
        return Ok(None);
    };
    // A null or negative array is an empty request, as in Redis.
    let count = usize::try_from(count.max(0)).unwrap_or(0);
    if count > MAX_ARGS {
        return Err(RequestError::InvalidLength("multibulk"));
    }
    // Ranges first, bytes later: nothing is consumed until the whole request is here.
    let mut ranges = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        match buf.get(pos) {
            None => return Ok(None),
            Some(b'$') => {}
            Some(&other) => return Err(RequestError::ExpectedBulk(other)),
        }
        let Some((len, start)) = header(buf, pos, "bulk")? else {
            return Ok(None);
        };
        let len = usize::try_from(len)
            .ok()
            .filter(|&len| len <= MAX_BULK_LEN)
            .ok_or(RequestError::InvalidLength("bulk"))?;
        let end = start + len;
        if buf.len() < end + 2 {
            return Ok(None);
        }
        if &buf[end..end + 2] != b"\r\n" {
            return Err(RequestError::MissingCrlf);
        }
        ranges.push(start..end);
        pos = end + 2;
    }
    let frame = buf.split_to(pos).freeze();
    Ok(Some(ranges.into_iter().map(|r| frame.slice(r)).collect()))
}

/// Reads a `*N\r\n` or `$N\r\n` header at `at`: the length and the position after the CRLF.
fn header(buf: &[u8], at: usize, what: &'static str) -> Result<Option<(i64, usize)>, RequestError> {
    let rest = &buf[at + 1..];
    let Some(cr) = rest.iter().position(|&b| b == b'\r') else {
        return if rest.len() > MAX_LINE_LEN {
            Err(RequestError::LineTooLong)
        } else {
            Ok(None)
        };
    };
    match rest.get(cr + 1) {
        None => return Ok(None),
        Some(b'\n') => {}
        Some(_) => return Err(RequestError::InvalidLength(what)),
    }
    let len: i64 = std::str::from_utf8(&rest[..cr])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(RequestError::InvalidLength(what))?;
    Ok(Some((len, at + 1 + cr + 2)))
}

fn parse_inline(buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, RequestError> {
    let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
        return if buf.len() > MAX_LINE_LEN {
            Err(RequestError::LineTooLong)
        } else {
            Ok(None)
        };
    };
    let line = buf.split_to(nl + 1).freeze();
    let mut args = Vec::new();
    let mut i = 0;
    while i < line.len() {
        if line[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < line.len() && !line[i].is_ascii_whitespace() {
            i += 1;
        }
        args.push(line.slice(start..i));
    }
    Ok(Some(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Bytes>>, RequestError> {
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(args) = parse(&mut buf)? {
            out.push(args);
        }
        Ok(out)
    }

    #[test]
    fn pipelined_arrays_and_inline() {
        let got =
            parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING  hi\r\n*1\r\n$4\r\nPING\r\n").unwrap();
        assert_eq!(
            got,
            vec![vec!["GET", "k"], vec!["PING", "hi"], vec!["PING"]]
        );
    }

    #[test]
    fn partial_request_waits_without_consuming() {
        let whole = b"*2\r\n$3\r\nSET\r\n$5\r\nhello\r\n";
        for cut in 0..whole.len() {
            let mut buf = BytesMut::from(&whole[..cut]);
            assert_eq!(parse(&mut buf), Ok(None), "cut at {cut}");
            assert_eq!(buf.len(), cut);
        }
    }

    #[test]
    fn binary_values_keep_their_bytes() {
        let got = parse_all(b"*1\r\n$4\r\n\r\n\0\xff\r\n").unwrap();
        assert_eq!(got[0][0].as_ref(), b"\r\n\0\xff");
    }

    #[test]
    fn malformed_requests_are_errors() {
        assert_eq!(
            parse_all(b"*1\r\n:1\r\n"),
            Err(RequestError::ExpectedBulk(b':'))
        );
        assert_eq!(
            parse_all(b"*x\r\n"),
            Err(RequestError::InvalidLength("multibulk"))
        );
        assert_eq!(
            parse_all(b"*1\r\n$1\r\nab\r\n"),
            Err(RequestError::MissingCrlf)
        );
        assert_eq!(
            parse_all(b"*99999999999\r\n"),
            Err(RequestError::InvalidLength("multibulk"))
        );
        assert_eq!(
            parse_all(&[b'*'; MAX_LINE_LEN + 2]),
            Err(RequestError::LineTooLong)
        );
    }

    #[test]
    fn empty_requests_parse_as_no_arguments() {
        assert_eq!(
            parse_all(b"*0\r\n\r\n").unwrap(),
            vec![Vec::<Bytes>::new(), vec![]]
        );
    }
}
