//! The own node's request reader and command parser on arbitrary client bytes: no input may
//! panic them (a malformed request closes its connection; the node goes on serving).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    node::read_requests(data);
});
