//! Which operations a report draws. Every one, up to [`MAX_DRAWN`]; past that, every operation
//! the verdict singles out, then failed and indeterminate ones, then an even share of the rest,
//! so that a long run's report stays a file a browser opens — and the page says what it left
//! out. Figures (quantiles, throughput) are computed over every operation, never over these.

use checker::{Operation, Outcome};

/// The most operations a timeline or plot draws.
pub const MAX_DRAWN: usize = 20_000;

/// The operations drawn, in the order given, and how many there were.
pub struct Drawn<'a> {
    /// The operations to draw.
    pub ops: Vec<&'a Operation>,
    /// How many there were in all.
    pub of: usize,
}

impl Drawn<'_> {
    /// What the page says under a drawing that left operations out.
    pub fn note(&self) -> Option<String> {
        (self.ops.len() < self.of).then(|| {
            format!(
                "{} of {} operations drawn: every one the verdict singles out, failed and \
                 indeterminate ones first, then an even share of the others (history.csv has \
                 them all; the figures count them all)",
                self.ops.len(),
                self.of
            )
        })
    }
}

/// At most `budget` of `ops`: those `singled` picks, then failed and indeterminate operations,
/// then the rest, each group thinned evenly once the budget runs short.
pub fn drawn<'a>(
    ops: &'a [Operation],
    budget: usize,
    singled: impl Fn(&Operation) -> bool,
) -> Drawn<'a> {
    if ops.len() <= budget {
        return Drawn {
            ops: ops.iter().collect(),
            of: ops.len(),
        };
    }
    let rank = |op: &Operation| match (singled(op), &op.outcome) {
        (true, _) => 0,
        (false, Outcome::Fail { .. } | Outcome::Info) => 1,
        (false, Outcome::Ok) => 2,
    };
    let mut keep = vec![false; ops.len()];
    let mut left = budget;
    for group in 0..3 {
        let members: Vec<usize> = (0..ops.len()).filter(|&i| rank(&ops[i]) == group).collect();
        for i in evenly(&members, left) {
            keep[i] = true;
        }
        left = left.saturating_sub(members.len().min(left));
    }
    Drawn {
        ops: ops
            .iter()
            .zip(keep)
            .filter_map(|(op, k)| k.then_some(op))
            .collect(),
        of: ops.len(),
    }
}

/// At most `n` of `members`, spread evenly over them.
fn evenly(members: &[usize], n: usize) -> Vec<usize> {
    if members.len() <= n {
        return members.to_vec();
    }
    (0..n).map(|j| members[j * members.len() / n]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use checker::{Event, EventType, Process};
    use serde_json::json;

    /// `n` reads one after another, every hundredth indeterminate.
    fn history(n: u64) -> Vec<Operation> {
        let events: Vec<Event> = (0..n)
            .flat_map(|i| {
                let done = if i % 100 == 0 {
                    EventType::Info
                } else {
                    EventType::Ok
                };
                [(2 * i, EventType::Invoke), (2 * i + 1, done)].map(|(index, kind)| Event {
                    index,
                    time: index * 10,
                    process: Process::Client(i % 5),
                    kind,
                    f: "read".into(),
                    key: Some(json!("k")),
                    value: json!(null),
                    error: None,
                    node: None,
                })
            })
            .collect();
        checker::pair(&events).unwrap()
    }

    #[test]
    fn a_long_run_keeps_what_matters_and_an_even_share_of_the_rest() {
        let ops = history(10_000);
        let d = drawn(&ops, 1_000, |o| o.span.invoke_index == 2 * 4321);
        assert_eq!((d.ops.len(), d.of), (1_000, 10_000));
        assert!(
            d.ops.iter().any(|o| o.span.invoke_index == 2 * 4321),
            "the singled-out one"
        );
        assert_eq!(
            d.ops.iter().filter(|o| o.outcome == Outcome::Info).count(),
            100,
            "every indeterminate one"
        );
        // The ok ones are spread over the whole run, not its first stretch.
        let last = d.ops.iter().map(|o| o.span.invoke_time).max().unwrap();
        assert!(last > 190_000, "{last}");
        assert!(
            d.ops
                .windows(2)
                .all(|w| w[0].span.invoke_index < w[1].span.invoke_index),
            "in the history's order"
        );
        assert!(d
            .note()
            .unwrap()
            .starts_with("1000 of 10000 operations drawn"));
        let small = drawn(&ops[..50], 1_000, |_| false);
        assert_eq!(small.ops.len(), 50);
        assert!(small.note().is_none());
    }
}
