//! Which faults each network can apply: the one answer both `faultline test`'s validation (before
//! anything starts) and the network itself (before it acts) ask, so they cannot disagree.

use super::NetMode;
use nemesis::{FaultKind, LinkFault, NetworkNeed};

impl NetMode {
    /// Whether this network can apply faults of `kind`; the error says why not and what would.
    pub fn can_apply(self, kind: &FaultKind) -> Result<(), String> {
        match kind.needs() {
            NetworkNeed::Nothing => Ok(()),
            NetworkNeed::Cut => self.can_partition(),
            NetworkNeed::Degrade(fault) => self.can_degrade(&fault),
        }
    }

    /// Whether this network can be cut.
    pub fn can_partition(self) -> Result<(), String> {
        match self {
            NetMode::Loopback => Err(
                "partitions need a network that can be cut: use --net netns or proxy".to_string(),
            ),
            NetMode::Netns | NetMode::Proxy | NetMode::Ssh => Ok(()),
        }
    }

    /// Whether this network can degrade links as `fault` says: the proxy does everything;
    /// namespaces do loss and bandwidth, and latency only where the kernel has `sch_netem`.
    pub fn can_degrade(self, fault: &LinkFault) -> Result<(), String> {
        match self {
            NetMode::Loopback => Err("link faults need --net proxy or netns".to_string()),
            NetMode::Ssh => {
                Err("link faults need --net proxy or netns, not remote hosts".to_string())
            }
            NetMode::Proxy => Ok(()),
            NetMode::Netns => {
                let proxy_only = fault.proxy_only_parts();
                if !proxy_only.is_empty() {
                    return Err(format!(
                        "{} needs --net proxy (a namespace network cannot fake it)",
                        proxy_only.join(", ")
                    ));
                }
                if !fault.latency.is_zero() && !crate::capability::netem_available() {
                    return Err(
                        "this kernel has no sch_netem, so a namespace network cannot \
                                add latency: use --net proxy"
                            .to_string(),
                    );
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nemesis::LinkKind;

    #[test]
    fn each_network_says_what_it_can_apply() {
        let loss = FaultKind::Link(LinkKind::Loss);
        let half_open = FaultKind::Link(LinkKind::HalfOpen);
        for kind in FaultKind::named() {
            assert_eq!(
                NetMode::Proxy.can_apply(&kind),
                Ok(()),
                "the proxy does {kind}"
            );
        }
        assert_eq!(NetMode::Loopback.can_apply(&FaultKind::Pause), Ok(()));
        let e = NetMode::Loopback.can_apply(&FaultKind::Partition(None));
        assert!(e.unwrap_err().contains("--net netns or proxy"));
        let e = NetMode::Loopback.can_apply(&loss).unwrap_err();
        assert!(e.starts_with("link faults need --net proxy"), "{e}");
        assert_eq!(NetMode::Netns.can_apply(&loss), Ok(()));
        let e = NetMode::Netns.can_apply(&half_open).unwrap_err();
        assert!(e.starts_with("half-open needs --net proxy"), "{e}");
        let latency = NetMode::Netns.can_apply(&FaultKind::Link(LinkKind::Latency));
        assert_eq!(
            latency.is_ok(),
            crate::capability::netem_available(),
            "latency in namespaces exactly where sch_netem exists: {latency:?}"
        );
    }
}
