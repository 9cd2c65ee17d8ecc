//! When a chunk read from one side may be written to the other: latency, seeded jitter, loss as a
//! retransmission penalty, and never before the chunk ahead of it.
//!
//! ```text
//!  read at t:    A(t=0)        B(t=1)   C(t=2)
//!  drawn delay:  100           150      60 (+200 lost)
//!  released at:  100           151      262    ← max(t + delay, previous release)
//! ```
//! Jitter is an extra delay uniform in `[0, jitter]`, as `nemesis::LinkFault` defines it.

use super::faults::LinkFaults;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;
use tokio::time::Instant;

/// A lost segment's first retransmission comes this late (Linux's `TCP_RTO_MIN`).
const RTO_MIN: Duration = Duration::from_millis(200);

/// Consecutive losses of one chunk counted; bounds the penalty (12.6 s) even at loss 1.0.
const MAX_RETRANSMITS: u32 = 6;

/// The release schedule of one direction of one connection.
pub(super) struct Delays {
    rng: StdRng,
    last: Option<Instant>,
}

impl Delays {
    /// A schedule whose random draws follow `seed`.
    pub(super) fn new(seed: u64) -> Delays {
        Delays {
            rng: StdRng::seed_from_u64(seed),
            last: None,
        }
    }

    /// The delay of one chunk under `faults`, before ordering.
    pub(super) fn draw(&mut self, faults: &LinkFaults) -> Duration {
        let mut delay = faults.latency;
        if !faults.jitter.is_zero() {
            let extra = self.rng.random_range(0..=nanos(faults.jitter));
            delay += Duration::from_nanos(extra);
        }
        if faults.loss > 0.0 {
            let mut rto = RTO_MIN;
            for _ in 0..MAX_RETRANSMITS {
                if self.rng.random::<f64>() >= faults.loss {
                    break;
                }
                delay += rto;
                rto *= 2;
            }
        }
        delay
    }

    /// When a chunk read at `now` may be written: its drawn delay plus `extra`, and no earlier
    /// than the chunk before it, because a TCP stream delivers in order.
    pub(super) fn release(
        &mut self,
        now: Instant,
        faults: &LinkFaults,
        extra: Duration,
    ) -> Instant {
        let at = now + self.draw(faults) + extra;
        let at = self.last.map_or(at, |last| last.max(at));
        self.last = Some(at);
        at
    }
}

/// `d` in nanoseconds, saturating (a jitter beyond 584 years is no different).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nemesis::LinkFault;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn jittery() -> LinkFaults {
        LinkFaults::from(LinkFault {
            latency: ms(100),
            jitter: ms(20),
            ..LinkFault::default()
        })
    }

    fn draws(seed: u64, faults: &LinkFaults, n: usize) -> Vec<Duration> {
        let mut d = Delays::new(seed);
        (0..n).map(|_| d.draw(faults)).collect()
    }

    #[test]
    fn jitter_is_seeded_and_adds_up_to_jitter() {
        let a = draws(7, &jittery(), 50);
        assert_eq!(a, draws(7, &jittery(), 50));
        assert_ne!(a, draws(8, &jittery(), 50));
        assert!(a.iter().all(|d| (ms(100)..=ms(120)).contains(d)), "{a:?}");
        // Not a constant: the draws spread over the range.
        assert!(a.iter().any(|d| *d < ms(105)) && a.iter().any(|d| *d > ms(115)));
    }

    #[test]
    fn no_jitter_no_loss_is_exactly_the_latency() {
        let f = LinkFaults::from(LinkFault {
            latency: ms(30),
            ..LinkFault::default()
        });
        assert_eq!(draws(1, &f, 3), vec![ms(30); 3]);
        assert_eq!(draws(1, &LinkFaults::default(), 2), vec![ms(0); 2]);
    }

    #[test]
    fn certain_loss_costs_every_retransmission_timeout() {
        let f = LinkFaults::from(LinkFault {
            loss: 1.0,
            ..LinkFault::default()
        });
        // 200 + 400 + 800 + 1600 + 3200 + 6400 ms.
        assert_eq!(draws(1, &f, 2), vec![ms(12_600); 2]);
    }

    #[test]
    fn partial_loss_adds_whole_timeouts() {
        let f = LinkFaults::from(LinkFault {
            latency: ms(10),
            loss: 0.5,
            ..LinkFault::default()
        });
        let d = draws(5, &f, 200);
        let allowed = [10, 210, 610, 1410, 3010, 6210, 12_610].map(ms);
        assert!(d.iter().all(|x| allowed.contains(x)), "{d:?}");
        let lost = d.iter().filter(|x| **x > ms(10)).count();
        assert!((60..=140).contains(&lost), "{lost} of 200 lost at p = 0.5");
    }

    #[test]
    fn release_keeps_order_when_latency_drops() {
        let t0 = Instant::now();
        let mut d = Delays::new(0);
        let slow = LinkFaults::from(LinkFault {
            latency: ms(100),
            ..LinkFault::default()
        });
        let first = d.release(t0, &slow, Duration::ZERO);
        let second = d.release(t0 + ms(1), &LinkFaults::default(), Duration::ZERO);
        let third = d.release(t0 + ms(200), &LinkFaults::default(), ms(50));
        assert_eq!(
            [first, second, third].map(|t| t - t0),
            [ms(100), ms(100), ms(250)]
        );
    }
}
