//! The jieba dictionary is loaded only when Han text has to be cut. Its own
//! test binary (one process, one test) so no other test loads it first.
//! (`tests/e2e/search.rs` checks the same for `kb search` over an index that
//! holds Chinese records.)

use kb_index::{build_index, jieba_loaded, BuildMeta, SearchIndex, SearchOptions};
use kb_model::{Lang, Record, RecordKind};

fn rec(id: &str, lang: Lang, text: &str) -> Record {
    let json = serde_json::json!({
        "id": id, "doc": "d", "path": "d.md", "lang": lang, "kind": RecordKind::Paragraph,
        "heading_path": [], "text": text, "lines": [1, 1],
    });
    serde_json::from_value(json).unwrap()
}

#[test]
fn jieba_loads_only_for_han_text() {
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("en");
    let english = [rec("d#1", Lang::En, "Partners need two certified engineers.")];
    build_index(&idx, &english, None, None, &BuildMeta::default()).unwrap();
    assert!(!jieba_loaded(), "indexing English text does not load jieba");

    let index = SearchIndex::open_dir(&idx).unwrap();
    assert_eq!(index.search(&SearchOptions::new("engineer")).unwrap().hits.len(), 1);
    assert!(!jieba_loaded(), "opening and searching without Han does not load jieba");

    assert!(index.search(&SearchOptions::new("工程师")).unwrap().hits.is_empty());
    assert!(jieba_loaded(), "a query with Han text loads jieba");
}
