//! How often a workload draws each kind of operation (`--mix read=2,write=1,cas=1`): weights by
//! the history's operation names, checked against the kinds the workload has.

use rand::Rng;
use std::str::FromStr;

/// A mix as typed: operation names with integer weights, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix(Vec<(String, u32)>);

impl std::fmt::Display for Mix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(n, w)| format!("{n}={w}")).collect();
        f.write_str(&parts.join(","))
    }
}

impl FromStr for Mix {
    type Err = String;

    fn from_str(text: &str) -> Result<Mix, String> {
        let mut pairs = Vec::new();
        for part in text.split(',').map(str::trim) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("'{part}' is not NAME=WEIGHT (e.g. read=2,write=1)"))?;
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| format!("'{part}': the weight must be a whole number"))?;
            let name = name.trim().to_string();
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(format!("'{name}' is given twice"));
            }
            pairs.push((name, weight));
        }
        if pairs.iter().all(|(_, w)| *w == 0) {
            return Err("every weight is 0: nothing to draw".into());
        }
        Ok(Mix(pairs))
    }
}

/// The weights a generator draws with, one per kind of its workload, in the workload's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weights(Vec<u32>);

impl Weights {
    /// The weights of `kinds` (names with default weights) under `mix`: a kind the mix leaves out
    /// gets 0, a name the workload does not have is an error naming the ones it has.
    pub fn resolve(kinds: &[(&str, u32)], mix: Option<&Mix>) -> Result<Weights, String> {
        let Some(Mix(pairs)) = mix else {
            return Ok(Weights::defaults(kinds));
        };
        if let Some((name, _)) = pairs
            .iter()
            .find(|(n, _)| !kinds.iter().any(|(k, _)| k == n))
        {
            let names: Vec<&str> = kinds.iter().map(|(k, _)| *k).collect();
            return Err(format!(
                "no operation '{name}'; its operations: {}",
                names.join(", ")
            ));
        }
        Ok(Weights(
            kinds
                .iter()
                .map(|(k, _)| pairs.iter().find(|(n, _)| n == k).map_or(0, |(_, w)| *w))
                .collect(),
        ))
    }

    /// The workload's own weights for `kinds`.
    pub fn defaults(kinds: &[(&str, u32)]) -> Weights {
        Weights(kinds.iter().map(|(_, w)| *w).collect())
    }

    /// Draws a kind's index: `i` with probability weight(i) / total.
    pub fn draw(&self, rng: &mut impl Rng) -> usize {
        let total: u32 = self.0.iter().sum();
        let mut roll = rng.random_range(0..total);
        for (i, &w) in self.0.iter().enumerate() {
            if roll < w {
                return i;
            }
            roll -= w;
        }
        unreachable!("the roll is below the total")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const KINDS: [(&str, u32); 3] = [("read", 2), ("write", 1), ("cas", 1)];

    #[test]
    fn a_mix_names_weights_by_operation_and_leaves_the_rest_at_zero() {
        let mix: Mix = "cas=3, read=1".parse().unwrap();
        assert_eq!(
            Weights::resolve(&KINDS, Some(&mix)),
            Ok(Weights(vec![1, 0, 3]))
        );
        assert_eq!(Weights::resolve(&KINDS, None), Ok(Weights(vec![2, 1, 1])));
        let mut rng = StdRng::seed_from_u64(1);
        let w = Weights::resolve(&KINDS, Some(&mix)).unwrap();
        let mut seen = [0; 3];
        for _ in 0..4000 {
            seen[w.draw(&mut rng)] += 1;
        }
        assert_eq!(seen[1], 0, "write has weight 0");
        assert!(
            (2700..3300).contains(&seen[2]),
            "cas about 3 in 4: {seen:?}"
        );
    }

    #[test]
    fn bad_mixes_say_what_is_wrong() {
        let err = |s: &str| s.parse::<Mix>().unwrap_err();
        assert_eq!(
            err("read"),
            "'read' is not NAME=WEIGHT (e.g. read=2,write=1)"
        );
        assert_eq!(err("read=x"), "'read=x': the weight must be a whole number");
        assert_eq!(err("read=1,read=2"), "'read' is given twice");
        assert_eq!(err("read=0"), "every weight is 0: nothing to draw");
        let mix: Mix = "add=1".parse().unwrap();
        assert_eq!(
            Weights::resolve(&KINDS, Some(&mix)).unwrap_err(),
            "no operation 'add'; its operations: read, write, cas"
        );
    }
}
