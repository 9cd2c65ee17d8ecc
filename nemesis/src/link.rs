//! Link faults: a degraded network rather than a cut one.
//!
//! A [`LinkFault`] describes what the links *into* a node suffer (traffic from the other nodes to
//! it); the control side's own traffic is not degraded, as partitions do not cut it either. Which
//! parts a network can apply depends on how it is built: `--net proxy` does all of them in its TCP
//! proxy; `--net netns` does loss (iptables' random `statistic` match) and bandwidth (the `tbf`
//! qdisc), and latency only where the kernel has `sch_netem`.

use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What a degraded link suffers; the default is a healthy link.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LinkFault {
    /// Added one-way delay.
    #[serde(with = "millis")]
    pub latency: Duration,
    /// Random extra delay, uniform in [0, jitter].
    #[serde(with = "millis")]
    pub jitter: Duration,
    /// Probability that a packet (or, in the proxy, a chunk) is lost.
    pub loss: f64,
    /// Bytes per second, at most.
    pub bandwidth: Option<u64>,
    /// Connections are accepted and then nothing is ever answered (proxy only).
    pub blackhole: bool,
    /// Connections are reset (proxy only).
    pub reset: bool,
    /// A close takes this long to reach the other side (proxy only).
    #[serde(with = "opt_millis")]
    pub slow_close: Option<Duration>,
    /// One direction is silent: requests arrive, replies never do (proxy only).
    pub half_open: bool,
}

impl LinkFault {
    /// The parts only a proxy can apply, by name, for error messages.
    pub fn proxy_only_parts(&self) -> Vec<&'static str> {
        let mut parts = Vec::new();
        if self.blackhole {
            parts.push("blackhole");
        }
        if self.reset {
            parts.push("reset");
        }
        if self.slow_close.is_some() {
            parts.push("slow-close");
        }
        if self.half_open {
            parts.push("half-open");
        }
        parts
    }

    /// The fault `--nemesis NAME` injects, for the link-fault names.
    pub fn named(name: &str) -> Option<LinkFault> {
        LinkKind::from_str(name, false).ok().map(LinkKind::fault)
    }
}

/// Its parts in words, e.g. `latency 100ms ±50ms, loss 20%`; `healthy` when it has none.
impl std::fmt::Display for LinkFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if !self.latency.is_zero() {
            let jitter = if self.jitter.is_zero() {
                String::new()
            } else {
                format!(" ±{}ms", self.jitter.as_millis())
            };
            parts.push(format!("latency {}ms{jitter}", self.latency.as_millis()));
        }
        if self.loss > 0.0 {
            parts.push(format!("loss {}%", self.loss * 100.0));
        }
        if let Some(b) = self.bandwidth {
            parts.push(format!("bandwidth {b} B/s"));
        }
        if let Some(d) = self.slow_close {
            parts.push(format!("slow-close {}ms", d.as_millis()));
        }
        parts.extend(
            self.proxy_only_parts()
                .into_iter()
                .filter(|p| *p != "slow-close")
                .map(String::from),
        );
        if parts.is_empty() {
            return f.write_str("healthy");
        }
        f.write_str(&parts.join(", "))
    }
}

/// The link faults `--nemesis` can name, each one preset [`LinkFault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum LinkKind {
    /// 100 ms ± 50 ms added to every link into the node.
    Latency,
    /// 20 % of packets (proxy: chunks) lost.
    Loss,
    /// 64 KiB/s at most.
    Bandwidth,
    /// Connections accepted, then never answered (proxy only).
    Blackhole,
    /// Connections reset (proxy only).
    Reset,
    /// A close takes 2 s to reach the other side (proxy only).
    SlowClose,
    /// Requests arrive, replies never do (proxy only).
    HalfOpen,
}

impl LinkKind {
    /// What the links suffer under this fault.
    pub fn fault(self) -> LinkFault {
        let base = LinkFault::default();
        match self {
            LinkKind::Latency => LinkFault {
                latency: Duration::from_millis(100),
                jitter: Duration::from_millis(50),
                ..base
            },
            LinkKind::Loss => LinkFault { loss: 0.2, ..base },
            LinkKind::Bandwidth => LinkFault {
                bandwidth: Some(64 * 1024),
                ..base
            },
            LinkKind::Blackhole => LinkFault {
                blackhole: true,
                ..base
            },
            LinkKind::Reset => LinkFault {
                reset: true,
                ..base
            },
            LinkKind::SlowClose => LinkFault {
                slow_close: Some(Duration::from_secs(2)),
                ..base
            },
            LinkKind::HalfOpen => LinkFault {
                half_open: true,
                ..base
            },
        }
    }
}

impl std::fmt::Display for LinkKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Spelled as `--nemesis` takes it: clap's derive is the one list of names.
        f.write_str(
            self.to_possible_value()
                .expect("no skipped variant")
                .get_name(),
        )
    }
}

/// Durations in nemesis events are milliseconds.
mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

mod opt_millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_u64(d.as_millis() as u64),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_faults() {
        assert_eq!(LinkFault::named("loss").unwrap().loss, 0.2);
        assert_eq!(
            LinkFault::named("latency").unwrap().latency,
            Duration::from_millis(100)
        );
        assert_eq!(
            LinkFault::named("half-open").unwrap().proxy_only_parts(),
            ["half-open"]
        );
        assert!(LinkFault::named("loss")
            .unwrap()
            .proxy_only_parts()
            .is_empty());
        assert_eq!(LinkFault::named("flood"), None);
        let v = serde_json::to_value(LinkFault::named("latency").unwrap()).unwrap();
        assert_eq!(
            (v["latency"].as_u64(), v["jitter"].as_u64()),
            (Some(100), Some(50))
        );
    }
}
