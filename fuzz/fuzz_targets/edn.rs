//! Jepsen's EDN history reader (every tuple mode), then the checker, on arbitrary text.
#![no_main]

mod check;

use checker::formats::{parse_value, read_edn};
use checker::Independent;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = parse_value(text);
    for mode in [Independent::Detect, Independent::Always, Independent::Never] {
        if let Ok(events) = read_edn(text, None, mode) {
            check::check_briefly(&events);
        }
    }
});
