//! Fuzz YAML parsing and re-emission of manifests.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(docs) = flotilla_model::yaml::parse_stream(text)
    {
        let _ = flotilla_model::yaml::emit_stream(&docs);
    }
});
