//! Claiming a private /24 for one run's bridge, so concurrent runs never share a subnet.
//!
//! A claim is a file `/run/faultline/subnets/A.B.X` created exclusively and naming the bridge
//! that uses it. A claim whose bridge no longer exists was left by a killed run and is taken over.
//! A /24 this machine already routes somewhere is never claimed, claim file or not: a second
//! bridge on it would send this run's clients to whatever answers on the first (another run's
//! nodes, with their data).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where claims live: tmpfs, so a reboot clears them along with the bridges they describe.
const CLAIMS: &str = "/run/faultline/subnets";

/// A held /24: `A.B.X.0/24`; released when dropped.
#[derive(Debug)]
pub struct SubnetClaim {
    /// The first three octets.
    pub prefix: [u8; 3],
    path: PathBuf,
}

impl SubnetClaim {
    /// Claims the first free `base.X.0/24`, starting the search at `start` (spreads parallel runs).
    pub fn take(base: [u8; 2], bridge: &str, start: u8) -> Result<SubnetClaim, String> {
        std::fs::create_dir_all(CLAIMS).map_err(|e| format!("cannot create {CLAIMS}: {e}"))?;
        let routed = routed_prefixes();
        for k in 0..=255u16 {
            let x = start.wrapping_add(k as u8);
            if routed.contains(&[base[0], base[1], x]) {
                continue;
            }
            let path = Path::new(CLAIMS).join(format!("{}.{}.{x}", base[0], base[1]));
            if try_create(&path, bridge) || (stale(&path) && retake(&path, bridge)) {
                return Ok(SubnetClaim {
                    prefix: [base[0], base[1], x],
                    path,
                });
            }
        }
        Err(format!(
            "no free /24 in {}.{}.0.0/16: every one is claimed under {CLAIMS}",
            base[0], base[1]
        ))
    }
}

impl SubnetClaim {
    /// Takes over a claim an earlier faultline made (its prefix is only needed while claiming).
    pub fn adopt(path: PathBuf) -> SubnetClaim {
        SubnetClaim {
            prefix: [0; 3],
            path,
        }
    }

    /// The claim file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Leaves the claim in place: the network it guards outlives this process.
    pub fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for SubnetClaim {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The /24s (first three octets) this machine's main routing table has a route into.
fn routed_prefixes() -> Vec<[u8; 3]> {
    std::fs::read_to_string("/proc/net/route")
        .map(|table| parse_routes(&table))
        .unwrap_or_default()
}

/// From `/proc/net/route`'s text: each route's destination, when its mask is /24 or narrower.
fn parse_routes(table: &str) -> Vec<[u8; 3]> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // Little-endian hex, as the kernel prints them: 0501A8C0 is 192.168.1.5.
            let dest = u32::from_str_radix(fields.get(1)?, 16).ok()?.to_le_bytes();
            let mask = u32::from_str_radix(fields.get(7)?, 16).ok()?.to_le_bytes();
            (mask[..3] == [255, 255, 255]).then_some([dest[0], dest[1], dest[2]])
        })
        .collect()
}

fn try_create(path: &Path, bridge: &str) -> bool {
    match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(mut f) => f.write_all(bridge.as_bytes()).is_ok(),
        Err(_) => false,
    }
}

/// A claim is stale when the bridge it names is gone (its run was killed before cleaning up).
///
/// A fresh claim's bridge may not exist *yet*, so only claims older than a minute can be stale.
fn stale(path: &Path) -> bool {
    let old = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > std::time::Duration::from_secs(60));
    match std::fs::read_to_string(path) {
        Ok(bridge) => old && !Path::new("/sys/class/net").join(bridge.trim()).exists(),
        Err(_) => false,
    }
}

fn retake(path: &Path, bridge: &str) -> bool {
    std::fs::remove_file(path).is_ok() && try_create(path, bridge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_into_a_slash_24_or_narrower_are_read_from_the_kernel_table() {
        let table =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
            eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
            flab12b\t00604D0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
            eth1\t00004D0A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
        assert_eq!(parse_routes(table), vec![[10, 77, 96]]);
    }
}
