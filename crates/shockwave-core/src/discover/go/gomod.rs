//! `go.mod` and `go.work` read as the Go toolchain reads them: line-oriented directives
//! (`module`, `go`, `toolchain`, `require`, `replace`, `exclude`, `use`, …), each either on one
//! line or as a parenthesised block, with `//` comments and interpreted or raw quoted strings.
//!
//! Only the directives discovery needs are kept; unknown ones (`retract`, `godebug`, `tool`, …)
//! are skipped as the toolchain's forward compatibility asks. Local paths (`replace` targets and
//! `use` directories) are resolved lexically and must stay inside the workspace: a path that
//! leaves it is an error naming the file and line, never followed.

use crate::discover::DiscoverError;

/// The parts of one `go.mod` that discovery uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoMod {
    /// The module path (`github.com/acme/shop`).
    pub module: String,
    pub go: Option<String>,
    pub toolchain: Option<String>,
    pub require: Vec<Require>,
    pub replace: Vec<Replace>,
    pub exclude: Vec<Require>,
}

/// One `require` (or `exclude`) line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Require {
    pub path: String,
    pub version: String,
    pub line: usize,
    /// Marked `// indirect`: no package of the module needs it directly.
    pub indirect: bool,
}

/// One `replace` line: `old [version] => new [version]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replace {
    pub old: String,
    pub old_version: Option<String>,
    pub new: ReplaceTarget,
    pub line: usize,
}

/// Where a `replace` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplaceTarget {
    /// A directory of the workspace, resolved (workspace-relative, `""` for the root).
    Local(String),
    /// Another module version.
    Module { path: String, version: String },
}

/// The parts of one `go.work` that discovery uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoWork {
    /// Every `use` directory, resolved (workspace-relative), with its line; in file order.
    pub uses: Vec<(String, usize)>,
    pub replace: Vec<Replace>,
}

/// One directive: its line and its tokens after the verb (the verb is `tokens[0]` outside a block).
struct Line {
    number: usize,
    tokens: Vec<String>,
    /// The line's `//` comment is `indirect` (or starts `indirect;`), as `go mod tidy` writes it.
    indirect: bool,
}

/// Splits a go.mod / go.work text into directive lines, expanding blocks: `require ( a v1 )`
/// yields one `["require", "a", "v1"]` per line of the block.
fn directives(file: &str, text: &str) -> Result<Vec<Line>, DiscoverError> {
    let mut out = Vec::new();
    let mut block: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let (tokens, comment) = tokenize(raw).map_err(|e| err(file, number, e.to_string()))?;
        let indirect = comment.is_some_and(|c| {
            let c = c.trim();
            c == "indirect" || c.starts_with("indirect;")
        });
        let Some(first) = tokens.first() else {
            continue;
        };
        if let Some(verb) = &block {
            if first == ")" && tokens.len() == 1 {
                block = None;
                continue;
            }
            let mut t = Vec::with_capacity(tokens.len() + 1);
            t.push(verb.clone());
            t.extend(tokens);
            out.push(Line {
                number,
                tokens: t,
                indirect,
            });
        } else if tokens.len() == 2 && tokens[1] == "(" {
            block = Some(tokens[0].clone());
        } else if first == "(" || first == ")" {
            return Err(err(file, number, "unexpected parenthesis".into()));
        } else {
            out.push(Line {
                number,
                tokens,
                indirect,
            });
        }
    }
    if let Some(verb) = block {
        return Err(err(
            file,
            text.lines().count().max(1),
            format!("`{verb} (` block is never closed: add `)`"),
        ));
    }
    Ok(out)
}

/// A string on a `go.mod` line that never ends.
#[derive(Debug, thiserror::Error)]
enum TokenError {
    #[error("raw string is never closed")]
    RawString,
    #[error("malformed quoted string")]
    Quoted,
}

/// Tokens of one line: bare words, `(`, `)`, `=>`, and quoted strings (unquoted); `//` ends
/// them, and what follows it is returned as the comment.
fn tokenize(line: &str) -> Result<(Vec<String>, Option<&str>), TokenError> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\r' => i += 1,
            b'/' if b.get(i + 1) == Some(&b'/') => return Ok((out, Some(&line[i + 2..]))),
            b'(' | b')' => {
                out.push((b[i] as char).to_string());
                i += 1;
            }
            b'`' => {
                let end = b[i + 1..]
                    .iter()
                    .position(|&c| c == b'`')
                    .ok_or(TokenError::RawString)?;
                out.push(line[i + 1..i + 1 + end].to_string());
                i += end + 2;
            }
            b'"' => {
                let (s, len) = super::lexer::unquote(&b[i..]).ok_or(TokenError::Quoted)?;
                out.push(s);
                i += len;
            }
            _ => {
                let start = i;
                while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\r' | b'(' | b')' | b'"') {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
                        break;
                    }
                    i += 1;
                }
                out.push(line[start..i].to_string());
            }
        }
    }
    Ok((out, None))
}

