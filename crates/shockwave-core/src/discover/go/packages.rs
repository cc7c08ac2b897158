//! The packages of one Go module as the `go` command sees them: every directory below the module
//! root holding `.go` files, with the imports of its non-test files and, separately, of its
//! `_test.go` files, and whether it is a `package main`.
//!
//! The walk skips what Go skips — `vendor/`, `testdata/`, files and directories whose name starts
//! with `_` or `.`, and nested modules (a directory with its own `go.mod`) — and never follows a
//! symbolic link, so nothing outside the workspace is read. Every `.go` file counts whatever its
//! build tags: a closure may be wider than one platform's build, never narrower.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::Path;

use rayon::prelude::*;

use super::lexer::{self, FileHead};
use crate::discover::DiscoverError;
use crate::paths::join;

/// The most of one `.go` file read to find its imports: generated files can be huge, but their
/// imports come first.
const MAX_GO_FILE_BYTES: u64 = 16 << 20;
/// The first read of a file; most import sections end well within it.
const HEAD_BYTES: usize = 8 << 10;
/// The deepest directory read below a module root, so a pathological tree cannot exhaust the stack.
const MAX_DEPTH: usize = 256;

/// One package directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Package {
    /// Workspace-relative directory (`""` for the workspace root).
    pub dir: String,
    /// Import paths of its non-test files (sorted, deduplicated).
    pub imports: Vec<String>,
    /// Import paths of its `_test.go` files, in-package and external `_test` package alike.
    pub test_imports: Vec<String>,
    /// Its non-test files declare `package main` (generator files under `//go:build ignore`
    /// aside): a binary.
    pub main: bool,
    /// The folders below it that belong to no other package and no nested module (`testdata/`,
    /// an embedded `static/`, their subfolders), workspace-relative and sorted: what `go:embed`
    /// and the package's tests can read besides its own files.
    pub assets: Vec<String>,
    /// It lies in a `testdata/` folder: no unit of its own (`go test ./...` skips it), but a
    /// test that imports it by path builds it.
    pub data: bool,
}

/// The packages of one module.
#[derive(Debug, Clone, Default)]
pub struct ModuleGraph {
    /// The module path.
    pub module: String,
    /// Workspace-relative module directory.
    pub root: String,
    /// By package directory.
    pub packages: BTreeMap<String, Package>,
    /// The folders below the module root holding a `go.mod` of their own, where the walk stopped
    /// (sorted): nested modules.
    pub nested: Vec<String>,
}

impl ModuleGraph {
    /// The package directory an import path names, when it lies in this module.
    pub fn local_dir(&self, import: &str) -> Option<String> {
        let rest = import.strip_prefix(self.module.as_str())?;
        let rest = if rest.is_empty() {
            ""
        } else {
            rest.strip_prefix('/')?
        };
        Some(join(&self.root, rest))
    }
}

/// Lists the packages of the module rooted at workspace-relative `root` (absolute `ws_root`),
/// reading each `.go` file's import section.
pub fn scan_module(ws_root: &Path, root: &str, module: &str) -> Result<ModuleGraph, DiscoverError> {
    let w = walk(ws_root, root, 0, false)?;
    let mut nested = w.nested;
    nested.sort_unstable();
    Ok(ModuleGraph {
        module: module.to_string(),
        root: root.to_string(),
        packages: w.packages.into_iter().map(|p| (p.dir.clone(), p)).collect(),
        nested,
    })
}

