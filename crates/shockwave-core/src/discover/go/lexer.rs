//! The head of a Go source file: its package clause and its import declarations, read by a small
//! lexer that knows exactly what can appear before them — whitespace, `//` and `/* */` comments,
//! `;`, and interpreted or raw string literals — and stops at the first other declaration.
//!
//! No Go toolchain is needed, build tags are not evaluated (every file counts, which can only
//! widen a closure), and any bytes are accepted: malformed input ends the scan early with what
//! was read so far; nothing here can panic or read past its input.

/// What the head of one file declares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileHead {
    /// The package name (`main`, `auth`, `auth_test`).
    pub package: String,
    /// Import paths in file order (aliases, `_` and `.` dropped).
    pub imports: Vec<String>,
    /// The file carries a `//go:build ignore` (or `// +build ignore`) constraint: the convention
    /// for generator programs run with `go run`, which are never part of their directory's package.
    pub ignored: bool,
    /// The scan reached a declaration after the imports. `false` when the input ended first: a
    /// caller that read only a prefix of the file must read more.
    pub complete: bool,
}

enum Token<'a> {
    Ident(&'a [u8]),
    Str(String),
    Punct(u8),
    /// Anything else (a number, an operator, malformed text): ends the import section.
    Other,
    Eof,
}

struct Lexer<'a> {
    b: &'a [u8],
    i: usize,
    ignored: bool,
}

impl<'a> Lexer<'a> {
    fn next(&mut self) -> Token<'a> {
        let b = self.b;
        loop {
            let Some(&c) = b.get(self.i) else {
                return Token::Eof;
            };
            match c {
                b' ' | b'\t' | b'\r' | b'\n' | b';' => self.i += 1,
                b'/' if b.get(self.i + 1) == Some(&b'/') => {
                    let end = b[self.i..]
                        .iter()
                        .position(|&c| c == b'\n')
                        .map_or(b.len(), |p| self.i + p);
                    let text = b[self.i + 2..end].trim_ascii();
                    if text == b"go:build ignore" || text == b"+build ignore" {
                        self.ignored = true;
                    }
                    self.i = end;
                }
                b'/' if b.get(self.i + 1) == Some(&b'*') => {
                    match b[self.i + 2..].windows(2).position(|w| w == b"*/") {
                        Some(p) => self.i += p + 4,
                        None => return Token::Eof,
                    }
                }
                b'"' => {
                    return match unquote(&b[self.i..]) {
                        Some((s, len)) => {
                            self.i += len;
                            Token::Str(s)
                        }
                        None => Token::Other,
                    }
                }
                b'`' => {
                    return match b[self.i + 1..].iter().position(|&c| c == b'`') {
                        Some(p) => {
                            let raw = &b[self.i + 1..self.i + 1 + p];
                            self.i += p + 2;
                            // Go drops carriage returns from raw strings.
                            let s: Vec<u8> = raw.iter().copied().filter(|&c| c != b'\r').collect();
                            match String::from_utf8(s) {
                                Ok(s) => Token::Str(s),
                                Err(_) => Token::Other,
                            }
                        }
                        None => Token::Eof,
                    };
                }
                b'(' | b')' | b'.' => {
                    self.i += 1;
                    return Token::Punct(c);
                }
                c if is_ident_start(c) => {
                    let start = self.i;
                    while b
                        .get(self.i)
                        .is_some_and(|&c| is_ident_start(c) || c.is_ascii_digit())
                    {
                        self.i += 1;
                    }
                    return Token::Ident(&b[start..self.i]);
                }
                _ => return Token::Other,
            }
        }
    }
}

/// Letters, `_` and any non-ASCII byte (Go identifiers may be Unicode letters).
fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

