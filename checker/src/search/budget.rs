//! What a check may spend: a deadline and a memory budget, shared by every key's search.
//!
//! Keys are searched in parallel, so the budget is one atomic counter that each search draws on
//! in chunks and gives back when it ends. A search that cannot get more memory, or finds the
//! deadline past, stops with a [`Stop`] and its key is unknown: a check never runs the machine
//! out of memory and always answers about when it was told to.
//!
//! ```text
//!   budget 512 MiB ── key a reserves 8 MiB ── key b reserves 8 MiB ── … ── a ends, gives 8 back
//! ```

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The limits of one check, shared by the searches of all its keys.
#[derive(Debug)]
pub struct Budget {
    deadline: Option<Instant>,
    memory_limit: Option<u64>,
    /// Bytes currently reserved by running searches, shared with side budgets.
    reserved: Arc<AtomicU64>,
    /// Set once the check should stop every search (`--fail-fast` found an invalid key),
    /// shared with side budgets.
    halted: Arc<AtomicBool>,
}

/// Why a search stopped before deciding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Stop {
    /// The deadline passed.
    #[error("the deadline passed")]
    Deadline,
    /// The search needed more memory than the budget had left; the limit, in bytes.
    #[error("memory limit of {} reached", Bytes(*.0))]
    Memory(u64),
    /// The search took more steps than it was allowed.
    #[error("the search's step limit was reached")]
    Steps,
    /// The check stopped every search: another key was found invalid first (`--fail-fast`).
    #[error("not decided: the check stopped at the first invalid key (fail fast)")]
    Halted,
}

impl Budget {
    /// A budget ending at `deadline` (none: no end) holding `memory_limit` bytes (none: as
    /// much as the searches want).
    pub fn new(deadline: Option<Instant>, memory_limit: Option<u64>) -> Self {
        Budget {
            deadline,
            memory_limit,
            reserved: Arc::new(AtomicU64::new(0)),
            halted: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A budget without limits.
    #[cfg(test)]
    pub fn unlimited() -> Self {
        Budget::new(None, None)
    }

    /// A budget for a side search (a witness's oracle, a probe, a first short try): until
    /// `until` or this budget's deadline, whichever is sooner, drawing on this budget's memory
    /// (what it reserves counts against every other search of the check, and theirs against it).
    pub fn side(&self, until: Instant) -> Budget {
        Budget {
            deadline: Some(self.deadline.map_or(until, |d| d.min(until))),
            memory_limit: self.memory_limit,
            reserved: Arc::clone(&self.reserved),
            halted: Arc::clone(&self.halted),
        }
    }

    /// Stops every search drawing on this budget or its sides, at their next look at the clock.
    pub fn halt(&self) {
        self.halted.store(true, Ordering::Relaxed);
    }

    /// The deadline, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// `Err(Stop::Deadline)` once the deadline has passed, `Err(Stop::Halted)` once halted.
    pub fn check_clock(&self) -> Result<(), Stop> {
        if self.halted.load(Ordering::Relaxed) {
            return Err(Stop::Halted);
        }
        match self.deadline {
            Some(d) if Instant::now() >= d => Err(Stop::Deadline),
            _ => Ok(()),
        }
    }

    /// Takes `bytes` from the budget, or fails (taking nothing) if that would exceed the limit.
    pub fn reserve(&self, bytes: u64) -> Result<(), Stop> {
        let Some(limit) = self.memory_limit else {
            return Ok(());
        };
        let before = self.reserved.fetch_add(bytes, Ordering::Relaxed);
        if before.saturating_add(bytes) > limit {
            self.reserved.fetch_sub(bytes, Ordering::Relaxed);
            return Err(Stop::Memory(limit));
        }
        Ok(())
    }

    /// Gives back `bytes` taken by [`Budget::reserve`].
    pub fn release(&self, bytes: u64) {
        if self.memory_limit.is_some() {
            self.reserved.fetch_sub(bytes, Ordering::Relaxed);
        }
    }

    /// How many bytes running searches hold now.
    #[cfg(test)]
    pub fn reserved(&self) -> u64 {
        self.reserved.load(Ordering::Relaxed)
    }

    /// The size in which a search takes memory: small next to the limit, so that parallel
    /// searches do not strand much of it, but large enough that the counter is rarely touched.
    pub(crate) fn chunk(&self) -> u64 {
        const MAX_CHUNK: u64 = 4 << 20;
        match self.memory_limit {
            Some(limit) => (limit / 64).clamp(1, MAX_CHUNK),
            None => MAX_CHUNK,
        }
    }
}

/// Memory one search holds from a [`Budget`], given back when dropped.
pub(crate) struct Reservation<'a> {
    budget: &'a Budget,
    held: u64,
}

impl<'a> Reservation<'a> {
    /// Holds nothing yet.
    pub(crate) fn new(budget: &'a Budget) -> Self {
        Reservation { budget, held: 0 }
    }

