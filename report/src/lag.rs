//! Replication lag over time, from the positions a run sampled (`replication.jsonl`: one line
//! per node per round, all lines of a round sharing its `time`): in each round, how far each
//! replica's position is behind the primary's.

use serde_json::Value;
use std::collections::BTreeMap;

/// Per node, its lag behind the primary in each round it answered: `(seconds, positions)`.
pub type LagSeries = BTreeMap<String, Vec<(f64, i64)>>;

/// The lag series of the sampled `lines` (rounds without a primary's position, and nodes without
/// a position, add no point).
pub fn lag_series(lines: &[Value]) -> LagSeries {
    let mut series = LagSeries::new();
    let mut rounds: Vec<(f64, Vec<&Value>)> = Vec::new();
    for line in lines {
        let Some(time) = line["time"].as_f64() else {
            continue;
        };
        match rounds.last_mut() {
            Some((t, round)) if *t == time => round.push(line),
            _ => rounds.push((time, vec![line])),
        }
    }
    for (time, round) in rounds {
        let primary = round
            .iter()
            .find(|l| l["role"] == "primary")
            .and_then(|l| l["position"].as_i64());
        let Some(primary) = primary else {
            continue;
        };
        for line in round.iter().filter(|l| l["role"] == "replica") {
            if let (Some(node), Some(position)) = (line["node"].as_str(), line["position"].as_i64())
            {
                series
                    .entry(node.to_string())
                    .or_default()
                    .push((time, primary - position));
            }
        }
    }
    series
}

/// The largest lag of each node's series.
pub fn max_lag(series: &LagSeries) -> BTreeMap<String, i64> {
    series
        .iter()
        .map(|(node, points)| {
            (
                node.clone(),
                points.iter().map(|&(_, lag)| lag).max().unwrap_or(0),
            )
        })
        .collect()
}

/// The lines of a `replication.jsonl` text; a line that is not JSON (a run killed mid-write) ends
/// the samples.
pub fn parse_samples(text: &str) -> Vec<Value> {
    text.lines()
        .map_while(|l| serde_json::from_str(l).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_the_primary_position_minus_each_replica_s() {
        let text = r#"{"time":0.5,"node":"n1","role":"primary","position":100}
{"time":0.5,"node":"n2","role":"replica","position":90}
{"time":0.5,"node":"n3","error":"timed out"}
{"time":1.0,"node":"n1","role":"primary","position":120}
{"time":1.0,"node":"n2","role":"replica","position":120}
{"time":1.0,"node":"n3","role":"replica","position":80}
{"time":1.5,"node":"n1","error":"timed out"}
{"time":1.5,"node":"n2","role":"replica","position":130}
{"time":2.0,"node":"n1","ro"#;
        let series = lag_series(&parse_samples(text));
        assert_eq!(series["n2"], vec![(0.5, 10), (1.0, 0)]);
        assert_eq!(series["n3"], vec![(1.0, 40)]);
        let max = max_lag(&series);
        assert_eq!((max["n2"], max["n3"]), (10, 40));
    }
}
