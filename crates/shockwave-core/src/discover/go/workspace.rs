//! Finding the modules of a Go workspace: those a `go.work` uses, or with none every `go.mod`
//! below the workspace root.

use super::gomod::{parse_go_mod, GoMod, GoWork};
use crate::confine::Root;
use crate::discover::{files, DiscoverError};
use crate::paths::join;

/// The most directories searched for `go.mod` files, so a pathological tree cannot stall
/// discovery.
const MAX_DIRS: usize = 200_000;

/// One module of the workspace.
pub(super) struct Module {
    /// Workspace-relative folder (`""` for the workspace root).
    pub dir: String,
    /// Its go.mod, workspace-relative.
    pub manifest: String,
    pub go_mod: GoMod,
}

/// The modules `work` uses; a `use` without a go.mod is an error at its line.
pub(super) fn load_work(root: &Root, work: &GoWork) -> Result<Vec<Module>, Vec<DiscoverError>> {
    let mut modules = Vec::new();
    let mut errors = Vec::new();
    let mut first_use: std::collections::HashMap<&str, usize> = Default::default();
    for (dir, line) in &work.uses {
        let shown = if dir.is_empty() { "." } else { dir };
        if let Some(&first) = first_use.get(dir.as_str()) {
            // As Go: "path … appears multiple times in workspace". Both lines are named.
            errors.push(DiscoverError {
                file: "go.work".into(),
                line: Some(*line),
                message: format!(
                    "`use {shown}` names a folder go.work:{first} already uses; Go refuses a folder used twice: remove one of the two lines"
                ),
            });
            continue;
        }
        first_use.insert(dir, *line);
        let manifest = join(dir, "go.mod");
        match read_module(root, dir, &manifest) {
            Ok(Some(m)) => modules.push(m),
            Ok(None) => errors.push(DiscoverError {
                file: "go.work".into(),
                line: Some(*line),
                message: format!(
                    "`use {shown}` names a directory without a go.mod: add one or remove the line"
                ),
            }),
            // A go.mod that cannot be read at all (too long a path, not a file) has no line of
            // its own: the `use` that names it is where to look.
            Err(e) if e.line.is_none() => errors.push(DiscoverError {
                file: "go.work".into(),
                line: Some(*line),
                message: format!(
                    "`use {}`: its go.mod cannot be read ({}: {}): fix the folder or remove the line",
                    if dir.is_empty() { "." } else { dir },
                    e.file,
                    e.message
                ),
            }),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    modules.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(modules)
}

/// Every `go.mod` below `root` (which has none of its own, nor a go.work).
pub(super) fn find_all(root: &Root) -> Result<Vec<Module>, Vec<DiscoverError>> {
    let mut dirs = Vec::new();
    find_modules(root, "", &mut dirs, &mut 0).map_err(|e| vec![e])?;
    read_modules(root, &dirs)
}

/// The modules in `dirs` (a folder whose go.mod went away is skipped).
pub(super) fn read_modules(
    root: &Root,
    dirs: &[String],
) -> Result<Vec<Module>, Vec<DiscoverError>> {
    let mut modules = Vec::new();
    let mut errors = Vec::new();
    for dir in dirs {
        match read_module(root, dir, &join(dir, "go.mod")) {
            Ok(Some(m)) => modules.push(m),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(modules)
}

pub(super) fn read_module(
    root: &Root,
    dir: &str,
    manifest: &str,
) -> Result<Option<Module>, DiscoverError> {
    let Some(text) = files::read(root, manifest)? else {
        return Ok(None);
    };
    Ok(Some(Module {
        dir: dir.to_string(),
        manifest: manifest.to_string(),
        go_mod: parse_go_mod(manifest, &text)?,
    }))
}

/// Directories below `dir` holding a go.mod, skipping what Go skips and never following links.
fn find_modules(
    root: &Root,
    dir: &str,
    out: &mut Vec<String>,
    seen: &mut usize,
) -> Result<(), DiscoverError> {
    *seen += 1;
    if *seen > MAX_DIRS {
        return Err(DiscoverError {
            file: dir.to_string(),
            line: None,
            message: format!("more than {MAX_DIRS} directories searched for go.mod files: add a go.work that lists the modules"),
        });
    }
    let Ok(entries) = std::fs::read_dir(root.path().join(dir)) else {
        return Ok(());
    };
    let mut subdirs = Vec::new();
    for entry in entries.flatten() {
        let (Ok(name), Ok(kind)) = (entry.file_name().into_string(), entry.file_type()) else {
            continue;
        };
        if name == "go.mod" && kind.is_file() {
            out.push(dir.to_string());
        } else if kind.is_dir()
            && !name.starts_with(['.', '_'])
            && !matches!(name.as_str(), "testdata" | "vendor" | "node_modules")
        {
            subdirs.push(name);
        }
    }
    subdirs.sort_unstable();
    for name in subdirs {
        find_modules(root, &join(dir, &name), out, seen)?;
    }
    Ok(())
}
