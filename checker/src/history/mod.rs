//! The history: events, the formats they are read from, and operations.

pub mod edn;
pub mod event;
pub mod failed_cas;
pub mod history_error;
pub mod history_file;
pub mod independent;
pub mod jepsen_log;
pub mod jsonl;
pub mod model_inference;
pub mod nil_reads;
pub mod op_summary;
pub mod operation;
pub mod times;