fn err(file: &str, line: usize, message: String) -> DiscoverError {
    DiscoverError {
        file: file.to_string(),
        line: Some(line),
        message,
    }
}

/// Parses `go.mod` at workspace-relative `file` (its directory resolves local `replace` paths).
pub fn parse_go_mod(file: &str, text: &str) -> Result<GoMod, DiscoverError> {
    let dir = parent(file);
    let mut m = GoMod::default();
    let mut module_seen = false;
    for l in directives(file, text)? {
        let t = &l.tokens;
        let args = &t[1..];
        match t[0].as_str() {
            "module" => {
                let [path] = args else {
                    return Err(err(file, l.number, "`module` takes one module path".into()));
                };
                check_module_path(file, l.number, path)?;
                m.module = path.clone();
                module_seen = true;
            }
            "go" => m.go = Some(one(file, &l, "go")?),
            "toolchain" => m.toolchain = Some(one(file, &l, "toolchain")?),
            "require" | "exclude" => {
                let [path, version] = args else {
                    return Err(err(
                        file,
                        l.number,
                        format!("`{}` takes a module path and a version", t[0]),
                    ));
                };
                check_module_path(file, l.number, path)?;
                let r = Require {
                    path: path.clone(),
                    version: version.clone(),
                    line: l.number,
                    indirect: l.indirect,
                };
                if t[0] == "require" {
                    m.require.push(r);
                } else {
                    m.exclude.push(r);
                }
            }
            "replace" => m.replace.push(replace(file, dir, &l)?),
            // `retract`, `godebug`, `tool`, `ignore` and later directives do not change which
            // local modules or packages exist.
            _ => {}
        }
    }
    if !module_seen {
        // Where the directive belongs: the top of the file.
        return Err(err(
            file,
            1,
            "no `module` directive: a go.mod starts with `module PATH`".into(),
        ));
    }
    Ok(m)
}

/// Parses `go.work` at workspace-relative `file`.
pub fn parse_go_work(file: &str, text: &str) -> Result<GoWork, DiscoverError> {
    let dir = parent(file);
    let mut w = GoWork::default();
    for l in directives(file, text)? {
        match l.tokens[0].as_str() {
            "use" => {
                let path = one(file, &l, "use")?;
                w.uses
                    .push((local_path(file, l.number, dir, &path)?, l.number));
            }
            "replace" => w.replace.push(replace(file, dir, &l)?),
            _ => {}
        }
    }
    Ok(w)
}

fn one(file: &str, l: &Line, verb: &str) -> Result<String, DiscoverError> {
    match &l.tokens[1..] {
        [v] => Ok(v.clone()),
        _ => Err(err(file, l.number, format!("`{verb}` takes one argument"))),
    }
}

fn replace(file: &str, dir: &str, l: &Line) -> Result<Replace, DiscoverError> {
    let args = &l.tokens[1..];
    let arrow = args.iter().position(|a| a == "=>").ok_or_else(|| {
        err(
            file,
            l.number,
            "`replace` needs `old [version] => new [version]`".into(),
        )
    })?;
    let (lhs, rhs) = (&args[..arrow], &args[arrow + 1..]);
    let bad = || {
        err(
            file,
            l.number,
            "`replace` needs `old [version] => new [version]`".into(),
        )
    };
    let (old, old_version) = match lhs {
        [o] => (o.clone(), None),
        [o, v] => (o.clone(), Some(v.clone())),
        _ => return Err(bad()),
    };
    let new = match rhs {
        [p] if is_local(p) => ReplaceTarget::Local(local_path(file, l.number, dir, p)?),
        [p] => {
            return Err(err(
                file,
                l.number,
                format!("replacement `{p}` is neither a local path (`./…`, `../…`) nor a module with a version"),
            ))
        }
        [p, v] => ReplaceTarget::Module {
            path: p.clone(),
            version: v.clone(),
        },
        _ => return Err(bad()),
    };
    Ok(Replace {
        old,
        old_version,
        new,
        line: l.number,
    })
}

/// Go's rule: a replacement is a directory when it is absolute or starts with `./` or `../`.
fn is_local(p: &str) -> bool {
    p.starts_with("./")
        || p.starts_with("../")
        || p == "."
        || p == ".."
        || p.starts_with('/')
        || p.starts_with(".\\")
        || p.starts_with("..\\")
}

