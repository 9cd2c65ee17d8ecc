//! The keys of a run on an attached cluster: every key a workload names is sent to the system
//! under a prefix (`--key-prefix`), so the run writes nothing outside it and its keys can be
//! removed at the end by the prefix alone. The history keeps the workload's own names: the
//! checker and the report never see the prefix.

use crate::client::{Answered, Client};
use workloads::{ClientError, CounterClient, RegisterClient, SetClient};

/// A client whose keys are all put under `prefix` before they reach the system.
pub struct Prefixed {
    inner: Client,
    prefix: String,
}

impl Prefixed {
    /// `inner`, with every key it is given put under `prefix`.
    pub fn new(inner: Client, prefix: &str) -> Prefixed {
        Prefixed {
            inner,
            prefix: prefix.to_string(),
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

impl Answered for Prefixed {
    fn answered_by(&self) -> Option<std::net::SocketAddr> {
        self.inner.answered_by()
    }
}

impl RegisterClient for Prefixed {
    async fn read(&mut self, key: &str) -> Result<Option<i64>, ClientError> {
        let key = self.key(key);
        self.inner.read(&key).await
    }

    async fn write(&mut self, key: &str, value: i64) -> Result<(), ClientError> {
        let key = self.key(key);
        self.inner.write(&key, value).await
    }

    async fn cas(&mut self, key: &str, expected: i64, new: i64) -> Result<bool, ClientError> {
        let key = self.key(key);
        self.inner.cas(&key, expected, new).await
    }
}

impl SetClient for Prefixed {
    async fn add(&mut self, key: &str, element: i64) -> Result<(), ClientError> {
        let key = self.key(key);
        self.inner.add(&key, element).await
    }

    async fn read_set(&mut self, key: &str) -> Result<Vec<i64>, ClientError> {
        let key = self.key(key);
        self.inner.read_set(&key).await
    }
}

impl CounterClient for Prefixed {
    async fn incr(&mut self, key: &str, delta: i64) -> Result<(), ClientError> {
        let key = self.key(key);
        self.inner.incr(&key, delta).await
    }

    async fn read_counter(&mut self, key: &str) -> Result<i64, ClientError> {
        let key = self.key(key);
        self.inner.read_counter(&key).await
    }
}
