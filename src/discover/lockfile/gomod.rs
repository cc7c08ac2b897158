//! `go.mod` of a single module, read with the `gomod-parser` crate. A service's closure is what
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

use gomod_parser::{GoMod, ModuleDependency, ModuleReplacement, Replacement};

use super::Closure;
use crate::discover::LockUser;

pub(super) fn closures(text: &str, users: &[LockUser]) -> Result<Vec<Closure>, String> {
    let module: GoMod = text
        .parse()
        .map_err(|e: String| format!("cannot be parsed ({}): run `go mod tidy`", first_line(&e)))?;
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
        .map(|(i, r)| (r.module.module_path.as_str(), i))
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
fn entries(module: &GoMod, require: &ModuleDependency) -> Closure {
    let path = &require.module.module_path;
    let version = &require.module.version;
    let mut out = Closure::from([format!("{path}@{version}")]);
    // A replace with a version applies to that version only and wins over one without.
    let replace = module
        .replace
        .iter()
        .filter(|r| &r.module_path == path)
        .filter(|r| r.version.as_ref().is_none_or(|v| v == version))
        .max_by_key(|r| r.version.is_some());
    if let Some(replace) = replace {
        out.insert(replace_entry(replace));
    }
    for exclude in module
        .exclude
        .iter()
        .filter(|e| &e.module.module_path == path)
    {
        out.insert(format!("{path}@{} excluded", exclude.module.version));
    }
    out
}

fn replace_entry(replace: &ModuleReplacement) -> String {
    let old = match &replace.version {
        Some(v) => format!("{}@{v}", replace.module_path),
        None => replace.module_path.clone(),
    };
    match &replace.replacement {
        Replacement::FilePath(dir) => format!("{old} => {dir}"),
        Replacement::Module(m) => format!("{old} => {}@{}", m.module_path, m.version),
    }
}

fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or(message)
}
