//! The templates and static assets, embedded in the binary (so `kb` works
//! from any folder) and overridable file by file from a folder.

use std::path::{Path, PathBuf};

use minijinja::Environment;

use crate::{Error, Result};

macro_rules! embed {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../../templates/", $name)))),*]
    };
}

/// Every embedded file: `(name, contents)`. Names ending in `.html` or
/// `.xml` are templates; `static/…` files are copied as they are.
pub const EMBEDDED: &[(&str, &str)] = embed!(
    "base.html",
    "macros.html",
    "root.html",
    "index.html",
    "document.html",
    "faq.html",
    "search.html",
    "sitemap.xml",
    "static/site.css",
    "static/search.js",
);

/// The static assets copied into `static/`.
pub const STATIC_FILES: &[&str] = &["static/site.css", "static/search.js"];

/// Reads templates and assets: from the override folder when it holds the
/// file, else the embedded copy.
#[derive(Debug, Clone)]
pub struct Templates {
    dir: Option<PathBuf>,
}

impl Templates {
    /// Templates overridden by files in `dir`, if given.
    pub fn new(dir: Option<&Path>) -> Templates {
        Templates { dir: dir.map(Path::to_path_buf) }
    }

    /// The contents of `name`.
    pub fn get(&self, name: &str) -> Result<Option<String>> {
        if let Some(dir) = &self.dir {
            // Names are ours, but refuse anything that could leave the folder.
            if !name.split('/').any(|p| p == ".." || p.is_empty()) {
                let p = dir.join(name);
                if p.is_file() {
                    return std::fs::read_to_string(&p).map(Some).map_err(|source| Error::Io {
                        what: "reading template override",
                        path: p,
                        source,
                    });
                }
            }
        }
        Ok(EMBEDDED.iter().find(|(n, _)| *n == name).map(|(_, s)| s.to_string()))
    }

    /// A minijinja environment whose loader reads through [`Templates::get`],
    /// with HTML autoescape for `.html` and `.xml` and undefined variables
    /// as errors.
    pub fn environment(&self) -> Environment<'static> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()
                .expect("the default delimiters are valid"),
        );
        // Escape strings for HTML/XML as `& < > " '` only (minijinja also
        // escapes `/`, which is safe but makes every URL unreadable).
        env.set_formatter(|out, state, value| {
            if matches!(state.auto_escape(), minijinja::AutoEscape::Html) && !value.is_safe() {
                if let Some(s) = value.as_str() {
                    return write_escaped(out, s).map_err(|_| {
                        minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "writing template output")
                    });
                }
            }
            minijinja::escape_formatter(out, state, value)
        });
        let me = self.clone();
        env.set_loader(move |name| {
            me.get(name).map_err(|e| minijinja::Error::new(minijinja::ErrorKind::TemplateNotFound, e.to_string()))
        });
        env
    }
}

/// Escapes text for HTML and XML text and quoted attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    write_escaped(&mut out, s).expect("writing to a string cannot fail");
    out
}

/// Writes [`html_escape`] of `s` to `out`, unchanged runs at once.
pub(crate) fn write_escaped(out: &mut impl std::fmt::Write, s: &str) -> std::fmt::Result {
    let bytes = s.as_bytes();
    let mut done = 0;
    for (i, b) in bytes.iter().enumerate() {
        let esc = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#x27;",
            _ => continue,
        };
        out.write_str(&s[done..i])?;
        out.write_str(esc)?;
        done = i + 1;
    }
    out.write_str(&s[done..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_but_safe_values_are_not() {
        let mut env = Templates::new(None).environment();
        env.add_template("t.html", "{{ a }}|{{ b }}|{{ n }}").unwrap();
        let out = env
            .get_template("t.html")
            .unwrap()
            .render(minijinja::context! { a => "<a href='x'>&\"/</a>", b => minijinja::Value::from_safe_string("<b>".into()), n => 3 })
            .unwrap();
        assert_eq!(out, "&lt;a href=&#x27;x&#x27;&gt;&amp;&quot;/&lt;/a&gt;|<b>|3");
    }
}
