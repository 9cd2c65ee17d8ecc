//! The history: what was recorded, read from any of the formats, paired into operations.
//!
//! ```text
//!   JSONL ──────jsonl──────┐
//!   Jepsen EDN ──edn───────┼─► events ──operation::pair──► operations
//!   Jepsen log ──jepsen_log┘     │
//!        history_file: which format (extension, then content), directories of histories
//! ```
//!
//! - `event.rs`: one JSONL line, the on-disk contract (`invoke`, `ok`, `fail`, `info`; client or
//!   nemesis process; `CAS_MISMATCH`, the error a failed compare reports).
//! - `jsonl.rs`: reading it, with line numbers in errors (`ParseError`).
//! - `edn.rs` and `jepsen_log.rs`: Jepsen's formats, tagged records included; the log in current
//!   Jepsen's layout with times and the older one without.
//! - `history_file.rs`: choosing a format (`Format`, `ReadOptions`) and listing a directory's
//!   histories; a file with no operation is an error, not a vacuously valid history.
//! - `independent.rs`: splitting Jepsen's `[key value]` tuples into keys (detect, always, never).
//! - `nil_reads.rs`: Knossos's reading of a nil read, as one that observed nothing.
//! - `failed_cas.rs`: a cas that failed with `cas-mismatch` kept as an observation of a mismatch
//!   or dropped (`--failed-cas`); marking Jepsen's failed cas as mismatches. The unique-value
//!   fast path fits such observations into the linearization its proof builds, else the search
//!   decides.
//! - `operation.rs`: pairing each invocation with its completion (an invocation never completed
//!   is indeterminate, as `info` is); `history_error.rs`: what is wrong with a history, by event.
//! - `times.rs`: whether a history has times or event order only, and how reports show a time.
//! - `op_summary.rs`: an operation as reports show it, and how a key is named in prose.
//! - `model_inference.rs`: `--model auto`, the one model every client operation fits.

pub(crate) mod edn;
pub(crate) mod event;
pub(crate) mod failed_cas;
pub(crate) mod history_error;
pub(crate) mod history_file;
pub(crate) mod independent;
pub(crate) mod jepsen_log;
pub(crate) mod jsonl;
pub(crate) mod model_inference;
pub(crate) mod nil_reads;
pub(crate) mod op_summary;
pub(crate) mod operation;
pub(crate) mod span;
pub(crate) mod times;
