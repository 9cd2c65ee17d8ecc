//! How `faultline check` reads what a history's format leaves unsaid: what an ok read of nil saw
//! (`--nil-reads`) and what a failed cas tells (`--failed-cas`). Jepsen's formats and Knossos
//! read them one way, faultline's JSONL (which records why a cas failed) another.

use checker::{FailedCas, Format};
use clap::ValueEnum;

/// What an ok read of nil saw (`--nil-reads`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NilReads {
    /// Knossos's reading for Jepsen's formats, the value null for faultline's own.
    Auto,
    /// The value null.
    Value,
    /// Nothing: the read constrains no state.
    Unknown,
}

impl NilReads {
    /// Whether a file read as `format` gets Knossos's reading.
    pub fn unknown_for(self, format: Format) -> bool {
        match self {
            NilReads::Auto => matches!(format, Format::Edn | Format::JepsenLog),
            NilReads::Value => false,
            NilReads::Unknown => true,
        }
    }
}

/// What a failed cas tells (`--failed-cas`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailedCasReading {
    /// Observes for faultline's JSONL (which marks evaluated mismatches), dropped for Jepsen's
    /// formats (which do not say why a cas failed), as Knossos reads them.
    Auto,
    /// It saw a value other than its expected one: in JSONL where its error says
    /// `cas-mismatch`, in Jepsen's formats every failed cas.
    Observes,
    /// It never happened.
    Dropped,
}

impl FailedCasReading {
    /// How failed cas of a file read as `format` are checked, and whether each of its failed
    /// cas must first be marked as a mismatch (Jepsen's formats do not say so themselves).
    pub fn resolve(self, format: Format) -> (FailedCas, bool) {
        let jepsen = matches!(format, Format::Edn | Format::JepsenLog);
        match self {
            FailedCasReading::Auto if jepsen => (FailedCas::Dropped, false),
            FailedCasReading::Auto => (FailedCas::Observes, false),
            FailedCasReading::Observes => (FailedCas::Observes, jepsen),
            FailedCasReading::Dropped => (FailedCas::Dropped, false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nil_reads_follow_the_format_unless_told() {
        assert!(NilReads::Auto.unknown_for(Format::Edn));
        assert!(NilReads::Auto.unknown_for(Format::JepsenLog));
        assert!(!NilReads::Auto.unknown_for(Format::Jsonl));
        assert!(!NilReads::Value.unknown_for(Format::Edn));
        assert!(NilReads::Unknown.unknown_for(Format::Jsonl));
    }

    #[test]
    fn failed_cas_observes_for_jsonl_and_is_dropped_for_jepsen_unless_told() {
        use FailedCasReading::{Auto, Dropped, Observes};
        assert_eq!(Auto.resolve(Format::Jsonl), (FailedCas::Observes, false));
        assert_eq!(Auto.resolve(Format::Edn), (FailedCas::Dropped, false));
        assert_eq!(Auto.resolve(Format::JepsenLog), (FailedCas::Dropped, false));
        // Told so, every failed cas of a Jepsen history is a mismatch; JSONL says which are.
        assert_eq!(Observes.resolve(Format::Edn), (FailedCas::Observes, true));
        assert_eq!(
            Observes.resolve(Format::Jsonl),
            (FailedCas::Observes, false)
        );
        assert_eq!(Dropped.resolve(Format::Jsonl), (FailedCas::Dropped, false));
    }
}
