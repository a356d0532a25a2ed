//! Documents and the records they are cut into (the output of `kb-parse`,
//! one JSON object a line in `out/records.jsonl`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A document's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Chinese.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The BCP 47 code (`zh` / `en`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
    /// The other language of the pair.
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
    /// Parses `zh` / `en` (case-insensitive; `zh-cn`, `zh_CN`, `en-us` accepted).
    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.trim().to_ascii_lowercase();
        if s == "zh" || s.starts_with("zh-") || s.starts_with("zh_") || s == "cn" {
            Some(Lang::Zh)
        } else if s == "en" || s.starts_with("en-") || s.starts_with("en_") {
            Some(Lang::En)
        } else {
            None
        }
    }
}

impl std::str::FromStr for Lang {
    type Err = String;
    /// As [`Lang::parse`], with an error that says what is accepted.
    fn from_str(s: &str) -> Result<Lang, String> {
        Lang::parse(s).ok_or_else(|| format!("unknown language {s:?}; use zh or en"))
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// How a document's language was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LangSource {
    /// Detected from the share of Han characters in the text.
    Detected,
    /// Set in the corpus manifest (`kb.toml`).
    Manifest,
}

/// What a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// A heading that is neither a question nor a step.
    Heading,
    /// An item stating a condition or threshold.
    Requirement,
    /// A procedure step (`步骤一`, `Step 1.`, a numbered item under a procedure).
    Step,
    /// A question heading (ending in `？` / `?`) with its answer body.
    Faq,
    /// The header line(s) of a table (and the `|---|` delimiter line).
    TableHeader,
    /// One row of a Markdown or HTML table, cells keyed by the header.
    TableRow,
    /// A callout (`>?` tip, `>!` warning, `:::note`) or a plain blockquote.
    Note,
    /// A list item (or `1、` / `1）` item) that is neither requirement nor step.
    ListItem,
    /// A paragraph of prose.
    Paragraph,
    /// A line holding only an image.
    Image,
    /// A fenced or indented code block.
    Code,
    /// A block of raw HTML other than a table.
    Html,
    /// YAML/TOML front matter.
    FrontMatter,
    /// A thematic break (`---`).
    Separator,
    /// A link reference definition (`[id]: https://…`).
    LinkDefinition,
}

impl RecordKind {
    /// Every kind, in a fixed order (used for summaries).
    pub const ALL: [RecordKind; 15] = [
        RecordKind::Heading,
        RecordKind::Requirement,
        RecordKind::Step,
        RecordKind::Faq,
        RecordKind::TableHeader,
        RecordKind::TableRow,
        RecordKind::Note,
        RecordKind::ListItem,
        RecordKind::Paragraph,
        RecordKind::Image,
        RecordKind::Code,
        RecordKind::Html,
        RecordKind::FrontMatter,
        RecordKind::Separator,
        RecordKind::LinkDefinition,
    ];

    /// The snake_case name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Heading => "heading",
            RecordKind::Requirement => "requirement",
            RecordKind::Step => "step",
            RecordKind::Faq => "faq",
            RecordKind::TableHeader => "table_header",
            RecordKind::TableRow => "table_row",
            RecordKind::Note => "note",
            RecordKind::ListItem => "list_item",
            RecordKind::Paragraph => "paragraph",
            RecordKind::Image => "image",
            RecordKind::Code => "code",
            RecordKind::Html => "html",
            RecordKind::FrontMatter => "front_matter",
            RecordKind::Separator => "separator",
            RecordKind::LinkDefinition => "link_definition",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<RecordKind> {
        RecordKind::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

impl std::str::FromStr for RecordKind {
    type Err = String;
    /// As [`RecordKind::parse`], with an error that lists the kinds.
    fn from_str(s: &str) -> Result<RecordKind, String> {
        RecordKind::parse(s).ok_or_else(|| {
            format!("unknown kind {s:?}; one of: {}", RecordKind::ALL.map(RecordKind::as_str).join(", "))
        })
    }
}

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The type of a callout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NoteType {
    /// `>?` or `:::tip` / `:::note` / `:::info`.
    Tip,
    /// `>!` or `:::warning` / `:::caution` / `:::danger`.
    Warning,
    /// A plain blockquote.
    Quote,
}

/// A link found in a record: its text and target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Link {
    /// The link text as plain text.
    pub text: String,
    /// The target as written.
    pub url: String,
}

/// An image found in a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Image {
    /// The alt text (may be empty).
    pub alt: String,
    /// The source URL as written.
    pub src: String,
}

/// One cell of a table row, keyed by its column header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Cell {
    /// The column header (`<br>` kept as `\n`); for a header spanning several
    /// columns, every column it spans carries it.
    pub header: String,
    /// The cell text (`<br>` kept as `\n`); a cell that a `rowspan` /
    /// `colspan` covers repeats the spanning cell's text.
    pub text: String,
    /// True when the text comes from a spanning cell of another row/column.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub spanned: bool,
}

