//! Diagnostics that point into a text file: what was wrong, where (file:line:col with the line and a
//! caret underneath), and what to do. Used for `pipeline.toml` errors; rendering is plain text so the
//! CLI can print it unchanged to stderr and tests can compare it verbatim. The value of a
//! secret-looking key (`token = "…"`) is never shown: the line is printed with `***` in its place.

use std::fmt::{self, Write as _};
use std::ops::Range;
use std::sync::Arc;

/// One problem found in a source file.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub message: String,
    pub span: Option<Range<usize>>,
    pub help: Option<String>,
    /// The file the span points into, when it is not the one the diagnostics are rendered
    /// against (a `turbo.json` read alongside the config).
    pub file: Option<Arc<SourceFile>>,
}

/// A text file a diagnostic may point into: its name as shown and its text.
#[derive(Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            span: None,
            help: None,
            file: None,
        }
    }

    /// Points the span into `file` rather than into the text it is rendered against.
    pub fn in_file(mut self, file: &Arc<SourceFile>) -> Self {
        self.file = Some(file.clone());
        self
    }

    pub fn at(mut self, span: Range<usize>) -> Self {
        self.span = Some(span);
        self
    }

    pub fn at_opt(mut self, span: Option<Range<usize>>) -> Self {
        self.span = span;
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(source, offset.min(source.len()));
    let before = &source[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = source[line_start..offset].chars().count() + 1;
    (line, col)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Renders diagnostics against `source`, named `file` in the output.
pub struct Rendered<'a> {
    pub file: &'a str,
    pub source: &'a str,
    pub diagnostics: &'a [Diagnostic],
}

/// Lines longer than this are shown as an excerpt around the error, so a 100 KB line (minified or
/// fuzzed input) prints as one readable line, not the whole of it.
const EXCERPT_CHARS: usize = 100;

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                f.write_char('\n')?;
            }
            writeln!(f, "error: {}", shorten(&d.message, MESSAGE_CHARS))?;
            let (file, source) = d.file.as_ref().map_or((self.file, self.source), |s| {
                (s.name.as_str(), s.text.as_str())
            });
            match &d.span {
                Some(span) => {
                    let (line, col) = line_col(source, span.start);
                    let gutter = " ".repeat(line.to_string().len());
                    writeln!(f, "{gutter}--> {}:{}:{}", file, line, col)?;
                    let text = source.lines().nth(line - 1).unwrap_or("");
                    let start = floor_char_boundary(source, span.start.min(source.len()));
                    let end = floor_char_boundary(source, span.end.clamp(start, source.len()));
                    let end_in_line = source[start..end].find('\n').map_or(end, |n| start + n);
                    let width = source[start..end_in_line].chars().count().max(1);
                    let (text, col, width) = mask_secrets(text, col - 1, width);
                    let (shown, caret_at, width) = excerpt(&text, col, width);
                    writeln!(f, "{gutter} |")?;
                    writeln!(f, "{line} | {shown}")?;
                    writeln!(
                        f,
                        "{gutter} | {}{}",
                        " ".repeat(caret_at),
                        "^".repeat(width)
                    )?;
                    if let Some(help) = &d.help {
                        writeln!(f, "{gutter} = help: {}", shorten(help, MESSAGE_CHARS))?;
                    }
                }
                None => {
                    writeln!(f, "  --> {}", file)?;
                    if let Some(help) = &d.help {
                        writeln!(f, "   = help: {}", shorten(help, MESSAGE_CHARS))?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// What a secret value is shown as.
const MASK: &str = "***";

/// `line` with the value of a secret-looking key (`token`, `signature_key`, `api_secret`,
/// `password`, …) replaced by [`MASK`], from after its `=` to the end of the line, and the
/// caret's column and width (in characters) moved to match: an error about a token says where
/// it is without printing it.
fn mask_secrets(line: &str, col: usize, width: usize) -> (String, usize, usize) {
    let chars: Vec<char> = line.chars().collect();
    let secret_at = chars.iter().enumerate().find_map(|(i, &c)| {
        if c != '=' || chars.get(i + 1) == Some(&'=') {
            return None;
        }
        let key_end = chars[..i].iter().rposition(|c| !c.is_whitespace())? + 1;
        let key_start = chars[..key_end]
            .iter()
            .rposition(|&c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '"' | '\'')))
            .map_or(0, |p| p + 1);
        let key: String = chars[key_start..key_end].iter().collect();
        let value = (i + 1..chars.len()).find(|&j| !chars[j].is_whitespace())?;
        is_secret_key(&key).then_some(value)
    });
    let Some(start) = secret_at else {
        return (line.to_owned(), col, width);
    };
    let end = chars.len();
    let mask = MASK.chars().count();
    let mut shown: String = chars[..start].iter().collect();
    shown.push_str(MASK);
    let (col, width) = if col >= start {
        // The caret in the value marks the mask.
        (start, mask)
    } else {
        let covered = (col + width).min(end);
        let into = covered > start;
        (col, if into { start - col + mask } else { width })
    };
    (shown, col, width)
}

/// Whether a key (bare or quoted) names a secret.
fn is_secret_key(key: &str) -> bool {
    let key = key.trim_matches(['"', '\'']).to_ascii_lowercase();
    ["token", "secret", "password", "passwd", "credential"]
        .iter()
        .any(|w| key.contains(w))
        || key.ends_with("key")
}

/// Messages quote the offending text (an unknown key, a bad glob); past this length the middle
/// of the message is elided.
const MESSAGE_CHARS: usize = 300;

/// `text` with its middle replaced by `…` when it is longer than `max` characters.
fn shorten(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    let n = text.chars().count();
    if n <= max {
        return text.into();
    }
    let keep = max / 2;
    let head: String = text.chars().take(keep).collect();
    let tail: String = text.chars().skip(n - keep).collect();
    format!("{head}…{tail}").into()
}

/// The part of `line` to show for an error at character `col` spanning `width` characters: the
/// whole line when it is short, else a window around the error marked with `…`. Returns the text,
/// the caret's column in it and the caret's width (clipped to the window).
fn excerpt(line: &str, col: usize, width: usize) -> (String, usize, usize) {
    let chars = line.chars().count();
    if chars <= EXCERPT_CHARS {
        return (line.to_string(), col.min(chars), width);
    }
    let from = col.saturating_sub(EXCERPT_CHARS / 4);
    let to = (from + EXCERPT_CHARS).min(chars);
    let from = to.saturating_sub(EXCERPT_CHARS).min(from);
    let mut shown = String::new();
    if from > 0 {
        shown.push('…');
    }
    shown.extend(line.chars().skip(from).take(to - from));
    if to < chars {
        shown.push('…');
    }
    let caret_at = col.saturating_sub(from) + usize::from(from > 0);
    let width = width.min(to.saturating_sub(col).max(1));
    (shown, caret_at, width.max(1))
}

/// The closest of `candidates` to `name`, if it is close enough to be a plausible typo.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(name, c);
        if d <= (name.len().max(3) / 3).max(1) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Edit distance counting a swap of two neighbouring characters as one edit (optimal string
/// alignment): `auht` is one typo away from `auth`, the most common kind of typo.
fn edit_distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let s = "a = 1\nbb = [\"x\"]\n";
        assert_eq!(line_col(s, 0), (1, 1));
        assert_eq!(line_col(s, 6), (2, 1));
        assert_eq!(line_col(s, 12), (2, 7));
    }

    #[test]
    fn renders_caret_under_span() {
        let src = "[workspace]\nmembers = [\"x\"]\nbogus = 1\n";
        let d = [Diagnostic::new("unknown key `bogus`")
            .at(28..33)
            .help("remove it")];
        let out = Rendered {
            file: "pipeline.toml",
            source: src,
            diagnostics: &d,
        }
        .to_string();
        assert!(out.contains("--> pipeline.toml:3:1"), "{out}");
        assert!(out.contains("3 | bogus = 1\n  | ^^^^^\n"), "{out}");
        assert!(out.contains("= help: remove it"), "{out}");
    }

    #[test]
    fn long_lines_show_an_excerpt_and_never_panic() {
        // Columns past 65,535 used to overflow the formatter's width argument.
        let src = format!("[workspace]\n{} = 1\n", "x".repeat(70_000));
        let d = [Diagnostic::new("unknown key").at(12..70_012)];
        let out = Rendered {
            file: "pipeline.toml",
            source: &src,
            diagnostics: &d,
        }
        .to_string();
        assert!(out.contains("--> pipeline.toml:2:1"), "{out}");
        assert!(out.len() < 600, "{out}");
        let d = [Diagnostic::new(format!("unknown field `{}`", "x".repeat(70_000))).at(12..13)];
        let out = Rendered {
            file: "pipeline.toml",
            source: &src,
            diagnostics: &d,
        }
        .to_string();
        assert!(out.len() < 1000, "{out}");
        let src = format!("[workspace]\nk = \"{}\" bad\n", "y".repeat(70_000));
        let at = src.find("bad").unwrap();
        let d = [Diagnostic::new("expected newline").at(at..at + 3)];
        let out = Rendered {
            file: "pipeline.toml",
            source: &src,
            diagnostics: &d,
        }
        .to_string();
        assert!(out.contains(":2:70008"), "{out}");
        let lines: Vec<&str> = out.lines().collect();
        let code = lines.iter().find(|l| l.starts_with("2 | ")).unwrap();
        let caret = lines.iter().find(|l| l.contains('^')).unwrap();
        let caret_col = caret.find('^').unwrap();
        assert_eq!(
            code.chars().skip(caret_col).take(3).collect::<String>(),
            "bad",
            "{out}"
        );
        // A wide span in the middle of a long line: the caret stops at the excerpt's end.
        let src = format!("[workspace]\nk = \"{}\"\n", "z".repeat(70_000));
        let d = [Diagnostic::new("too long").at(30_000..60_000)];
        let out = Rendered {
            file: "pipeline.toml",
            source: &src,
            diagnostics: &d,
        }
        .to_string();
        assert!(out.len() < 600, "{} bytes", out.len());
    }

    #[test]
    fn secret_values_are_masked_in_the_excerpt() {
        let src = "[remote_cache]\nurl = \"https://c\"\ntoken = \"tok_abc123\"  # mine\n";
        let at = src.find("\"tok_").unwrap();
        let d = [Diagnostic::new("no token here").at(at..at + 12)];
        let out = Rendered {
            file: "pipeline.toml",
            source: src,
            diagnostics: &d,
        }
        .to_string();
        assert!(!out.contains("tok_abc123"), "{out}");
        assert!(out.contains("--> pipeline.toml:3:9"), "{out}");
        assert!(out.contains("3 | token = ***\n  |         ^^^\n"), "{out}");
        // Any diagnostic on the line masks it, in any spelling of a secret key.
        for line in [
            "\"token\" = \"tok_abc123\"",
            "remote_cache.token=\"tok_abc123\"",
            "remote_cache = { url = \"https://c\", token = \"tok_abc123\" }",
            "signature_key = \"tok_abc123\"",
            "api_secret = tok_abc123 oops",
        ] {
            let d = [Diagnostic::new("bad").at(0..1)];
            let out = Rendered {
                file: "pipeline.toml",
                source: line,
                diagnostics: &d,
            }
            .to_string();
            assert!(!out.contains("tok_abc123"), "{out}");
            assert!(out.contains("1 | "), "{out}");
        }
        // Other lines are left alone.
        assert_eq!(
            mask_secrets("command = \"make\"", 3, 2),
            ("command = \"make\"".to_owned(), 3, 2)
        );
    }

    #[test]
    fn suggests_close_names_only() {
        let names = ["auth-lib", "db-lib", "user-service"];
        assert_eq!(suggest("auth-lb", names), Some("auth-lib"));
        assert_eq!(suggest("payments", names), None);
        assert_eq!(suggest("auht-lib", names), Some("auth-lib"));
        assert_eq!(suggest("tset", ["test", "build"]), Some("test"));
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