/// The packages at and below `dir`, skipping what Go skips, and the folders at and below it that
/// no package holds (a package above claims those below it as its assets). Inside `testdata/`,
/// which `./...` never lists, every folder is such a folder, and one holding `.go` files is also
/// a package marked `data` (a test may import it by path); `vendor/` and folders whose name
/// starts with `_` or `.` are skipped, as Go skips them. Subdirectories are read in parallel (listing and opening thousands of
/// small files is the whole cost).
fn walk(ws_root: &Path, dir: &str, depth: usize, data: bool) -> Result<Walked, DiscoverError> {
    if depth > MAX_DEPTH {
        return Err(DiscoverError {
            file: dir.to_string(),
            line: None,
            message: format!(
                "directories nest deeper than {MAX_DEPTH} levels below the module root"
            ),
        });
    }
    let abs = ws_root.join(dir);
    let io = |e: std::io::Error| DiscoverError {
        file: if dir.is_empty() {
            ".".into()
        } else {
            dir.to_string()
        },
        line: None,
        message: format!("failed to list the directory: {e}"),
    };
    let mut entries: Vec<(String, fs::FileType)> = Vec::new();
    for entry in fs::read_dir(&abs).map_err(io)? {
        let entry = entry.map_err(io)?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        entries.push((name, entry.file_type().map_err(io)?));
    }
    if !data && depth > 0 && entries.iter().any(|(n, t)| n == "go.mod" && !t.is_dir()) {
        return Ok(Walked {
            nested: vec![dir.to_string()],
            ..Walked::default()
        });
    }
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let files: Vec<String> = entries
        .iter()
        .filter(|(n, t)| t.is_file() && n.ends_with(".go") && !hidden(n))
        .map(|(n, _)| n.clone())
        .collect();
    let own = read_package(ws_root, dir, &files)?;
    let below = entries
        .par_iter()
        .filter(|(name, t)| t.is_dir() && (data || !hidden(name) && name != "vendor"))
        .map(|(name, _)| {
            walk(
                ws_root,
                &join(dir, name),
                depth + 1,
                data || name == "testdata",
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut w = Walked::default();
    for b in below {
        w.packages.extend(b.packages);
        w.orphans.extend(b.orphans);
        w.nested.extend(b.nested);
    }
    match own {
        // In testdata a package is data of the package above (`./...` never lists it), which a
        // test may still import by its path: it is listed, and its folder stays an asset.
        Some(mut p) if data => {
            p.data = true;
            w.packages.insert(0, p);
            w.orphans.push(dir.to_string());
        }
        Some(mut p) => {
            p.assets = std::mem::take(&mut w.orphans);
            p.assets.sort_unstable();
            w.packages.insert(0, p);
        }
        None => w.orphans.push(dir.to_string()),
    }
    Ok(w)
}

/// What one folder's walk found.
#[derive(Default)]
struct Walked {
    packages: Vec<Package>,
    /// Folders no package holds yet.
    orphans: Vec<String>,
    /// Nested module folders.
    nested: Vec<String>,
}

/// Names Go ignores.
fn hidden(name: &str) -> bool {
    name.starts_with('_') || name.starts_with('.')
}

fn read_package(
    ws_root: &Path,
    dir: &str,
    files: &[String],
) -> Result<Option<Package>, DiscoverError> {
    let mut p = Package {
        dir: dir.to_string(),
        ..Package::default()
    };
    let mut any = false;
    for name in files {
        let rel = join(dir, name);
        let Some(head) = read_head(&ws_root.join(&rel), &rel)? else {
            continue;
        };
        any = true;
        if name.ends_with("_test.go") {
            p.test_imports.extend(head.imports);
        } else {
            p.main |= head.package == "main" && !head.ignored;
            p.imports.extend(head.imports);
        }
    }
    for v in [&mut p.imports, &mut p.test_imports] {
        v.sort_unstable();
        v.dedup();
    }
    Ok(any.then_some(p))
}

/// The import section of one file, reading a prefix first and the rest (bounded) only when the
/// section runs past it. `None` for a file without a package clause.
fn read_head(path: &Path, rel: &str) -> Result<Option<FileHead>, DiscoverError> {
    let io = |e: std::io::Error| DiscoverError {
        file: rel.to_string(),
        line: None,
        message: format!("failed to read: {e}"),
    };
    let mut f = fs::File::open(path).map_err(io)?;
    let mut buf = vec![0; HEAD_BYTES];
    let mut len = 0;
    while len < buf.len() {
        match f.read(&mut buf[len..]).map_err(io)? {
            0 => break,
            n => len += n,
        }
    }
    buf.truncate(len);
    let head = lexer::scan(&buf);
    if len < HEAD_BYTES || head.as_ref().is_none_or(|h| h.complete) {
        return Ok(head);
    }
    f.take(MAX_GO_FILE_BYTES - HEAD_BYTES as u64)
        .read_to_end(&mut buf)
        .map_err(io)?;
    Ok(lexer::scan(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn write(root: &Path, files: &[(&str, &str)]) {
        for (p, text) in files {
            let p = root.join(p);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
    }

    #[test]
    fn lists_packages_and_skips_what_go_skips() {
        let t = tempfile::tempdir().unwrap();
        write(
            t.path(),
            &[
                ("go.mod", "module example.com/m\n"),
                (
                    "svc/a/main.go",
                    "package main\nimport (\n\"example.com/m/pkg/x\"\n\"fmt\"\n)\n",
                ),
                (
                    "svc/a/main_test.go",
                    "package main\nimport \"example.com/m/pkg/testutil\"\n",
                ),
                (
                    "svc/a/gen.go",
                    "//go:build ignore\n\npackage main\nimport \"example.com/m/tools\"\n",
                ),
                ("pkg/x/x.go", "package x\nimport \"example.com/m/pkg/y\"\n"),
                (
                    "pkg/x/x_ext_test.go",
                    "package x_test\nimport \"example.com/m/pkg/x\"\n",
                ),
                ("pkg/y/y.go", "package y\n"),
                ("pkg/y/_draft.go", "package y\nimport \"no/underscore\"\n"),
                ("pkg/y/.hidden.go", "package y\nimport \"no/dot\"\n"),
                ("pkg/y/testdata/t.go", "package t\n"),
                ("vendor/v/v.go", "package v\n"),
                ("_old/o.go", "package o\n"),
                ("nested/go.mod", "module example.com/nested\n"),
                ("nested/n.go", "package n\n"),
                ("docs/readme.md", "not go"),
                ("empty/e.go", "// no package clause\n"),
            ],
        );
        let g = scan_module(t.path(), "", "example.com/m").unwrap();
        let dirs: Vec<_> = g.packages.keys().map(String::as_str).collect();
        assert_eq!(dirs, ["pkg/x", "pkg/y", "pkg/y/testdata", "svc/a"]);
        assert!(g.packages["pkg/y/testdata"].data && !g.packages["pkg/y"].data);
        assert_eq!(g.nested, ["nested"]);
        // Folders below a package that hold none of their own are its assets; a package in
        // testdata is listed as data and stays an asset; vendor and `_`/`.` folders are skipped.
        assert_eq!(g.packages["pkg/y"].assets, ["pkg/y/testdata"]);
        assert!(g.packages["svc/a"].assets.is_empty());
        let a = &g.packages["svc/a"];
        assert!(a.main);
        assert_eq!(
            a.imports,
            ["example.com/m/pkg/x", "example.com/m/tools", "fmt"]
        );
        assert_eq!(a.test_imports, ["example.com/m/pkg/testutil"]);
        assert!(!g.packages["pkg/x"].main);
        assert_eq!(g.packages["pkg/x"].test_imports, ["example.com/m/pkg/x"]);
        assert!(g.packages["pkg/y"].imports.is_empty());
        assert_eq!(g.local_dir("example.com/m/pkg/x").as_deref(), Some("pkg/x"));
        assert_eq!(g.local_dir("example.com/m").as_deref(), Some(""));
        assert_eq!(g.local_dir("example.com/mx/y"), None);
    }

    #[test]
    fn a_generator_alone_does_not_make_a_binary() {
        let t = tempfile::tempdir().unwrap();
        write(
            t.path(),
            &[
                ("m/go.mod", "module m\n"),
                ("m/lib/gen.go", "//go:build ignore\n\npackage main\n"),
                ("m/lib/lib.go", "package lib\n"),
            ],
        );
        let g = scan_module(t.path(), "m", "m").unwrap();
        assert!(!g.packages["m/lib"].main);
        assert_eq!(g.local_dir("m/lib").as_deref(), Some("m/lib"));
    }

    #[test]
    fn imports_past_the_first_read_are_found() {
        let t = tempfile::tempdir().unwrap();
        let long = format!(
            "package a\n/*{}*/\nimport \"late/import\"\nfunc f() {{}}\n",
            "x".repeat(3 * HEAD_BYTES)
        );
        write(t.path(), &[("a/a.go", &long)]);
        let g = scan_module(t.path(), "", "m").unwrap();
        assert_eq!(g.packages["a"].imports, ["late/import"]);
    }
}
