//! Which processes listen on a TCP port of a host, as iproute2's `ss -Hltnp` tells it: how
//! faultline finds the pid of an attached node on its host (`--attach … --nodes …`), where it
//! was given no pid.
//!
//! ```text
//!   LISTEN 0 511 10.0.0.11:6379 0.0.0.0:* users:(("redis-server",pid=4242,fd=6))
//!                ^^^^^^^^^^^^^^ bound address       ^^^^^^^^ every process holding the socket
//! ```
//! A socket may be held by several processes (a Redis fork saving its snapshot inherits the
//! listening socket): each is listed, and the caller tells the server among them.

use crate::control::Control;
use std::net::IpAddr;

/// One listening socket on a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// The address it is bound to; `None` for every address of the host (`*`, `0.0.0.0`, `::`).
    pub ip: Option<IpAddr>,
    /// The processes holding it.
    pub pids: Vec<u32>,
}

impl Listener {
    /// Whether a client connecting to `ip` on this port reaches this socket.
    pub fn serves(&self, ip: IpAddr) -> bool {
        self.ip.is_none_or(|own| own == ip)
    }
}

/// The TCP sockets listening on `port` on `control`'s host, with the processes holding them.
pub fn listeners(control: &dyn Control, port: u16) -> Result<Vec<Listener>, String> {
    let listing = control
        .run("ss", &["-Hltnp", "sport", "=", &format!(":{port}")], None)
        .map_err(|e| format!("{e} (ss is iproute2's: install iproute2)"))?;
    Ok(parse(&listing, port))
}

/// The listeners on `port` in `ss -Hltnp`'s lines (other ports' lines are skipped, whatever
/// filter the listing was made with).
pub fn parse(listing: &str, port: u16) -> Vec<Listener> {
    listing
        .lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            // State, Recv-Q, Send-Q, local address, peer address, then the processes.
            let local = *words.get(3)?;
            let (host, at) = local.rsplit_once(':')?;
            if at.parse::<u16>().ok()? != port {
                return None;
            }
            // `[::1]`, `10.0.0.1%eth0` (bound to a device), `*`.
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let host = host.split('%').next().unwrap_or(host);
            let ip = match host {
                "*" => None,
                text => Some(text.parse::<IpAddr>().ok()?).filter(|ip| !ip.is_unspecified()),
            };
            // An IPv4 address seen through an IPv6 socket: `::ffff:10.0.0.1`.
            let ip = ip.map(|ip| match ip {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
                v4 => v4,
            });
            let users = words[4..].join(" ");
            let mut pids: Vec<u32> = users
                .split("pid=")
                .skip(1)
                .filter_map(|rest| {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse().ok()
                })
                .collect();
            pids.sort_unstable();
            pids.dedup();
            Some(Listener { ip, pids })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_are_read_with_their_address_and_every_process_holding_them() {
        let listing = "LISTEN 0      511    10.79.0.11:6379 0.0.0.0:* users:((\"redis-server\",pid=4242,fd=6),(\"redis-rdb-bgsave\",pid=4300,fd=6))\n\
                       LISTEN 0      511          [::]:6379    [::]:* users:((\"redis-server\",pid=17,fd=7))\n\
                       LISTEN 0      128       *:6379 *:* users:((\"x\",pid=5,fd=3),(\"x\",pid=5,fd=4))\n\
                       LISTEN 0      128    127.0.0.1%lo:6379 0.0.0.0:*\n\
                       LISTEN 0      128    [::ffff:10.0.0.2]:6379 [::]:* users:((\"y\",pid=9,fd=3))\n\
                       LISTEN 0      128    10.79.0.11:16379 0.0.0.0:* users:((\"z\",pid=8,fd=3))\n";
        let found = parse(listing, 6379);
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(
            found,
            vec![
                Listener {
                    ip: ip("10.79.0.11"),
                    pids: vec![4242, 4300]
                },
                Listener {
                    ip: None,
                    pids: vec![17]
                },
                Listener {
                    ip: None,
                    pids: vec![5]
                },
                Listener {
                    ip: ip("127.0.0.1"),
                    pids: vec![]
                },
                Listener {
                    ip: ip("10.0.0.2"),
                    pids: vec![9]
                },
            ]
        );
        let node: IpAddr = "10.79.0.11".parse().unwrap();
        assert!(found[0].serves(node) && found[1].serves(node));
        assert!(!found[3].serves(node));
        assert_eq!(parse("", 6379), vec![]);
    }

    /// This test's own listener, found through the local control as a remote one is.
    #[test]
    fn a_listener_of_this_process_is_found_by_its_port() {
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = socket.local_addr().unwrap().port();
        let found = listeners(&crate::control::LocalControl::root(), port).unwrap();
        assert_eq!(
            found,
            vec![Listener {
                ip: Some("127.0.0.1".parse().unwrap()),
                pids: vec![std::process::id()]
            }]
        );
    }
}
