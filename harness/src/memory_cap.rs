//! The memory a check may use when the user set no `--memory-limit`: half of this machine's RAM,
//! so a pathological search answers `unknown` instead of being killed by the kernel.

/// Used when /proc/meminfo cannot be read.
const FALLBACK: u64 = 4 << 30;

/// Half of MemTotal, or 4 GiB where that cannot be read.
pub fn default_check_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| mem_total(&text))
        .map_or(FALLBACK, |total| total / 2)
}

/// MemTotal in bytes, from /proc/meminfo's text.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_of_mem_total() {
        let text = "MemTotal:       24576000 kB\nMemFree:  1 kB\n";
        assert_eq!(mem_total(text), Some(24_576_000 * 1024));
        assert_eq!(mem_total("nothing"), None);
        assert!(default_check_memory() > 0);
    }
}
