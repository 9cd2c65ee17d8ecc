//! A node that lies (the Byzantine fault, `--nemesis byzantine`): while told to, it answers reads
//! with values nobody wrote, and says so in its own log, so that the checker's finding can be
//! matched with the node that lied. Writes and replication stay honest: only what clients are
//! told is false.

use bytes::Bytes;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the node lies now.
#[derive(Debug, Default)]
pub struct Liar(AtomicBool);

/// Added to an integer value to make one nobody wrote: faultline's workloads write small ones.
const INVENTED: i64 = 1_000_000_000;

impl Liar {
    /// Starts (`true`) or stops lying.
    pub fn set(&self, on: bool, node: &str) {
        self.0.store(on, Ordering::SeqCst);
        match on {
            true => tracing::warn!("{node} is lying from now on: reads answer invented values"),
            false => tracing::warn!("{node} tells the truth again"),
        }
    }

    /// What GET answers for `key` holding `truth`: the truth, or while lying an invented value.
    pub fn get(&self, key: &[u8], truth: Option<Bytes>) -> Option<Bytes> {
        if !self.0.load(Ordering::SeqCst) {
            return truth;
        }
        let number = truth
            .as_deref()
            .and_then(|t| std::str::from_utf8(t).ok())
            .and_then(|t| t.parse::<i64>().ok());
        let lie = match (number, &truth) {
            (Some(n), _) => n.saturating_add(INVENTED).to_string(),
            (None, None) => INVENTED.to_string(),
            (None, Some(t)) => format!("{}-invented", String::from_utf8_lossy(t)),
        };
        tracing::warn!(
            "lie: GET {} answered {lie} instead of {}",
            String::from_utf8_lossy(key),
            truth
                .as_deref()
                .map_or("nil".into(), String::from_utf8_lossy)
        );
        Some(Bytes::from(lie))
    }

    /// What SMEMBERS answers for `key` holding `truth`: the truth, or while lying the truth with
    /// a member nobody added.
    pub fn members(&self, key: &[u8], mut truth: Vec<Bytes>) -> Vec<Bytes> {
        if !self.0.load(Ordering::SeqCst) {
            return truth;
        }
        let lie = Bytes::from((-INVENTED).to_string());
        tracing::warn!(
            "lie: SMEMBERS {} answered with {} added",
            String::from_utf8_lossy(key),
            String::from_utf8_lossy(&lie)
        );
        truth.push(lie);
        truth
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_truth_until_told_to_lie_then_values_nobody_wrote() {
        let liar = Liar::default();
        let five = Some(Bytes::from_static(b"5"));
        assert_eq!(liar.get(b"k", five.clone()), five);
        liar.set(true, "n1");
        assert_eq!(liar.get(b"k", five).as_deref(), Some(&b"1000000005"[..]));
        assert_eq!(liar.get(b"k", None).as_deref(), Some(&b"1000000000"[..]));
        let text = Some(Bytes::from_static(b"abc"));
        assert_eq!(liar.get(b"k", text).as_deref(), Some(&b"abc-invented"[..]));
        assert_eq!(
            liar.members(b"s", vec![Bytes::from_static(b"1")]),
            [Bytes::from_static(b"1"), Bytes::from_static(b"-1000000000")]
        );
        liar.set(false, "n1");
        assert_eq!(liar.get(b"k", None), None);
    }
}