/// Reads the package clause and imports of Go source `src`; `None` when it has no package clause
/// (not a Go file Go would compile).
pub fn scan(src: &[u8]) -> Option<FileHead> {
    let mut lx = Lexer {
        b: src,
        i: 0,
        ignored: false,
    };
    if !matches!(lx.next(), Token::Ident(b"package")) {
        return None;
    }
    let Token::Ident(name) = lx.next() else {
        return None;
    };
    let mut head = FileHead {
        package: String::from_utf8_lossy(name).into_owned(),
        ..FileHead::default()
    };
    loop {
        match lx.next() {
            Token::Ident(b"import") => {}
            Token::Eof => break,
            _ => {
                head.complete = true;
                break;
            }
        }
        match lx.next() {
            Token::Punct(b'(') => loop {
                match lx.next() {
                    Token::Punct(b')') => break,
                    Token::Eof => return Some(finish(head, lx.ignored)),
                    t => {
                        if !spec(&mut lx, t, &mut head.imports) {
                            head.complete = true;
                            return Some(finish(head, lx.ignored));
                        }
                    }
                }
            },
            Token::Eof => break,
            t => {
                if !spec(&mut lx, t, &mut head.imports) {
                    head.complete = true;
                    break;
                }
            }
        }
    }
    Some(finish(head, lx.ignored))
}

fn finish(mut head: FileHead, ignored: bool) -> FileHead {
    head.ignored = ignored;
    head
}

/// One import spec starting at `first`: `[name | . | _] "path"`. `false` when it is malformed.
fn spec(lx: &mut Lexer, first: Token, out: &mut Vec<String>) -> bool {
    let path = match first {
        Token::Str(s) => s,
        Token::Ident(_) | Token::Punct(b'.') => match lx.next() {
            Token::Str(s) => s,
            _ => return false,
        },
        _ => return false,
    };
    out.push(path);
    true
}

