//! Claiming a private /24 for one run's bridge, so concurrent runs never share a subnet.
//!
//! A claim is a file `/run/faultline/subnets/A.B.X` created exclusively and naming the bridge
//! that uses it. A claim whose bridge no longer exists was left by a killed run and is taken over.

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
        for k in 0..=255u16 {
            let x = start.wrapping_add(k as u8);
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
