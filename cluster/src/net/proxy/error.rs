//! What can go wrong starting or steering proxies.

use std::io;

/// An error from the fault proxy.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The proxy's listener could not be bound.
    #[error("cannot bind the proxy for {from} → {to}: {source}")]
    Bind {
        /// The connecting node.
        from: String,
        /// The node connected to.
        to: String,
        /// Why.
        source: io::Error,
    },
    /// No proxy for this directed link.
    #[error("no proxied link {from} → {to}")]
    UnknownLink {
        /// The connecting node.
        from: String,
        /// The node connected to.
        to: String,
    },
    /// The same directed link was listed twice.
    #[error("link {from} → {to} is listed twice")]
    DuplicateLink {
        /// The connecting node.
        from: String,
        /// The node connected to.
        to: String,
    },
    /// Faults that cannot be applied.
    #[error("invalid link faults: {0}")]
    InvalidFaults(String),
}
