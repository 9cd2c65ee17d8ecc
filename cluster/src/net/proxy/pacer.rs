//! A bandwidth cap for one direction: each slice of bytes occupies the link for `len / rate`
//! seconds and is written when it has fully crossed it, as a serialising link delivers a packet.
//!
//! ```text
//!  rate 1000 B/s, slices of 20 B:  |─20 ms─|─20 ms─|─20 ms─|
//!                                  write 1  write 2  write 3
//! ```
//! An idle link earns no credit (a token bucket holding one slice): bursts are not faster.

use super::CHUNK;
use std::time::Duration;
use tokio::time::Instant;

/// When the next slice of one direction may be written.
#[derive(Debug, Default)]
pub(super) struct Pacer {
    next_free: Option<Instant>,
}

impl Pacer {
    /// The most bytes written at once at `rate`: about 20 ms worth, so the pace is smooth.
    pub(super) fn slice(rate: u64) -> usize {
        usize::try_from(rate / 50).map_or(CHUNK, |n| n.clamp(1, CHUNK))
    }

    /// When `len` bytes handed over at `now` have crossed a link of `rate` bytes per second
    /// (`None`: unlimited, at once).
    pub(super) fn reserve(&mut self, now: Instant, len: usize, rate: Option<u64>) -> Instant {
        let Some(rate) = rate else {
            self.next_free = None;
            return now;
        };
        let start = self.next_free.map_or(now, |free| free.max(now));
        let nanos = (len as u128 * 1_000_000_000) / u128::from(rate);
        let done = start + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
        self.next_free = Some(done);
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_are_twenty_milliseconds_within_bounds() {
        assert_eq!(
            [10, 1000, 64 * 1024, 10_000_000].map(Pacer::slice),
            [1, 20, 1310, CHUNK]
        );
    }

    #[test]
    fn back_to_back_slices_queue_and_idle_time_earns_nothing() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut p = Pacer::default();
        let rate = Some(1000);
        let a = p.reserve(t0, 20, rate);
        let b = p.reserve(t0, 20, rate);
        let c = p.reserve(t0 + ms(500), 10, rate);
        let d = p.reserve(t0 + ms(500), 5, None);
        let e = p.reserve(t0 + ms(500), 1, rate);
        assert_eq!(
            [a, b, c, d, e].map(|t| t - t0),
            [ms(20), ms(40), ms(510), ms(500), ms(501)]
        );
    }
}
