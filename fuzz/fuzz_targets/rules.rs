//! Fuzz the rule extractor on whatever the parser makes of arbitrary text:
//! never a panic, and every rule cites a record that exists.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Put the input under a requirement heading so the extractor sees it.
    let text = format!("### 申请条件\n需满足如下条件：\n{text}\n");
    let Ok(doc) = kb_parse::parse_document("zh/fuzz.md", &text, None) else { return };
    let ids: std::collections::HashSet<&str> = doc.records.iter().map(|r| r.id.as_str()).collect();
    let rules = kb_rules::extract(std::slice::from_ref(&doc), None);
    for r in &rules.rules {
        assert!(ids.contains(r.source.record.as_str()), "rule {} cites unknown record {}", r.id, r.source.record);
    }
});
