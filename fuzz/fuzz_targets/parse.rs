//! Fuzz the parser: any bytes give records or a clean error, never a panic,
//! and when they give records every non-blank line belongs to exactly one.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((text, _)) = kb_parse::decode(std::path::Path::new("fuzz.md"), data) else { return };
    match kb_parse::parse_document("zh/fuzz.md", &text, None) {
        Ok(doc) => {
            if let Err(e) = kb_parse::check_lossless(&text, &doc) {
                panic!("lossless violated: {e}");
            }
        }
        Err(e) => assert!(e.to_string().starts_with("zh/fuzz.md:"), "error without location: {e}"),
    }
});
