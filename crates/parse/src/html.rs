//! Inline HTML: tables (with rowspan/colspan resolved) and plain text of other HTML.

use kb_model::{Cell, Image, Link};
use scraper::{ElementRef, Html, Node, Selector};

/// One row of an HTML table, before it becomes a record.
#[derive(Debug, Clone, PartialEq)]
pub struct HtmlRow {
    /// True when every cell is a `<th>`.
    pub header: bool,
    /// Cells by column; `None` where nothing covers the column.
    pub cells: Vec<Option<GridCell>>,
    /// Links in the row's own cells.
    pub links: Vec<Link>,
    /// Images in the row's own cells.
    pub images: Vec<Image>,
}

/// A cell placed on the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct GridCell {
    /// Its text (`<br>` as `\n`).
    pub text: String,
    /// True when the cell is covered by a rowspan/colspan of another cell.
    pub spanned: bool,
}

/// Byte offsets of the `<tr` tags of a table's source, outside comments.
pub fn row_starts(src: &str) -> Vec<usize> {
    let lower = src.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(p) = lower[i..].find("<tr") {
        let at = i + p;
        let next = lower.as_bytes().get(at + 3).copied().unwrap_or(b' ');
        if next == b'>' || next.is_ascii_whitespace() || next == b'/' {
            out.push(at);
        }
        i = at + 3;
    }
    out
}

/// Finds the end (byte offset after `</table>`) of the table that starts at
/// `start` in `text`, counting nested tables. `None` when it is never closed.
pub fn table_end(text: &str, start: usize) -> Option<usize> {
    let lower = text[start..].to_ascii_lowercase();
    let mut depth = 0usize;
    let mut i = 0;
    while i < lower.len() {
        let rest = &lower[i..];
        if rest.starts_with("<table") && rest[6..].starts_with(|c: char| c == '>' || c.is_ascii_whitespace()) {
            depth += 1;
            i += 6;
        } else if rest.starts_with("</table") {
            depth = depth.saturating_sub(1);
            let close = rest.find('>').map(|p| p + 1).unwrap_or(rest.len());
            i += close;
            if depth == 0 {
                return Some(start + i);
            }
        } else {
            i += rest.chars().next().map(|c| c.len_utf8()).unwrap_or(1);
        }
    }
    None
}

/// Parses a `<table>…</table>` into rows on a grid, rowspan/colspan resolved.
pub fn parse_table(src: &str) -> Vec<HtmlRow> {
    let frag = Html::parse_fragment(src);
    let table_sel = Selector::parse("table").unwrap();
    let Some(table) = frag.select(&table_sel).next() else { return Vec::new() };
    // Rows of this table only (not of tables nested in its cells).
    let rows: Vec<ElementRef> = table
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.value().name() == "tr")
        .filter(|tr| {
            tr.ancestors()
                .filter_map(ElementRef::wrap)
                .find(|a| a.value().name() == "table")
                .is_some_and(|t| t.id() == table.id())
        })
        .collect();
    // (row, col) → cell, filled as spans are placed.
    let mut grid: Vec<Vec<Option<GridCell>>> = vec![Vec::new(); rows.len()];
    let mut out = Vec::with_capacity(rows.len());
    for (r, tr) in rows.iter().enumerate() {
        let mut col = 0usize;
        let mut all_th = true;
        let mut any = false;
        let mut links = Vec::new();
        let mut images = Vec::new();
        for cell in tr.children().filter_map(ElementRef::wrap) {
            let name = cell.value().name();
            if name != "td" && name != "th" {
                continue;
            }
            any = true;
            all_th &= name == "th";
            let span = |attr: &str| {
                cell.value().attr(attr).and_then(|v| v.trim().parse::<usize>().ok()).unwrap_or(1).clamp(1, 1000)
            };
            let (rowspan, colspan) = (span("rowspan"), span("colspan"));
            while grid[r].get(col).is_some_and(|c| c.is_some()) {
                col += 1;
            }
            let text = cell_text(cell, &mut links, &mut images);
            for dr in 0..rowspan.min(rows.len() - r) {
                for dc in 0..colspan {
                    let row = &mut grid[r + dr];
                    if row.len() <= col + dc {
                        row.resize(col + dc + 1, None);
                    }
                    row[col + dc] = Some(GridCell { text: text.clone(), spanned: dr > 0 || dc > 0 });
                }
            }
            col += colspan;
        }
        out.push(HtmlRow { header: any && all_th, cells: Vec::new(), links, images });
    }
    for (row, cells) in out.iter_mut().zip(grid) {
        row.cells = cells;
    }
    out
}

