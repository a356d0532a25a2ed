//! `kb serve`: serve the built site (`out/site/`) on 127.0.0.1 for previewing.
//!
//! Only GET and HEAD; only files inside the site folder (percent-decoded
//! paths with `..`, backslashes, NUL or a symlink leading outside are
//! refused); folders serve their `index.html`; content types by extension;
//! `nosniff` and a Content-Security-Policy that allows no inline script.

use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context};

/// Flags of `kb serve`.
#[derive(clap::Args)]
pub struct Args {
    /// The build output folder holding `site/`.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// The port on 127.0.0.1 (0 picks a free one; the URL is printed).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
}

const CSP: &str = "default-src 'self'; img-src 'self' https: http: data:; script-src 'self'; style-src 'self'; \
                   object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The content type for a file name.
pub fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("xml") => "application/xml; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// What a request path maps to.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    /// A file to send.
    File(PathBuf),
    /// A folder asked for without its trailing `/`: redirect here.
    Redirect(String),
    /// Nothing (or something refused).
    NotFound,
}

/// Maps a request URL to a file under `root` (which must be canonical),
/// refusing anything that would leave it.
pub fn resolve(root: &Path, url: &str) -> Resolved {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let Some(bytes) = percent_decode(path) else {
        return Resolved::NotFound;
    };
    let Ok(decoded) = String::from_utf8(bytes) else {
        return Resolved::NotFound;
    };
    if !decoded.starts_with('/') || decoded.contains(['\0', '\\']) {
        return Resolved::NotFound;
    }
    let rel = Path::new(decoded.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Resolved::NotFound;
    }
    let mut full = root.join(rel);
    if full.is_dir() {
        if !decoded.ends_with('/') {
            return Resolved::Redirect(format!("{decoded}/"));
        }
        full = full.join("index.html");
    }
    // Symlinks must not lead outside the site.
    match full.canonicalize() {
        Ok(c) if c.starts_with(root) && c.is_file() => Resolved::File(c),
        _ => Resolved::NotFound,
    }
}

/// Runs `kb serve` until interrupted.
pub fn run(args: Args) -> anyhow::Result<i32> {
    let site = args.out.join("site");
    if !site.join("index.html").is_file() {
        bail!("no site in {} (run `kb build` first)", site.display());
    }
    let root = site.canonicalize().with_context(|| format!("opening {}", site.display()))?;
    let server = tiny_http::Server::http(("127.0.0.1", args.port))
        .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
    let port = server.server_addr().to_ip().map(|a| a.port()).unwrap_or(args.port);
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "serving {} at http://127.0.0.1:{port}/ (Ctrl-C to stop)", site.display())?;
        out.flush()?;
    }
    for req in server.incoming_requests() {
        let head = *req.method() == tiny_http::Method::Head;
        let header =
            |k: &str, v: &str| tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).expect("valid header");
        if !matches!(req.method(), tiny_http::Method::Get | tiny_http::Method::Head) {
            let resp = tiny_http::Response::from_string("method not allowed\n")
                .with_status_code(405)
                .with_header(header("Allow", "GET, HEAD"));
            let _ = req.respond(resp);
            continue;
        }
        let common = [
            header("X-Content-Type-Options", "nosniff"),
            header("Content-Security-Policy", CSP),
            header("Referrer-Policy", "no-referrer"),
            header("Cache-Control", "no-cache"),
        ];
        let result = match resolve(&root, req.url()) {
            Resolved::File(path) => match fs::read(&path) {
                Ok(body) => {
                    let len = body.len();
                    let mut resp = tiny_http::Response::from_data(if head { Vec::new() } else { body })
                        .with_header(header("Content-Type", content_type(&path)));
                    if head {
                        resp = resp.with_header(header("Content-Length", &len.to_string()));
                    }
                    for h in common {
                        resp.add_header(h);
                    }
                    req.respond(resp)
                }
                Err(_) => req.respond(tiny_http::Response::from_string("not found\n").with_status_code(404)),
            },
            Resolved::Redirect(to) => req.respond(
                tiny_http::Response::from_string("").with_status_code(301).with_header(header("Location", &to)),
            ),
            Resolved::NotFound => {
                let mut resp = tiny_http::Response::from_string("not found\n")
                    .with_status_code(404)
                    .with_header(header("Content-Type", "text/plain; charset=utf-8"));
                for h in common {
                    resp.add_header(h);
                }
                req.respond(resp)
            }
        };
        if let Err(e) = result {
            eprintln!("kb serve: {e}");
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_cannot_leave_the_site_folder() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        fs::create_dir_all(site.join("zh")).unwrap();
        fs::write(site.join("index.html"), "x").unwrap();
        fs::write(site.join("zh/index.html"), "x").unwrap();
        fs::write(dir.path().join("secret.txt"), "s").unwrap();
        let root = site.canonicalize().unwrap();
        assert_eq!(resolve(&root, "/"), Resolved::File(root.join("index.html")));
        assert_eq!(resolve(&root, "/zh/index.html?q=%E6%B3%A8"), Resolved::File(root.join("zh/index.html")));
        assert_eq!(resolve(&root, "/zh"), Resolved::Redirect("/zh/".into()));
        assert_eq!(resolve(&root, "/zh/"), Resolved::File(root.join("zh/index.html")));
        for bad in [
            "/../secret.txt",
            "/%2e%2e/secret.txt",
            "/zh/%2E%2E/%2E%2E/secret.txt",
            "/..%2fsecret.txt",
            "/%5c..%5csecret.txt",
            "/%00",
            "//etc/passwd",
            "/%zz",
        ] {
            assert_eq!(resolve(&root, bad), Resolved::NotFound, "{bad}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("secret.txt"), site.join("link.txt")).unwrap();
            assert_eq!(resolve(&root, "/link.txt"), Resolved::NotFound, "symlink out of the site");
        }
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type(Path::new("a.html")), "text/html; charset=utf-8");
        assert_eq!(content_type(Path::new("s/search.js")), "text/javascript; charset=utf-8");
        assert_eq!(content_type(Path::new("sitemap.xml")), "application/xml; charset=utf-8");
        assert_eq!(content_type(Path::new("x.CSS")), "text/css; charset=utf-8");
        assert_eq!(content_type(Path::new("x")), "application/octet-stream");
    }
}
