//! What `/health` tells of the machine, as the seed server did: the process's resident memory
//! and the load average, read from `/proc` (`null` where there is none).

/// Resident set size of this process in bytes.
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn linux_reports_memory_and_load() {
        assert!(rss_bytes().is_some_and(|b| b > 1 << 20));
        assert!(load_average().is_some_and(|l| l.iter().all(|x| *x >= 0.0)));
    }
}