/// Resolves `path` (relative to workspace-relative `dir`) lexically; leaving the workspace, or an
/// absolute path, is an error: the repository must not depend on what lies outside it.
pub fn local_path(file: &str, line: usize, dir: &str, path: &str) -> Result<String, DiscoverError> {
    match crate::discover::files::join(dir, path) {
        Some(p) if !path.contains('\0') => Ok(p),
        _ => Err(err(
            file,
            line,
            format!("`{path}` leaves the repository: only directories inside it can be read"),
        )),
    }
}

fn check_module_path(file: &str, line: usize, path: &str) -> Result<(), DiscoverError> {
    let ok = !path.is_empty()
        && path.len() <= 1024
        && !path.starts_with('/')
        && !path.ends_with('/')
        && path
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-._~/+".contains(&c));
    if ok {
        Ok(())
    } else {
        Err(err(file, line, format!("`{path}` is not a module path")))
    }
}

/// The directory part of a workspace-relative file path (`""` at the root).
pub fn parent(file: &str) -> &str {
    file.rfind('/').map_or("", |i| &file[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &str = r#"module github.com/acme/shop // the shop

go 1.22.3

toolchain go1.23.1

require (
	github.com/google/uuid v1.6.0
	github.com/acme/shop/libs/auth v0.0.0-00010101000000-000000000000 // indirect
	"golang.org/x/sync" v0.7.0
)

require github.com/stretchr/testify v1.9.0

exclude github.com/bad/mod v1.0.0

replace github.com/acme/shop/libs/auth => ./libs/auth
replace (
	golang.org/x/net v0.1.0 => golang.org/x/net v0.2.0
	github.com/acme/other => ../other // sibling module
)

retract [v1.0.0, v1.0.5]
godebug default=go1.21
"#;

    #[test]
    fn reads_a_real_go_mod() {
        let m = parse_go_mod("svc/go.mod", REAL).unwrap();
        assert_eq!(m.module, "github.com/acme/shop");
        assert_eq!(m.go.as_deref(), Some("1.22.3"));
        assert_eq!(m.toolchain.as_deref(), Some("go1.23.1"));
        let req: Vec<_> = m.require.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            req,
            [
                "github.com/google/uuid",
                "github.com/acme/shop/libs/auth",
                "golang.org/x/sync",
                "github.com/stretchr/testify"
            ]
        );
        assert_eq!(m.require[3].line, 13);
        assert_eq!(m.exclude[0].path, "github.com/bad/mod");
        assert_eq!(
            m.replace[0].new,
            ReplaceTarget::Local("svc/libs/auth".into())
        );
        assert_eq!(m.replace[1].old_version.as_deref(), Some("v0.1.0"));
        assert_eq!(
            m.replace[1].new,
            ReplaceTarget::Module {
                path: "golang.org/x/net".into(),
                version: "v0.2.0".into()
            }
        );
        assert_eq!(m.replace[2].new, ReplaceTarget::Local("other".into()));
        assert_eq!(m.replace[2].line, 20);
    }

    #[test]
    fn go_work_use_in_both_forms() {
        let w = parse_go_work(
            "go.work",
            "go 1.22\n\nuse ./tools\nuse (\n\t.\n\t./services/a // a\n\t\"./services/b\"\n)\nreplace x.io/y => ./third_party/y\n",
        )
        .unwrap();
        assert_eq!(
            w.uses,
            [
                ("tools".to_string(), 3),
                (String::new(), 5),
                ("services/a".into(), 6),
                ("services/b".into(), 7)
            ]
        );
        assert_eq!(
            w.replace[0].new,
            ReplaceTarget::Local("third_party/y".into())
        );
    }

    #[test]
    fn paths_leaving_the_repository_are_errors_with_the_line() {
        let e = parse_go_mod("a/go.mod", "module m\nreplace x => ../../y\n").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("a/go.mod", Some(2)));
        assert!(e.message.contains("leaves the repository"), "{e}");
        let e = parse_go_work("go.work", "use (\n  /etc\n)\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(parse_go_mod("a/go.mod", "module m\nreplace x => ../y\n").is_ok());
    }

    #[test]
    fn malformed_files_name_the_line() {
        for (text, line) in [
            ("module m\nrequire (\n x v1\n", Some(3)),
            ("module m\nrequire x\n", Some(2)),
            ("module m\nreplace x ./y\n", Some(2)),
            ("module m\nreplace x => y\n", Some(2)),
            ("module \"m\n", Some(1)),
            ("module m\n)\n", Some(2)),
            ("go 1.21\n", Some(1)),
            ("module a b\n", Some(1)),
            ("module has space/\n", Some(1)),
        ] {
            let e = parse_go_mod("go.mod", text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
        }
    }
}
