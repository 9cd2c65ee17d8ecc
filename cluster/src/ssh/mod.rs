//! Hosts reached over SSH: the [`Control`](crate::control::Control) interface for a machine
//! faultline does not run on, as Jepsen drives its database nodes from a control node.
//!
//! Every command goes through the system's `ssh` client (OpenSSH), with one multiplexed
//! connection per host (`ControlMaster`) and at most [`MAX_SESSIONS`] commands in flight on it,
//! below sshd's default `MaxSessions` of 10. Host keys are checked against the user's
//! known_hosts by default; trust on first use is a choice ([`HostKeyTrust::AcceptNew`]), and a
//! changed key is refused whatever the choice. Every argument is quoted for the remote shell, so
//! names with spaces, quotes or `$` arrive as given.
//!
//! ```text
//!   faultline ──ssh -o ControlMaster=auto ... host -- 'prog' 'arg 1' …──► sshd ──► /bin/sh ──► prog
//!              (one master connection per host; commands share it)
//! ```

mod control;
mod packages;
mod quote;
mod session;

pub use control::SshControl;
pub use quote::quote;
pub use session::{HostKeyTrust, SshTarget, MAX_SESSIONS};
