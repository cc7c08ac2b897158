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

use super::{Graph, Resolved, Unreadable};
use crate::discover::go::gomod::{parse_go_mod, GoMod, Replace, ReplaceTarget};
use crate::discover::go::providers::Providers;
use crate::discover::LockUser;

/// The graph of the workspace root's `go.mod`: a node per requirement (`M@v`) with edges to the
/// `replace` that applies and to its `exclude`s, and one unlabelled node every user starts
/// from, for what every build reads (`go`, `toolchain`, the indirect requirements). Built in
/// one pass over each directive kind, so it is linear in the file: a require looks its replace
/// and excludes up instead of scanning them all.
pub(super) fn resolve(text: &str, users: &[LockUser]) -> Result<Resolved, Unreadable> {
    let module: GoMod = parse_go_mod("go.mod", text).map_err(|e| {
        let at = e.line.map(|l| format!("line {l}: ")).unwrap_or_default();
        Unreadable {
            line: e.line,
            message: format!("cannot be parsed ({at}{}): run `go mod tidy`", e.message),
        }
    })?;
    let mut graph = Graph::default();
    let shared = graph.add(None)?;
    for line in [
        module.go.as_ref().map(|go| format!("go@{go}")),
        module.toolchain.as_ref().map(|t| format!("toolchain@{t}")),
    ]
    .into_iter()
    .flatten()
    {
        let node = graph.add(Some(line))?;
        graph.edges[shared].push(node);
    }
    // A replace with a version applies to that version only and wins over one without; of
    // two alike, the later one.
    let mut replaces: HashMap<(&str, Option<&str>), usize> = HashMap::new();
    for replace in &module.replace {
        let node = graph.add(Some(replace_entry(replace)))?;
        replaces.insert((&replace.old, replace.old_version.as_deref()), node);
    }
    // The excludes of one module path behind one node, however many requirements name it.
    let mut excludes: HashMap<&str, usize> = HashMap::new();
    for exclude in &module.exclude {
        let group = match excludes.get(exclude.path.as_str()) {
            Some(&group) => group,
            None => {
                let group = graph.add(None)?;
                excludes.insert(&exclude.path, group);
                group
            }
        };
        let node = graph.add(Some(format!(
            "{}@{} excluded",
            exclude.path, exclude.version
        )))?;
        graph.edges[group].push(node);
    }
    let mut requires = Vec::with_capacity(module.require.len());
    for require in &module.require {
        let (path, version) = (require.path.as_str(), require.version.as_str());
        let node = graph.add(Some(format!("{path}@{version}")))?;
        let replace = replaces
            .get(&(path, Some(version)))
            .or_else(|| replaces.get(&(path, None)));
        graph.edges[node].extend(replace.copied());
        graph.edges[node].extend(excludes.get(path).copied());
        if require.indirect {
            graph.edges[shared].push(node);
        }
        requires.push(node);
    }
    // Of two requirements of one path, the later one provides it.
    let providers = Providers::new(
        module
            .require
            .iter()
            .enumerate()
            .map(|(i, r)| (r.path.as_str(), i)),
    );
    let starts = users
        .iter()
        .map(|user| {
            let mut starts = vec![shared];
            starts.extend(
                user.direct
                    .iter()
                    .filter_map(|import| providers.provider(import))
                    .map(|i| requires[i]),
            );
            Some(starts)
        })
        .collect();
    Ok(Resolved { graph, starts })
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
