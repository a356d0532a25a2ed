//! BM25 statistics over the live records only, so that a record scores the
//! same however the index came to hold it.
//!
//! tantivy deletes a record by marking it in its segment; its statistics
//! (how many records hold a term, how many records there are, how many
//! tokens a field has in all) go on counting it until the segment is merged
//! away. An index that an incremental build updated (changed documents'
//! records deleted and added again, nothing merged) would then score its
//! hits differently from a clean build of the same sources. [`LiveStats`]
//! counts live records only, in every index alike, so the two agree by
//! construction:
//!
//! * the number of records is the number of live ones;
//! * a term's document frequency is tantivy's in a segment without
//!   deletions, and in one with deletions tantivy's less the deleted records
//!   that hold the term (found by walking the term's postings when they are
//!   short, else the shorter of them and the segment's deleted records,
//!   which are listed only then: listing them reads the whole segment's
//!   deletion bitmap);
//! * a field's token count is the sum, over live records, of the field
//!   length tantivy keeps per record (its *fieldnorm*, as tantivy decodes it
//!   for scoring), which does not depend on which segment a record sits in.
//!   The build works these sums out once ([`field_tokens`]) and keeps them in
//!   `kb-index.json`; a description without them has them worked out when a
//!   query needs them.

use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::Postings;
use tantivy::query::Bm25StatisticsProvider;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, Searcher, SegmentReader, Term, TERMINATED};

/// BM25 statistics of a searcher's live records (see the module header).
pub(crate) struct LiveStats<'a> {
    searcher: &'a Searcher,
    /// Field name → live token count, as the build recorded it.
    tokens: &'a BTreeMap<String, u64>,
    /// Token counts worked out here, for fields the build did not record.
    computed: RefCell<FxHashMap<Field, u64>>,
    /// Per segment (in the searcher's order): its deleted records,
    /// ascending, listed when first needed.
    deleted: Vec<OnceCell<Vec<DocId>>>,
}

/// Postings at most this long are walked to find their deleted records,
/// without listing the segment's.
const WALK: u32 = 4096;

impl<'a> LiveStats<'a> {
    /// Statistics of `searcher`, with the token counts `tokens` (field name →
    /// [`field_tokens`]) recorded by the build.
    pub fn new(searcher: &'a Searcher, tokens: &'a BTreeMap<String, u64>) -> LiveStats<'a> {
        let deleted = searcher.segment_readers().iter().map(|_| OnceCell::new()).collect();
        LiveStats { searcher, tokens, computed: RefCell::default(), deleted }
    }

    /// How many live records hold `term`.
    pub fn live_doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let mut total = 0u64;
        for (seg, deleted) in self.searcher.segment_readers().iter().zip(&self.deleted) {
            let inverted = seg.inverted_index(term.field())?;
            let Some(info) = inverted.get_term_info(term)? else {
                continue;
            };
            let mut df = u64::from(info.doc_freq);
            if seg.has_deletes() {
                let mut postings = inverted.read_postings_from_terminfo(&info, IndexRecordOption::Basic)?;
                df -= if info.doc_freq <= WALK {
                    walk_deleted(&mut postings, seg)
                } else {
                    deleted_holding(&mut postings, deleted.get_or_init(|| deleted_docs(seg)), seg)
                };
            }
            total += df;
        }
        Ok(total)
    }
}

/// How many of the records `deleted` (ascending, all deleted in `seg`) are
/// in `postings`: by walking the postings when they are the shorter list,
/// else by seeking each deleted record in them.
fn deleted_holding(postings: &mut impl Postings, deleted: &[DocId], seg: &SegmentReader) -> u64 {
    if (postings.size_hint() as usize) <= deleted.len() {
        return walk_deleted(postings, seg);
    }
    let mut n = 0u64;
    for &d in deleted {
        if postings.doc() > d {
            continue;
        }
        match postings.seek(d) {
            TERMINATED => break,
            got => n += u64::from(got == d),
        }
    }
    n
}

/// How many records of `postings` are deleted in `seg`, by walking them.
fn walk_deleted(postings: &mut impl Postings, seg: &SegmentReader) -> u64 {
    let mut n = 0u64;
    let mut doc = postings.doc();
    while doc != TERMINATED {
        n += u64::from(seg.is_deleted(doc));
        doc = postings.advance();
    }
    n
}

/// The deleted records of a segment, ascending (none when it has no deletions).
fn deleted_docs(seg: &SegmentReader) -> Vec<DocId> {
    match seg.alive_bitset() {
        Some(alive) if seg.has_deletes() => (0..seg.max_doc()).filter(|&d| alive.is_deleted(d)).collect(),
        _ => Vec::new(),
    }
}

impl Bm25StatisticsProvider for LiveStats<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        let name = self.searcher.schema().get_field_name(field);
        if let Some(&n) = self.tokens.get(name) {
            return Ok(n);
        }
        if let Some(&n) = self.computed.borrow().get(&field) {
            return Ok(n);
        }
        let n = live_tokens(self.searcher, field)?;
        self.computed.borrow_mut().insert(field, n);
        Ok(n)
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self.searcher.num_docs())
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        self.live_doc_freq(term)
    }
}

/// The sum of a field's decoded fieldnorms over the live records of every
/// segment (a field without fieldnorms counts 1 a record, as tantivy scores it).
fn live_tokens(searcher: &Searcher, field: Field) -> tantivy::Result<u64> {
    let mut total = 0u64;
    for seg in searcher.segment_readers() {
        let Ok(norms) = seg.get_fieldnorms_reader(field) else {
            total += u64::from(seg.num_docs());
            continue;
        };
        let mut histogram = [0u64; 256];
        match seg.alive_bitset().filter(|_| seg.has_deletes()) {
            Some(alive) => alive.iter_alive().for_each(|d| histogram[usize::from(norms.fieldnorm_id(d))] += 1),
            None => (0..seg.max_doc()).for_each(|d| histogram[usize::from(norms.fieldnorm_id(d))] += 1),
        }
        total += histogram
            .iter()
            .enumerate()
            .map(|(id, n)| n * u64::from(FieldNormReader::id_to_fieldnorm(id as u8)))
            .sum::<u64>();
    }
    Ok(total)
}

/// Field name → [`LiveStats`]'s token count, for every field that has
/// fieldnorms (what the build records in `kb-index.json`).
pub(crate) fn field_tokens(searcher: &Searcher) -> tantivy::Result<BTreeMap<String, u64>> {
    use rayon::prelude::*;
    let schema = searcher.schema();
    let fields: Vec<(Field, &str)> =
        schema.fields().filter(|(_, e)| e.is_indexed() && e.has_fieldnorms()).map(|(f, e)| (f, e.name())).collect();
    fields.par_iter().map(|&(f, name)| Ok((name.to_string(), live_tokens(searcher, f)?))).collect()
}
