//! SIGINT and SIGTERM: the run stops, tears its cluster down and still writes its results.

/// Resolves on the next SIGINT or SIGTERM, with the signal's name.
pub async fn interrupted() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

/// Exit code of a run stopped by SIGINT or SIGTERM (the shell's convention: 128 + SIGINT).
pub const INTERRUPTED: i32 = 130;
