//! What every target does with the events a parser accepted: pair and check them, briefly.

use checker::{check_events, CheckOptions, Event};
use std::time::Duration;

/// Checks `events` as a cas-register history under a short deadline: pairing and checking must
/// answer (valid, invalid, unknown or an error), never panic.
pub fn check_briefly(events: &[Event]) {
    let options = CheckOptions {
        timeout: Some(Duration::from_millis(50)),
        memory_limit: Some(64 << 20),
        ..CheckOptions::default()
    };
    let _ = check_events(events, &options);
}
