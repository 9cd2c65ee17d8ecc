//! The op lines of a Jepsen log, then the checker, on arbitrary text.
#![no_main]

mod check;

use checker::formats::read_jepsen_log;
use checker::Independent;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    for mode in [Independent::Detect, Independent::Always, Independent::Never] {
        if let Ok(events) = read_jepsen_log(text, None, mode) {
            check::check_briefly(&events);
        }
    }
});
