//! How every link, connection and direction gets its own random seed from the run's one seed, so
//! the jitter and loss a chunk sees do not depend on how other links' tasks were scheduled.

/// The seed for the part of `parent` named by `tag`.
pub(super) fn derive(parent: u64, tag: u64) -> u64 {
    splitmix64(parent ^ splitmix64(tag))
}

/// The seed for link `from → to` of a run seeded with `seed`.
pub(super) fn for_link(seed: u64, from: &str, to: &str) -> u64 {
    // FNV-1a: stable across Rust releases, unlike `DefaultHasher`.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in from.bytes().chain([0xff]).chain(to.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    derive(seed, h)
}

/// Sebastiano Vigna's splitmix64 finaliser: nearby inputs give unrelated outputs.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_stable_and_distinct() {
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(for_link(7, "n1", "n2"), for_link(7, "n1", "n2"));
        let seeds = [
            for_link(7, "n1", "n2"),
            for_link(7, "n2", "n1"),
            for_link(8, "n1", "n2"),
            for_link(7, "n1n", "2"),
            derive(7, 0),
            derive(7, 1),
        ];
        let distinct: std::collections::BTreeSet<u64> = seeds.iter().copied().collect();
        assert_eq!(distinct.len(), seeds.len());
    }
}