/// One typed, located piece of a source document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Record {
    /// Stable id: `{doc}#{hash}` where the hash covers the document id, heading
    /// path, kind and text (not a counter), so it survives rebuilds and edits
    /// elsewhere in the document. A `~2`, `~3` suffix separates identical twins.
    pub id: String,
    /// The document id (see [`Document::id`]).
    pub doc: String,
    /// The source file, relative to the corpus folder, `/`-separated.
    pub path: String,
    /// The document's language.
    pub lang: Lang,
    /// What the record is.
    pub kind: RecordKind,
    /// Texts of the enclosing headings, outermost first.
    pub heading_path: Vec<String>,
    /// Plain text: Markdown markup removed, links kept as their text, `<br>`
    /// and line breaks kept as `\n`.
    pub text: String,
    /// First and last source line, 1-based, inclusive.
    pub lines: [u32; 2],
    /// The item marker as written (`1、`, `1.`, `2）`, `步骤一`, `Step 3.`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordinal: Option<String>,
    /// The numeric value of [`Record::ordinal`] (`步骤三` → 3), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u32>,
    /// Heading level (1–6) for headings and heading-shaped faq/step records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
    /// Callout type, for notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note_type: Option<NoteType>,
    /// For faq records: the question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// For faq records: the answer body (may be empty when the answer is
    /// structured into records of its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// For table rows: the cells, in column order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cells: Vec<Cell>,
    /// For table rows: the table's ordinal within the document (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    /// For code blocks: the info string (language).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
    /// Links in the record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    /// Images in the record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
}

impl Record {
    /// A record with the given place, kind and text, and everything else empty
    /// (no id yet, no heading path, no ordinal, cells, links or images).
    pub fn new(
        doc: impl Into<String>,
        path: impl Into<String>,
        lang: Lang,
        kind: RecordKind,
        text: impl Into<String>,
        lines: [u32; 2],
    ) -> Record {
        Record {
            id: String::new(),
            doc: doc.into(),
            path: path.into(),
            lang,
            kind,
            heading_path: Vec::new(),
            text: text.into(),
            lines,
            ordinal: None,
            number: None,
            level: None,
            note_type: None,
            question: None,
            answer: None,
            cells: Vec::new(),
            table: None,
            info: None,
            links: Vec::new(),
            images: Vec::new(),
        }
    }

    /// The heading path joined with ` > `.
    pub fn heading_path_str(&self) -> String {
        self.heading_path.join(" > ")
    }
    /// `path:first-last`, for citations and error messages.
    pub fn location(&self) -> String {
        if self.lines[0] == self.lines[1] {
            format!("{}:{}", self.path, self.lines[0])
        } else {
            format!("{}:{}-{}", self.path, self.lines[0], self.lines[1])
        }
    }
}

impl Document {
    /// A document with the given id, path, language, title and records, its
    /// language marked as detected, UTF-8, and no hash yet.
    pub fn new(
        id: impl Into<String>,
        path: impl Into<String>,
        lang: Lang,
        title: impl Into<String>,
        records: Vec<Record>,
    ) -> Document {
        let line_count = records.iter().map(|r| r.lines[1]).max().unwrap_or(0);
        Document {
            id: id.into(),
            path: path.into(),
            lang,
            lang_source: LangSource::Detected,
            title: title.into(),
            encoding: "UTF-8".to_string(),
            hash: String::new(),
            line_count,
            bytes: 0,
            records,
        }
    }
}

/// One source document and its records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Document {
    /// Document id: the path relative to the corpus folder without its
    /// extension (`zh/blueking-partner-overview`).
    pub id: String,
    /// The source file, relative to the corpus folder, `/`-separated.
    pub path: String,
    /// The document's language.
    pub lang: Lang,
    /// How [`Document::lang`] was decided.
    pub lang_source: LangSource,
    /// The first heading's text, else the file stem.
    pub title: String,
    /// The encoding the file was read in (`UTF-8`, or e.g. `GBK` when decoded).
    pub encoding: String,
    /// blake3 of the raw file bytes (hex).
    pub hash: String,
    /// Number of lines in the (decoded) file.
    pub line_count: u32,
    /// Size of the raw file in bytes.
    pub bytes: u64,
    /// The records, in source order.
    pub records: Vec<Record>,
}

/// What the writer of a `records.jsonl` knows about the file it wrote:
/// where each line starts and the file's fingerprint. Handed from the parse
/// stage to later readers (the index) so they need not read the file again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordsLayout {
    /// The byte offset where each line starts, then the file's length: one
    /// more entry than there are records (lines).
    pub starts: Vec<u64>,
    /// `blake3:` and the hex blake3 of the whole file.
    pub fingerprint: String,
}
