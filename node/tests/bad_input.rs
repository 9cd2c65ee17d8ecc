//! Hostile clients: a half frame that stalls, oversized counts and lengths, and random bytes
//! get a protocol error (or wait) on their own connection, and the node keeps serving the rest.

use clap::Parser;
use node::NodeArgs;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// The node's own command line, so that every option takes its default.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    node: NodeArgs,
}

/// A primary on a fresh loopback port, stopped when the test's runtime ends.
async fn start() -> SocketAddr {
    let args = Cli::parse_from(["node", "--port", "0"]).node;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(node::serve(args, listener));
    addr
}

/// Sends `request` on a connection of its own and returns what came back before the node
/// closed it or went quiet for `quiet`.
async fn exchange(addr: SocketAddr, request: &[u8], quiet: Duration) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(Ok(n)) = timeout(quiet, s.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// A well-behaved client's round trip: SET then GET on its own connection.
async fn serves(addr: SocketAddr, key: &str) {
    let set = format!("*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$2\r\nok\r\n", key.len());
    let get = format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len());
    let answer = exchange(
        addr,
        format!("{set}{get}").as_bytes(),
        Duration::from_millis(300),
    )
    .await;
    assert_eq!(answer, "+OK\r\n$2\r\nok\r\n");
}

#[tokio::test]
async fn a_half_frame_that_stalls_holds_up_no_one() {
    timeout(Duration::from_secs(30), async {
        let addr = start().await;
        let mut stalled = TcpStream::connect(addr).await.unwrap();
        stalled.write_all(b"*2\r\n$3\r\nGE").await.unwrap();
        for i in 0..5 {
            serves(addr, &format!("k{i}")).await;
        }
        // The stalled client finishes its frame later and is answered.
        stalled.write_all(b"T\r\n$2\r\nk0\r\n").await.unwrap();
        let mut buf = [0u8; 64];
        let n = stalled.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"$2\r\nok\r\n");
    })
    .await
    .expect("test exceeded its time bound");
}

#[tokio::test]
async fn oversized_counts_and_lengths_are_protocol_errors() {
    timeout(Duration::from_secs(30), async {
        let addr = start().await;
        let quiet = Duration::from_secs(2);
        let cases: [(&[u8], &str); 4] = [
            (
                b"*2000000\r\n",
                "-ERR Protocol error: invalid multibulk length\r\n",
            ),
            (
                b"*1\r\n$999999999999\r\n",
                "-ERR Protocol error: invalid bulk length\r\n",
            ),
            (
                b"*1\r\n$-5\r\n",
                "-ERR Protocol error: invalid bulk length\r\n",
            ),
            (
                b"*x\r\n",
                "-ERR Protocol error: invalid multibulk length\r\n",
            ),
        ];
        for (request, error) in cases {
            assert_eq!(exchange(addr, request, quiet).await, error, "{request:?}");
        }
        // A line that never ends is cut off once it passes the limit.
        let endless = vec![b'A'; 100 * 1024];
        let answer = exchange(addr, &endless, quiet).await;
        assert_eq!(answer, "-ERR Protocol error: too big request line\r\n");
        // An unknown command and a wrong argument count are answered; the connection lives on.
        let answer = exchange(
            addr,
            b"NOPE a\r\nGET\r\nPING\r\n",
            Duration::from_millis(300),
        )
        .await;
        assert_eq!(
            answer,
            "-ERR unknown command 'NOPE', with args beginning with: 'a' \r\n\
             -ERR wrong number of arguments for 'get' command\r\n+PONG\r\n"
        );
        serves(addr, "after").await;
    })
    .await
    .expect("test exceeded its time bound");
}

/// Random bytes, some shaped like RESP, on connections of their own: whatever each gets back,
/// the node still answers the next client. Bounded: 200 connections, a few hundred bytes each.
#[tokio::test]
async fn random_bytes_never_stop_the_node() {
    timeout(Duration::from_secs(60), async {
        let addr = start().await;
        // A small xorshift: the same bytes on every run, no dependency.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        const PIECES: [&[u8]; 9] = [
            b"*",
            b"$",
            b"\r\n",
            b"-1",
            b"3",
            b"99999999999",
            b"SET",
            b"GET",
            b"\r",
        ];
        for _ in 0..200 {
            let mut bytes = Vec::new();
            for _ in 0..(next() % 64) {
                match next() % 3 {
                    0 => bytes.push(next() as u8),
                    _ => bytes.extend_from_slice(PIECES[(next() % 9) as usize]),
                }
            }
            exchange(addr, &bytes, Duration::from_millis(20)).await;
            // The same bytes through the reader the fuzz target drives: no panic.
            node::read_requests(&bytes);
        }
        serves(addr, "still").await;
    })
    .await
    .expect("test exceeded its time bound");
}
