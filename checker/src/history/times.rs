//! Whether a history's events carry times, and how a time is shown to people.
//!
//! faultline's JSONL and Jepsen's current logs and EDN histories record each event's time in
//! nanoseconds. Knossos's EDN histories and old Jepsen logs record none: their readers number
//! each event's time by its index, so that real-time order is still event order. Showing such a
//! "time" as seconds would print `invoked 0.000 s, ok at 0.000 s` for every operation; they are
//! shown as event numbers instead, which order operations just as well.

use crate::history::event::Event;

/// How a history's times read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Times {
    /// Nanoseconds since the history began: shown as seconds (`1.204 s`).
    #[default]
    Nanos,
    /// No times: each event's time is its index, shown as an event number (`event 12`).
    EventOrder,
}

impl Times {
    /// The times of `events`: [`Times::EventOrder`] when every event's time is its index (what
    /// the readers of formats without times give), else [`Times::Nanos`]. A history with no
    /// events has nothing to show either way.
    pub fn of(events: &[Event]) -> Times {
        if !events.is_empty() && events.iter().all(|e| e.time == e.index) {
            Times::EventOrder
        } else {
            Times::Nanos
        }
    }

    /// A time as people read it: `1.204 s`, or `event 12`.
    pub fn at(self, time: u64) -> String {
        match self {
            Times::Nanos => seconds(time),
            Times::EventOrder => format!("event {time}"),
        }
    }
}

/// Nanoseconds as seconds with millisecond precision: `1.204 s`.
pub(crate) fn seconds(nanos: u64) -> String {
    format!(
        "{}.{:03} s",
        nanos / 1_000_000_000,
        nanos % 1_000_000_000 / 1_000_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::history_builder::*;
    use serde_json::json;

    #[test]
    fn event_numbers_only_when_every_time_is_the_index() {
        let timed = history([
            invoke(0, 1, "read", json!(null)),
            ok(10, 1, "read", json!(1)),
        ]);
        assert_eq!(Times::of(&timed), Times::Nanos);
        let mut untimed = timed.clone();
        for e in &mut untimed {
            e.time = e.index;
        }
        assert_eq!(Times::of(&untimed), Times::EventOrder);
        assert_eq!(Times::of(&[]), Times::Nanos);
        assert_eq!(Times::Nanos.at(1_204_000_000), "1.204 s");
        assert_eq!(Times::EventOrder.at(12), "event 12");
        assert_eq!(seconds(0), "0.000 s");
        assert_eq!(seconds(61_020_999_999), "61.020 s");
    }
}
