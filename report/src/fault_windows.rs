//! The fault windows of a history: from a fault's start event to its heal, read from the
//! nemesis's events (the history holds them, so a saved run shows its faults without anything
//! else). Adequacy judges operations against the same windows.

use checker::{Event, EventType, Process};
use nemesis::WindowEdge;
use serde_json::Value;

/// One fault in force over a closed interval of the history's time.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultWindow {
    /// When the fault's start event was recorded, in nanoseconds.
    pub start: u64,
    /// When its heal was recorded; `u64::MAX` for a fault never healed (it lasts forever).
    pub end: u64,
    /// What the fault was, in words: `pause n2`, `partition majority (n1!n3 …)`.
    pub label: String,
}

impl FaultWindow {
    /// Whether the fault was ever healed in the history.
    pub fn healed(&self) -> bool {
        self.end != u64::MAX
    }

    /// Whether the closed interval `[from, to]` overlaps this window.
    pub fn overlaps(&self, from: u64, to: u64) -> bool {
        from <= self.end && to >= self.start
    }
}

/// The windows of `events`, in order. A fault that could not be applied (a `fail` start) opens
/// none; a start while another window is open closes that one.
pub fn fault_windows(events: &[Event]) -> Vec<FaultWindow> {
    let mut windows = Vec::new();
    let mut open: Option<(u64, String)> = None;
    for e in events.iter().filter(|e| e.process == Process::Nemesis) {
        match WindowEdge::of(&e.f) {
            Some(WindowEdge::Start) if e.kind != EventType::Fail => {
                if let Some((start, label)) = open.replace((e.time, label(&e.f, &e.value))) {
                    windows.push(FaultWindow {
                        start,
                        end: e.time,
                        label,
                    });
                }
            }
            Some(WindowEdge::End) => {
                if let Some((start, label)) = open.take() {
                    windows.push(FaultWindow {
                        start,
                        end: e.time,
                        label,
                    });
                }
            }
            _ => {}
        }
    }
    if let Some((start, label)) = open {
        windows.push(FaultWindow {
            start,
            end: u64::MAX,
            label,
        });
    }
    windows
}

/// A fault's start event in words: its name (a link fault's own, a partition's shape) and the
/// nodes it hits, or for a partition who drops whose traffic.
fn label(f: &str, value: &Value) -> String {
    let names = |v: &Value| -> String {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|n| n.as_str().map_or_else(|| n.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default()
    };
    let name = value["name"].as_str().unwrap_or(f);
    let mut text = match value["shape"].as_str() {
        Some(shape) => format!("{f} {shape}"),
        None => name.to_string(),
    };
    if value["nodes"].is_array() {
        text.push(' ');
        text.push_str(&names(&value["nodes"]));
    }
    if let Some(grudge) = value["grudge"].as_object() {
        let cut: Vec<String> = grudge
            .iter()
            .filter(|(_, from)| from.as_array().is_some_and(|a| !a.is_empty()))
            .map(|(node, from)| format!("{node}!{}", names(from)))
            .collect();
        text.push_str(&format!(" ({})", cut.join(" ")));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nemesis(time: u64, kind: EventType, f: &str, value: Value) -> Event {
        Event {
            index: time,
            time,
            process: Process::Nemesis,
            kind,
            f: f.into(),
            key: None,
            value,
            error: None,
            node: None,
        }
    }

    #[test]
    fn windows_run_from_start_to_heal_and_failed_starts_open_none() {
        let pause = json!({"fault": "pause", "nodes": ["n2"]});
        let events = vec![
            nemesis(10, EventType::Info, "pause", pause.clone()),
            nemesis(20, EventType::Info, "resume", pause.clone()),
            nemesis(
                30,
                EventType::Fail,
                "kill",
                json!({"fault": "kill", "nodes": ["n1"]}),
            ),
            nemesis(
                40,
                EventType::Info,
                "partition",
                json!({"fault": "partition", "shape": "majority",
                       "grudge": {"n1": ["n2", "n3"], "n2": [], "n3": []}}),
            ),
        ];
        let w = fault_windows(&events);
        assert_eq!(w.len(), 2);
        assert_eq!(
            (w[0].start, w[0].end, w[0].label.as_str()),
            (10, 20, "pause n2")
        );
        assert_eq!(w[1].label, "partition majority (n1!n2,n3)");
        assert!(!w[1].healed());
        assert!(w[1].overlaps(100, 200));
        assert!(!w[0].overlaps(21, 25));
    }

    #[test]
    fn link_faults_are_named_by_their_preset() {
        let v = json!({"fault": "link", "name": "latency", "nodes": ["n1", "n3"]});
        assert_eq!(label("degrade", &v), "latency n1,n3");
    }
}
