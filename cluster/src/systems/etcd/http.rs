//! A minimal HTTP/1.1 client connection: POST a body, read one response, keep the connection.
//!
//! Just what etcd's gRPC-JSON gateway needs, and no more: one request at a time on a kept-alive
//! connection; responses framed by `Content-Length` (small ones) or `Transfer-Encoding: chunked`
//! (Go's server switches to it past about 2 KiB, and for every error reply, whose trailer it
//! sends); a body read to the end of the connection when neither is given. A hand-written client
//! instead of hyper: a few hundred lines against a whole HTTP stack to compile on two cores, and
//! every failure is visible here, which the failure classification depends on.
//!
//! Errors split by phase: [`HttpConnection::connect`] failing means nothing was sent;
//! [`HttpConnection::post`] failing means the request may have arrived.

use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The most a response's status line and headers (or a chunk's size line, or its trailer) may take.
const MAX_HEAD: u64 = 64 * 1024;

/// One response: its status code and whole body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

/// How a response's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked,
    UntilClose,
}

/// A kept-alive HTTP/1.1 connection to one server.
pub(crate) struct HttpConnection {
    addr: SocketAddr,
    stream: BufReader<TcpStream>,
    /// Whether the last exchange completed and the server kept the connection open. Cleared when
    /// an exchange starts, so an exchange abandoned halfway (a timeout) leaves it false.
    reusable: bool,
}

impl HttpConnection {
    /// Connects to `addr` within `timeout`; an error here means no request was sent.
    pub(crate) async fn connect(
        addr: SocketAddr,
        timeout: Duration,
    ) -> Result<HttpConnection, String> {
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err(format!("no connection within {timeout:?}")),
        };
        // Requests are small and written whole: do not hold them back waiting for an ACK.
        stream
            .set_nodelay(true)
            .map_err(|e| format!("TCP_NODELAY: {e}"))?;
        Ok(HttpConnection {
            addr,
            stream: BufReader::new(stream),
            reusable: true,
        })
    }

    /// Whether another request may be sent: the last exchange completed, the server did not ask to
    /// close, and it has not closed (or reset) the connection since.
    ///
    /// The last check peeks at the socket without blocking, so a member killed or restarted
    /// between two operations costs a new connection, not an operation in doubt. The peek goes
    /// through a duplicate of the descriptor: tokio's own read would first consult its readiness
    /// cache, which after a short read says "nothing to read" until its reactor next looks, and
    /// so may not see a close that already happened.
    pub(crate) fn is_open(&mut self) -> bool {
        if !self.reusable || !self.stream.buffer().is_empty() {
            return false;
        }
        let probe = match self.stream.get_ref().as_fd().try_clone_to_owned() {
            Ok(fd) => std::net::TcpStream::from(fd),
            Err(_) => return false,
        };
        // Already so (tokio's sockets are, and the flag is shared with the duplicate); a peek
        // that blocked would hang the caller on an idle connection.
        if probe.set_nonblocking(true).is_err() {
            return false;
        }
        match probe.peek(&mut [0u8; 1]) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
            // End of stream, a reset, or bytes nobody asked for: the connection is unusable.
            _ => {
                self.reusable = false;
                false
            }
        }
    }

    /// Sends `body` to `path` as a JSON POST and reads the whole response; a body longer than
    /// `max_body` is an error. Any error means the request may have reached the server.
    pub(crate) async fn post(
        &mut self,
        path: &str,
        body: &[u8],
        max_body: u64,
    ) -> Result<Response, String> {
        self.reusable = false;
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        let mut request = Vec::with_capacity(head.len() + body.len());
        request.extend_from_slice(head.as_bytes());
        request.extend_from_slice(body);
        self.stream
            .get_mut()
            .write_all(&request)
            .await
            .map_err(|e| format!("sending the request: {e}"))?;
        let (response, keep_alive) = read_response(&mut self.stream, max_body).await?;
        self.reusable = keep_alive;
        Ok(response)
    }
}

/// Reads one response from `reader`: the response and whether the connection may be reused.
async fn read_response<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    max_body: u64,
) -> Result<(Response, bool), String> {
    let status_line = read_line(reader, "status line").await?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status = parts
        .next()
        .and_then(|code| code.parse::<u16>().ok())
        .filter(|_| version.starts_with("HTTP/1."))
        .ok_or_else(|| format!("not an HTTP/1.x status line: {status_line:?}"))?;
    if (100..200).contains(&status) {
        return Err(format!("unexpected informational response {status_line:?}"));
    }
    // HTTP/1.1 keeps a connection unless told otherwise; 1.0 closes it unless told otherwise.
    let mut keep_alive = version == "HTTP/1.1";
    let mut framing = Framing::UntilClose;
    let mut head_bytes = status_line.len() as u64;
    loop {
        let line = read_line(reader, "header").await?;
        if line.is_empty() {
            break;
        }
        head_bytes += line.len() as u64;
        if head_bytes > MAX_HEAD {
            return Err(format!("response headers longer than {MAX_HEAD} bytes"));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("malformed header line {line:?}"))?;
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" if framing != Framing::Chunked => {
                let n = value
                    .parse()
                    .map_err(|_| format!("malformed Content-Length {value:?}"))?;
                framing = Framing::Length(n);
            }
            // Chunked wins over a length, as RFC 9112 §6.3 says.
            "transfer-encoding" if value.to_ascii_lowercase().contains("chunked") => {
                framing = Framing::Chunked;
            }
            "connection" => {
                let value = value.to_ascii_lowercase();
                if value.contains("close") {
                    keep_alive = false;
                } else if value.contains("keep-alive") {
                    keep_alive = true;
                }
            }
            _ => {}
        }
    }
    let too_long = |n: u64| format!("response body over {n} bytes, the limit is {max_body}");
    let body = match framing {
        Framing::Length(n) => {
            if n > max_body {
                return Err(too_long(n));
            }
            let mut body = vec![0; n as usize];
            reader
                .read_exact(&mut body)
                .await
                .map_err(|e| format!("reading a {n}-byte body: {e}"))?;
            body
        }
        Framing::Chunked => read_chunked(reader, max_body).await?,
        Framing::UntilClose => {
            keep_alive = false;
            let mut body = Vec::new();
            reader
                .take(max_body + 1)
                .read_to_end(&mut body)
                .await
                .map_err(|e| format!("reading the body: {e}"))?;
            if body.len() as u64 > max_body {
                return Err(too_long(max_body));
            }
            body
        }
    };
    Ok((Response { status, body }, keep_alive))
}