/// Decodes the Go interpreted string literal at the start of `b` (which begins with `"`): the
/// string and the bytes it spans. `None` when it is unterminated, spans a line, has a bad escape
/// or is not UTF-8.
pub fn unquote(b: &[u8]) -> Option<(String, usize)> {
    let mut out = Vec::new();
    let mut i = 1;
    loop {
        let c = *b.get(i)?;
        i += 1;
        match c {
            b'"' => return String::from_utf8(out).ok().map(|s| (s, i)),
            b'\n' => return None,
            b'\\' => {
                let e = *b.get(i)?;
                i += 1;
                match e {
                    b'a' => out.push(7),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'v' => out.push(11),
                    b'\\' => out.push(b'\\'),
                    b'"' => out.push(b'"'),
                    b'x' => {
                        out.push(
                            u8::from_str_radix(std::str::from_utf8(b.get(i..i + 2)?).ok()?, 16)
                                .ok()?,
                        );
                        i += 2;
                    }
                    b'0'..=b'7' => {
                        let v =
                            u32::from_str_radix(std::str::from_utf8(b.get(i - 1..i + 2)?).ok()?, 8)
                                .ok()?;
                        out.push(u8::try_from(v).ok()?);
                        i += 2;
                    }
                    b'u' | b'U' => {
                        let n = if e == b'u' { 4 } else { 8 };
                        let v =
                            u32::from_str_radix(std::str::from_utf8(b.get(i..i + n)?).ok()?, 16)
                                .ok()?;
                        let ch = char::from_u32(v)?;
                        let mut buf = [0; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        i += n;
                    }
                    _ => return None,
                }
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imports(src: &str) -> Vec<String> {
        scan(src.as_bytes()).unwrap().imports
    }

    #[test]
    fn reads_every_import_form() {
        let src = r#"// Copyright 2024 Acme.
//go:build linux && !race
/* a block
   comment */

// Package main runs the user service.
package main // trailing

import "fmt"
import (
	"context"
	stdlog "log" // alias
	_ "net/http/pprof"
	. "github.com/acme/shop/pkg/dsl"
	/* inline */ "github.com/acme/shop/pkg/auth"
	`github.com/acme/shop/pkg/raw`
	"github.com/acme/shop/pkg/\u00e9sc\x61pe"
); import "os"

func main() {
	_ = "import \"not/this\""
}
"#;
        let h = scan(src.as_bytes()).unwrap();
        assert_eq!(h.package, "main");
        assert!(h.complete && !h.ignored);
        assert_eq!(
            h.imports,
            [
                "fmt",
                "context",
                "log",
                "net/http/pprof",
                "github.com/acme/shop/pkg/dsl",
                "github.com/acme/shop/pkg/auth",
                "github.com/acme/shop/pkg/raw",
                "github.com/acme/shop/pkg/éscape",
                "os"
            ]
        );
    }

    #[test]
    fn stops_at_the_first_declaration() {
        assert_eq!(
            imports("package a\nimport \"x\"\nvar _ = 1\nimport \"y\"\n"),
            ["x"]
        );
        assert_eq!(
            imports("package a\ntype T int\nimport \"y\"\n"),
            Vec::<String>::new()
        );
        let h = scan(b"package a\n\nimport \"x\"\n").unwrap();
        assert!(!h.complete, "the input ended before any declaration");
        let h = scan(b"package a\nimport (\n\"x\"\n").unwrap();
        assert!(!h.complete);
        assert_eq!(h.imports, ["x"]);
    }

    #[test]
    fn comments_and_strings_that_look_like_imports_do_not_count() {
        let src = "package a\n// import \"no/1\"\n/* import \"no/2\" */\nimport \"yes\"\nconst s = `\nimport \"no/3\"\n`\n";
        assert_eq!(imports(src), ["yes"]);
    }

    #[test]
    fn build_ignore_marks_generator_files() {
        let h = scan(b"//go:build ignore\n\npackage main\nimport \"os\"\n").unwrap();
        assert!(h.ignored);
        let h = scan(b"// +build ignore\n\npackage main\n").unwrap();
        assert!(h.ignored);
        let h = scan(b"//go:build linux\npackage main\n").unwrap();
        assert!(!h.ignored);
    }

    #[test]
    fn no_package_clause_is_not_go() {
        assert!(scan(b"").is_none());
        assert!(scan(b"// just a comment\n").is_none());
        assert!(scan(b"import \"x\"\n").is_none());
        assert!(scan(b"package\n").is_none());
        assert!(scan(b"package 1x\n").is_none());
    }

    #[test]
    fn unquote_handles_go_escapes() {
        assert_eq!(
            unquote(br#""a\tb\"c\\""#).unwrap(),
            ("a\tb\"c\\".into(), 11)
        );
        assert_eq!(unquote(br#""\101\x42\u0043\U00000044""#).unwrap().0, "ABCD");
        for bad in [
            &br#""abc"#[..],
            b"\"a\nb\"",
            br#""\q""#,
            br#""\xZZ""#,
            br#""\777""#,
            br#""\uD800""#,
            b"\"\xff\"",
        ] {
            assert!(unquote(bad).is_none(), "{bad:?}");
        }
    }

    /// Any bytes at all: the scan returns, never panics. A small deterministic generator stands in
    /// for a fuzzer so the test runs everywhere; the mutations start from a valid file so they
    /// reach deep into the grammar.
    #[test]
    fn never_panics_on_any_bytes() {
        let seed = br#"//go:build ignore
package main
import ( a "x/y"; _ `z`; . "q\u00e9\x41\101" /* c */ )
import "w"
func f() {}
"#;
        let alphabet = b"package import\"`/*\\()._;\n xu0U7\xff\xc3a";
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut rand = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000 {
            let mut buf = if round % 2 == 0 {
                seed.to_vec()
            } else {
                Vec::new()
            };
            let edits = 1 + rand() % 8;
            for _ in 0..edits {
                let r = rand();
                let pos = if buf.is_empty() {
                    0
                } else {
                    (r as usize >> 8) % (buf.len() + 1)
                };
                let byte = if r % 3 == 0 {
                    (r >> 32) as u8
                } else {
                    alphabet[(r >> 40) as usize % alphabet.len()]
                };
                match r % 4 {
                    0 if pos < buf.len() => buf[pos] = byte,
                    1 if pos < buf.len() => {
                        buf.remove(pos);
                    }
                    2 => buf.truncate(pos),
                    _ => buf.insert(pos, byte),
                }
            }
            if let Some(h) = scan(&buf) {
                assert!(!h.package.is_empty());
            }
            let _ = unquote(&buf);
        }
    }
}
