//! The faults one directed link can have, and what they do to each direction's bytes.

use super::ProxyError;
use nemesis::LinkFault;
use serde::Serialize;

/// The faults a link can have: the nemesis's [`LinkFault`] plus a cut (a partition);
/// `LinkFaults::default()` is a healthy link.
///
/// Semantics in the proxy: a cut holds bytes in both directions and holds new connections before
/// `to`; latency and jitter (uniform in `[0, jitter]`, seeded, order kept) delay every chunk;
/// a "lost" chunk is released a retransmission timeout late rather than dropped (dropping bytes
/// would corrupt the stream, which real loss never does); bandwidth paces each direction;
/// blackhole discards; reset closes every connection with RST; slow close delays a FIN;
/// half-open passes `from → to` and holds `to → from`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LinkFaults {
    /// Partition: both directions hold their bytes; new connections are held before `to`.
    pub cut: bool,
    /// Everything short of a cut.
    #[serde(flatten)]
    pub link: LinkFault,
}

impl From<LinkFault> for LinkFaults {
    fn from(link: LinkFault) -> Self {
        LinkFaults { cut: false, link }
    }
}

/// A link's faults read as its [`LinkFault`] fields (`faults.latency`), the cut aside.
impl std::ops::Deref for LinkFaults {
    type Target = LinkFault;
    fn deref(&self) -> &LinkFault {
        &self.link
    }
}

impl std::ops::DerefMut for LinkFaults {
    fn deref_mut(&mut self) -> &mut LinkFault {
        &mut self.link
    }
}

/// One direction of a proxied connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    /// From the connecting node to the node connected to (requests).
    Forward,
    /// Back from the node connected to (replies).
    Backward,
}

/// What a direction (or a not yet connected connection) does with its bytes under some faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flow {
    /// Bytes move on.
    Pass,
    /// Bytes wait where they are until the faults change.
    Hold,
    /// Bytes are read and thrown away.
    Discard,
}

impl LinkFaults {
    /// Rejects faults the pumps cannot apply.
    pub fn validate(&self) -> Result<(), ProxyError> {
        if !(0.0..=1.0).contains(&self.loss) {
            return Err(ProxyError::InvalidFaults(format!(
                "loss {} is not a probability in [0, 1]",
                self.loss
            )));
        }
        if self.bandwidth == Some(0) {
            // Zero bandwidth would be a cut that never says so: ask for `cut` instead.
            return Err(ProxyError::InvalidFaults(
                "bandwidth 0: use cut to stop a link".to_string(),
            ));
        }
        Ok(())
    }

    /// What bytes travelling in `dir` of a live connection do.
    pub(super) fn flow(&self, dir: Direction) -> Flow {
        if self.blackhole {
            Flow::Discard
        } else if self.cut || (dir == Direction::Backward && self.half_open) {
            Flow::Hold
        } else {
            Flow::Pass
        }
    }

    /// What a connection accepted but not yet connected onward does.
    pub(super) fn connect_flow(&self) -> Flow {
        if self.blackhole {
            Flow::Discard
        } else if self.cut || self.half_open {
            // A handshake needs the reply direction too: half-open links cannot open connections.
            Flow::Hold
        } else {
            Flow::Pass
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{Backward, Forward};

    fn with(f: impl FnOnce(&mut LinkFaults)) -> LinkFaults {
        let mut faults = LinkFaults::default();
        f(&mut faults);
        faults
    }

    #[test]
    fn flows_per_fault_and_direction() {
        let healthy = LinkFaults::default();
        let cut = with(|f| f.cut = true);
        let half = with(|f| f.half_open = true);
        let hole = with(|f| {
            f.blackhole = true;
            f.cut = true
        });
        let slow = with(|f| f.latency = std::time::Duration::from_millis(5));
        let table: Vec<[Flow; 3]> = [&healthy, &cut, &half, &hole, &slow]
            .iter()
            .map(|f| [f.flow(Forward), f.flow(Backward), f.connect_flow()])
            .collect();
        use Flow::{Discard, Hold, Pass};
        assert_eq!(
            table,
            vec![
                [Pass, Pass, Pass],
                [Hold, Hold, Hold],
                [Pass, Hold, Hold],
                [Discard, Discard, Discard],
                [Pass, Pass, Pass],
            ]
        );
    }

    #[test]
    fn validate_rejects_impossible_faults() {
        assert!(LinkFaults::default().validate().is_ok());
        assert!(with(|f| f.loss = 1.0).validate().is_ok());
        let errors: Vec<String> = [
            with(|f| f.loss = 1.5),
            with(|f| f.loss = f64::NAN),
            with(|f| f.bandwidth = Some(0)),
        ]
        .iter()
        .map(|f| f.validate().unwrap_err().to_string())
        .collect();
        assert_eq!(
            errors,
            vec![
                "invalid link faults: loss 1.5 is not a probability in [0, 1]",
                "invalid link faults: loss NaN is not a probability in [0, 1]",
                "invalid link faults: bandwidth 0: use cut to stop a link",
            ]
        );
    }
}
