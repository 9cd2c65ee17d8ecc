//! The memory a check may use when the user set no `--memory-limit`: half of this machine's RAM,
//! so a pathological search answers `unknown` instead of being killed by the kernel.

/// Used when /proc/meminfo cannot be read.
const FALLBACK: u64 = 4 << 30;

/// Half of MemTotal, or 4 GiB where that cannot be read.
pub fn default_check_memory() -> u64 {
    cap(std::fs::read_to_string("/proc/meminfo").ok().as_deref())
}

/// Half of MemTotal in `meminfo`'s text, or [`FALLBACK`] without it.
fn cap(meminfo: Option<&str>) -> u64 {
    meminfo
        .and_then(|text| proc_bytes(text, "MemTotal:"))
        .map_or(FALLBACK, |total| total / 2)
}

/// The figure of a `/proc` line such as `MemTotal:  24576000 kB`, in bytes.
pub(crate) fn proc_bytes(text: &str, field: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_of_mem_total() {
        let text = "MemTotal:       24576000 kB\nMemFree:  1 kB\n";
        assert_eq!(proc_bytes(text, "MemTotal:"), Some(24_576_000 * 1024));
        assert_eq!(proc_bytes(text, "VmHWM:"), None);
        assert_eq!(cap(Some(text)), 24_576_000 * 512);
        assert_eq!(cap(Some("nothing")), FALLBACK);
        assert_eq!(cap(None), FALLBACK);
    }
}