/// A chunked body, de-chunked; the trailer (etcd sends `Grpc-Trailer-Content-Type`) is skipped.
async fn read_chunked<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    max_body: u64,
) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader, "chunk size").await?;
        let hex = line.split(';').next().unwrap_or_default().trim();
        let size = u64::from_str_radix(hex, 16)
            .map_err(|_| format!("malformed chunk size line {line:?}"))?;
        if size == 0 {
            break;
        }
        let total = body.len() as u64 + size;
        if total > max_body {
            return Err(format!(
                "response body over {total} bytes, the limit is {max_body}"
            ));
        }
        let start = body.len();
        body.resize(start + size as usize, 0);
        reader
            .read_exact(&mut body[start..])
            .await
            .map_err(|e| format!("reading a {size}-byte chunk: {e}"))?;
        let end = read_line(reader, "chunk end").await?;
        if !end.is_empty() {
            return Err(format!("chunk not followed by CRLF but {end:?}"));
        }
    }
    let mut trailer_bytes = 0;
    loop {
        let line = read_line(reader, "trailer").await?;
        if line.is_empty() {
            return Ok(body);
        }
        trailer_bytes += line.len() as u64;
        if trailer_bytes > MAX_HEAD {
            return Err(format!("response trailer longer than {MAX_HEAD} bytes"));
        }
    }
}

/// One CRLF- (or LF-) terminated line without its terminator; `what` names it in errors.
async fn read_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    what: &str,
) -> Result<String, String> {
    let mut line = Vec::new();
    let n = (&mut *reader)
        .take(MAX_HEAD)
        .read_until(b'\n', &mut line)
        .await
        .map_err(|e| format!("reading the response's {what}: {e}"))?;
    if n == 0 {
        return Err(format!(
            "connection closed before the response's {what} (end of stream)"
        ));
    }
    if line.pop() != Some(b'\n') {
        return Err(format!(
            "response's {what} cut short or longer than {MAX_HEAD} bytes"
        ));
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| format!("response's {what} is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(raw: &[u8]) -> Result<(Response, bool), String> {
        read_response(&mut BufReader::new(raw), 1024).await
    }

    /// Both framings etcd 3.4.23 used here, byte for byte as it sent them (dates trimmed).
    #[tokio::test]
    async fn etcds_length_and_chunked_replies_are_read() {
        let small = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
            Grpc-Metadata-Content-Type: application/grpc\r\nContent-Length: 15\r\n\r\n\
            {\"header\":{}}\r\n";
        let (r, keep) = parse(small).await.unwrap();
        assert_eq!(
            (r.status, r.body.as_slice(), keep),
            (200, &b"{\"header\":{}}\r\n"[..], true)
        );

        let error = b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\
            Trailer: Grpc-Trailer-Content-Type\r\nTransfer-Encoding: chunked\r\n\r\n\
            1a\r\n{\"error\":\"etcdserver: key\"\r\n9\r\n,\"code\":3\r\n1\r\n}\r\n0\r\n\
            Grpc-Trailer-Content-Type: application/grpc\r\n\r\n";
        let (r, keep) = parse(error).await.unwrap();
        assert_eq!(r.status, 400);
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            "{\"error\":\"etcdserver: key\",\"code\":3}"
        );
        assert!(keep);
    }

    #[tokio::test]
    async fn connection_close_and_unframed_bodies_end_the_connection() {
        let raw = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}";
        assert!(!parse(raw).await.unwrap().1);
        let raw = b"HTTP/1.1 200 OK\r\n\r\n{\"a\":1}";
        let (r, keep) = parse(raw).await.unwrap();
        assert_eq!((r.body.as_slice(), keep), (&b"{\"a\":1}"[..], false));
        let raw = b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
        assert!(!parse(raw).await.unwrap().1);
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_refused_before_reading_them() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n";
        let e = parse(raw).await.unwrap_err();
        assert!(e.contains("2000") && e.contains("1024"), "{e}");
        let mut chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..3 {
            chunked.extend_from_slice(b"200\r\n");
            chunked.extend_from_slice(&[b'x'; 0x200]);
            chunked.extend_from_slice(b"\r\n");
        }
        let e = parse(&chunked).await.unwrap_err();
        assert!(e.contains("1536"), "{e}");
    }

    #[tokio::test]
    async fn truncated_or_malformed_responses_are_errors_naming_the_part() {
        for (raw, part) in [
            (&b""[..], "status line"),
            (b"HTTP/1.1 200 OK\r\nContent-Len", "header"),
            (b"SSH-2.0-OpenSSH\r\n", "status line"),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}",
                "10-byte body",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                "chunk size",
            ),
            (b"HTTP/1.1 100 Continue\r\n\r\n", "informational"),
        ] {
            let e = parse(raw).await.unwrap_err();
            assert!(e.contains(part), "{part}: {e}");
        }
    }
}