/// Text of a cell: text nodes, `<br>` and block boundaries as `\n`, whitespace collapsed per line.
fn cell_text(el: ElementRef, links: &mut Vec<Link>, images: &mut Vec<Image>) -> String {
    let mut s = String::new();
    collect_text(el, &mut s, links, images);
    normalise_lines(&s)
}

/// Plain text of an HTML fragment (any HTML block that is not a table).
pub fn html_text(src: &str, links: &mut Vec<Link>, images: &mut Vec<Image>) -> String {
    let frag = Html::parse_fragment(src);
    let mut s = String::new();
    collect_text(frag.root_element(), &mut s, links, images);
    normalise_lines(&s)
}

fn collect_text(el: ElementRef, s: &mut String, links: &mut Vec<Link>, images: &mut Vec<Image>) {
    for child in el.children() {
        match child.value() {
            Node::Text(t) => s.push_str(t),
            Node::Element(e) => {
                let name = e.name();
                if matches!(name, "script" | "style") {
                    continue;
                }
                if name == "br" {
                    s.push('\n');
                    continue;
                }
                if name == "img" {
                    images.push(Image {
                        alt: e.attr("alt").unwrap_or("").to_string(),
                        src: e.attr("src").unwrap_or("").to_string(),
                    });
                    continue;
                }
                let block =
                    matches!(name, "p" | "div" | "li" | "tr" | "ul" | "ol" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6");
                if block {
                    s.push('\n');
                }
                let before = s.len();
                if let Some(c) = ElementRef::wrap(child) {
                    collect_text(c, s, links, images);
                }
                if name == "a" {
                    if let Some(href) = e.attr("href") {
                        links.push(Link { text: normalise_lines(&s[before..]), url: href.to_string() });
                    }
                }
                if block {
                    s.push('\n');
                }
            }
            _ => {}
        }
    }
}

/// Collapses runs of whitespace inside lines, trims lines, drops blank lines.
pub fn normalise_lines(s: &str) -> String {
    s.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Turns grid rows into header names and keyed cells.
pub fn keyed_cells(headers: &[String], row: &HtmlRow) -> Vec<Cell> {
    row.cells
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            c.as_ref().map(|c| Cell {
                header: headers.get(i).cloned().unwrap_or_else(|| format!("column {}", i + 1)),
                text: c.text.clone(),
                spanned: c.spanned,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rowspan_and_colspan_are_resolved() {
        let src = r#"<table><tr><th colspan="2">类别</th><th>详细信息</th></tr>
<tr><td rowspan="3">公共权益</th></tr>
<tr><td>内测版本</td><td>提供专属版本<br>丰富的课程</td></tr>
<tr><td>商业计划</td><td>帮助合作伙伴</td></tr></table>"#;
        let rows = parse_table(src);
        assert_eq!(rows.len(), 4);
        assert!(rows[0].header);
        let texts = |r: &HtmlRow| {
            r.cells.iter().map(|c| c.as_ref().map(|c| c.text.clone()).unwrap_or_default()).collect::<Vec<_>>()
        };
        assert_eq!(texts(&rows[0]), ["类别", "类别", "详细信息"]);
        assert_eq!(texts(&rows[2]), ["公共权益", "内测版本", "提供专属版本\n丰富的课程"]);
        assert!(rows[2].cells[0].as_ref().unwrap().spanned);
        assert_eq!(texts(&rows[3]), ["公共权益", "商业计划", "帮助合作伙伴"]);
    }

    #[test]
    fn table_end_counts_nesting_and_reports_unterminated() {
        let s = "<table><tr><td><table><tr><td>x</td></tr></table></td></tr></table>tail";
        assert_eq!(table_end(s, 0), Some(s.len() - 4));
        assert_eq!(table_end("<table><tr><td>x", 0), None);
    }

    #[test]
    fn row_starts_skip_other_tags() {
        let s = "<table>\n<tr><td>a</td></tr>\n<track>\n<TR class=x><td>b</td></TR></table>";
        assert_eq!(row_starts(s).len(), 2);
    }
}
