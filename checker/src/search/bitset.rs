//! A fixed-size set of small integers, one bit each.

/// A set of operation ids below a fixed bound.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Bitset(Box<[u64]>);

impl Bitset {
    /// An empty set able to hold ids `0..len`.
    pub(crate) fn new(len: usize) -> Self {
        Bitset(vec![0; len.div_ceil(64)].into_boxed_slice())
    }

    /// Adds `i`.
    pub(crate) fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    /// Removes `i`.
    pub(crate) fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }

    /// The underlying words: bit `i % 64` of word `i / 64` is member `i`.
    pub(crate) fn words(&self) -> &[u64] {
        &self.0
    }

    /// Whether `i` is in the set.
    #[cfg(test)]
    pub(crate) fn contains(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::Bitset;

    #[test]
    fn set_and_clear_across_words() {
        let mut b = Bitset::new(130);
        b.set(0);
        b.set(64);
        b.set(129);
        assert!(b.contains(0) && b.contains(64) && b.contains(129));
        assert!(!b.contains(1) && !b.contains(63) && !b.contains(128));
        b.clear(64);
        assert!(!b.contains(64));
        let mut other = Bitset::new(130);
        other.set(129);
        other.set(0);
        assert_eq!(b, other);
    }
}
