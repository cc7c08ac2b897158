//! `go.mod` of a single module, read with the same go.mod reader discovery uses
//! (`discover::go::gomod`), so both always agree on what the file says. A service's closure is what
//! of the module file its build depends on:
//!
//! - `go@X` and `toolchain@X`, for every service (they change how everything builds);
//! - each required module `M@v` that provides one of the service's external imports: the import
//!   path is `M` or starts with `M/`, the longest such `M` winning (nested modules);
//! - every `// indirect` requirement, for every service: go.mod does not say which direct
//!   dependency needs it, so a change to one is assumed to reach every build;
//! - for each module in the closure, the `replace` that applies to it (`M@v => N@w`,
//!   `M => ../dir`) and its `exclude`s (`M@v excluded`).
//!
//! `go.sum` is no input: it only records checksums of what go.mod already pins.

use std::collections::HashMap;

use super::Closure;
use crate::discover::go::gomod::{parse_go_mod, GoMod, Replace, ReplaceTarget, Require};
use crate::discover::LockUser;

/// Closures of `users` from the text of the workspace root's `go.mod`.
pub(super) fn closures(text: &str, users: &[LockUser]) -> Result<Vec<Closure>, String> {
    let module: GoMod = parse_go_mod("go.mod", text).map_err(|e| {
        let at = e.line.map(|l| format!("line {l}: ")).unwrap_or_default();
        format!("cannot be parsed ({at}{}): run `go mod tidy`", e.message)
    })?;
    let mut shared = Closure::new();
    if let Some(go) = &module.go {
        shared.insert(format!("go@{go}"));
    }
    if let Some(toolchain) = &module.toolchain {
        shared.insert(format!("toolchain@{toolchain}"));
    }
    let entries: Vec<Closure> = module.require.iter().map(|r| entries(&module, r)).collect();
    for (require, entries) in module.require.iter().zip(&entries) {
        if require.indirect {
            shared.extend(entries.iter().cloned());
        }
    }
    let by_path: HashMap<&str, usize> = module
        .require
        .iter()
        .enumerate()
        .map(|(i, r)| (r.path.as_str(), i))
        .collect();
    Ok(users
        .iter()
        .map(|user| {
            let mut closure = shared.clone();
            for import in &user.direct {
                if let Some(i) = providing_module(&by_path, import) {
                    closure.extend(entries[i].iter().cloned());
                }
            }
            closure
        })
        .collect())
}

/// The required module providing an import path: the longest module path that is the import
/// path or a `/`-separated prefix of it.
fn providing_module(by_path: &HashMap<&str, usize>, import: &str) -> Option<usize> {
    let mut candidate = import;
    loop {
        if let Some(&i) = by_path.get(candidate) {
            return Some(i);
        }
        candidate = candidate.rsplit_once('/')?.0;
    }
}

/// The closure entries one requirement contributes.
fn entries(module: &GoMod, require: &Require) -> Closure {
    let path = &require.path;
    let version = &require.version;
    let mut out = Closure::from([format!("{path}@{version}")]);
    // A replace with a version applies to that version only and wins over one without.
    let replace = module
        .replace
        .iter()
        .filter(|r| &r.old == path)
        .filter(|r| r.old_version.as_ref().is_none_or(|v| v == version))
        .max_by_key(|r| r.old_version.is_some());
    if let Some(replace) = replace {
        out.insert(replace_entry(replace));
    }
    for exclude in module.exclude.iter().filter(|e| &e.path == path) {
        out.insert(format!("{path}@{} excluded", exclude.version));
    }
    out
}

fn replace_entry(replace: &Replace) -> String {
    let old = match &replace.old_version {
        Some(v) => format!("{}@{v}", replace.old),
        None => replace.old.clone(),
    };
    match &replace.new {
        ReplaceTarget::Local(dir) => format!("{old} => ./{dir}"),
        ReplaceTarget::Module { path, version } => format!("{old} => {path}@{version}"),
    }
}