    /// Makes sure at least `bytes` are held, taking more from the budget in chunks.
    pub(crate) fn cover(&mut self, bytes: u64) -> Result<(), Stop> {
        if bytes <= self.held {
            return Ok(());
        }
        let more = (bytes - self.held).max(self.budget.chunk());
        // Near the limit a whole chunk may not be left while the exact need still is.
        let more = match self.budget.reserve(more) {
            Ok(()) => more,
            Err(_) => {
                let exact = bytes - self.held;
                self.budget.reserve(exact)?;
                exact
            }
        };
        self.held += more;
        Ok(())
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.budget.release(self.held);
    }
}

/// A byte count for people: `512 MiB`, `2 GiB`, `1000 bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
        for (size, unit) in UNITS {
            if self.0 >= size {
                let whole = self.0 / size;
                return if whole * size == self.0 {
                    write!(f, "{whole} {unit}")
                } else {
                    write!(f, "{:.1} {unit}", self.0 as f64 / size as f64)
                };
            }
        }
        write!(f, "{} bytes", self.0)
    }
}

/// `SIZE` as the command line takes it: bytes, or a number with K, M, G or T (powers of 1024;
/// an optional trailing `B` or `iB` is accepted), e.g. `512M`, `2G`, `1.5G`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (number, scale) = match t.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => {
            let scale: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => {
                    return Err(format!(
                        "unknown size unit {c:?} in {text:?} (use K, M, G or T)"
                    ))
                }
            };
            (&t[..t.len() - 1], scale)
        }
        _ => (t, 1),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("not a size: {text:?} (e.g. 512M, 2G)"))?;
    if !value.is_finite() || value <= 0.0 {
        return Err(format!("a size must be positive: {text:?}"));
    }
    Ok((value * scale as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_side_budget_draws_on_the_same_memory() {
        let budget = Budget::new(None, Some(1000));
        let side = budget.side(Instant::now() + Duration::from_secs(1));
        side.reserve(600).unwrap();
        assert_eq!(
            budget.reserved(),
            600,
            "the side's memory counts for the check"
        );
        assert_eq!(budget.reserve(600), Err(Stop::Memory(1000)));
        assert_eq!(side.reserve(600), Err(Stop::Memory(1000)));
        side.release(600);
        budget.reserve(1000).unwrap();
        assert!(side.deadline().is_some());
    }

    #[test]
    fn reservations_fail_past_the_limit_and_are_given_back() {
        let budget = Budget::new(None, Some(1000));
        assert_eq!(budget.reserve(600), Ok(()));
        assert_eq!(budget.reserve(600), Err(Stop::Memory(1000)));
        assert_eq!(budget.reserved(), 600);
        budget.release(600);
        assert_eq!(budget.reserved(), 0);
        {
            let mut r = Reservation::new(&budget);
            assert_eq!(r.cover(10), Ok(()));
            // A chunk is a 64th of the limit.
            assert_eq!(budget.reserved(), 15);
            assert_eq!(r.cover(990), Ok(()));
            assert_eq!(r.cover(1001), Err(Stop::Memory(1000)));
        }
        assert_eq!(budget.reserved(), 0);
    }

    #[test]
    fn unlimited_budget_never_refuses() {
        let budget = Budget::unlimited();
        assert_eq!(budget.reserve(u64::MAX), Ok(()));
        assert_eq!(budget.check_clock(), Ok(()));
    }

    #[test]
    fn halting_stops_the_budget_and_its_sides() {
        let budget = Budget::unlimited();
        let side = budget.side(Instant::now() + Duration::from_secs(60));
        budget.halt();
        assert_eq!(budget.check_clock(), Err(Stop::Halted));
        assert_eq!(side.check_clock(), Err(Stop::Halted));
    }

    #[test]
    fn past_deadline_stops() {
        let budget = Budget::new(Some(Instant::now() - Duration::from_millis(1)), None);
        assert_eq!(budget.check_clock(), Err(Stop::Deadline));
    }

    #[test]
    fn stop_reasons_read_well() {
        assert_eq!(
            Stop::Memory(512 << 20).to_string(),
            "memory limit of 512 MiB reached"
        );
        assert_eq!(
            Stop::Memory(1000).to_string(),
            "memory limit of 1000 bytes reached"
        );
        assert_eq!(Bytes(1536 << 20).to_string(), "1.5 GiB");
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("64kB"), Ok(64 << 10));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(
            parse_size("3X"),
            Err("unknown size unit 'X' in \"3X\" (use K, M, G or T)".into())
        );
        assert_eq!(
            parse_size("lots"),
            Err("unknown size unit 's' in \"lots\" (use K, M, G or T)".into())
        );
        assert_eq!(
            parse_size("0"),
            Err("a size must be positive: \"0\"".into())
        );
    }
}
