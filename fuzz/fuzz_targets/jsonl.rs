//! faultline's JSONL history reader, then the checker, on arbitrary bytes.
#![no_main]

mod check;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(events) = checker::formats::read_jsonl(data) {
        check::check_briefly(&events);
    }
});
