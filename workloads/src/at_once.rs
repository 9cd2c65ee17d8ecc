//! Tests' way to run a scripted client's operation: its future never waits on anything, so it
//! finishes on its first poll, with no runtime.

use std::future::Future;
use std::task::{Context, Poll, Waker};

/// The output of `f`, which must finish on its first poll.
pub fn at_once<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("scripted client never pends"),
    }
}
