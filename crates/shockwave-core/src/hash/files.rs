//! Which files enter a task's hash: a service's files from the index (its root less nested
//! services' roots, its `paths`, the Go packages of its closure), the dependencies whose files it
//! reads too, its inputs less untracked outputs, and the part of the worktree all of them lie in.
//! Paths are workspace-relative; `prefix` is where the workspace lies in the repository.

use std::collections::HashMap;

use bstr::{BStr, ByteSlice};

use super::FileInput;
use crate::config::{Globs, Need, ServiceId, Workspace};
use crate::discover::PackageInput;
use crate::glob;
use crate::ownership::Ownership;
use crate::paths::{is_under, strip_dir, WsPrefix};
use crate::scm::{RepoIndex, Scope};
use crate::tasks::TaskGraph;

/// The services `id`'s dev-dependencies are built from: each dev-dependency and, transitively,
/// the services it needs to build (not their own dev-dependencies, which its tests never build),
/// `id` itself left out.
pub(super) fn dev_closure(ws: &Workspace, id: ServiceId) -> Vec<ServiceId> {
    closure_from(ws, id, &ws.service(id).dev_deps)
}

/// Every service `id` depends on through normal edges, transitively, `id` itself left out.
pub(super) fn dep_closure(ws: &Workspace, id: ServiceId) -> Vec<ServiceId> {
    closure_from(ws, id, &ws.service(id).deps)
}

/// `start` and, transitively, what each needs to build (normal edges; loops walked once),
/// sorted, `id` left out.
fn closure_from(ws: &Workspace, id: ServiceId, start: &[ServiceId]) -> Vec<ServiceId> {
    let mut seen = vec![false; ws.services().len()];
    seen[id.index()] = true;
    let mut stack = start.to_vec();
    let mut out = Vec::new();
    while let Some(s) = stack.pop() {
        if std::mem::replace(&mut seen[s.index()], true) {
            continue;
        }
        out.push(s);
        stack.extend(ws.service(s).deps.iter().filter(|&&d| !seen[d.index()]));
    }
    out.sort_unstable();
    out
}

/// `own` with the files of `extra` services added, in path order, each path once.
pub(super) fn with_files_of<'a>(
    own: &[FileInput<'a>],
    extra: &[ServiceId],
    files_of: &HashMap<ServiceId, Vec<FileInput<'a>>>,
) -> Vec<FileInput<'a>> {
    let mut files = own.to_vec();
    for e in extra {
        files.extend(files_of[e].iter().copied());
    }
    files.sort_by(|a, b| a.0.cmp(b.0));
    files.dedup_by(|a, b| a.0 == b.0);
    files
}

/// For each service: does another service's root lie inside its root?
pub(super) fn nested_roots(ws: &Workspace) -> Vec<bool> {
    let mut roots: Vec<&str> = ws.services().iter().map(|s| s.root.as_str()).collect();
    roots.sort_unstable();
    ws.services()
        .iter()
        .map(|s| {
            if s.root.is_empty() {
                return roots.iter().any(|r| !r.is_empty());
            }
            // The first root sorting after `root/` is below it if there is any.
            let below = format!("{}/", s.root);
            let i = roots.partition_point(|r| *r < below.as_str());
            roots.get(i).is_some_and(|r| r.starts_with(&below))
        })
        .collect()
}

/// Files owned by a service: under its root (minus nested services' roots) and matching its `paths`.
/// Paths are workspace-relative.
pub(super) fn service_files<'a>(
    ws: &Workspace,
    prefix: &WsPrefix,
    index: &'a RepoIndex,
    ownership: &Ownership,
    id: ServiceId,
    has_nested: bool,
) -> Vec<FileInput<'a>> {
    let svc = ws.service(id);
    let strip = prefix.strip_len();
    let mut out = Vec::new();
    let mut owners = Vec::new();
    index.for_each_under(
        prefix.dir_prefix(&svc.root).as_bytes(),
        |path, oid, mode| {
            let rel = path[strip..].as_bstr();
            if has_nested {
                owners.clear();
                ownership.root_owners(rel, &mut owners);
                if !owners.contains(&id) {
                    return;
                }
            }
            out.push((rel, oid, mode));
        },
    );
    if !svc.paths.is_empty() {
        out.extend(matching_files(index, prefix, &svc.path_globs));
    }
    // Packages below the root are in its listing already, unless a nested service's root took
    // them out of it (the service may still import them).
    for p in svc
        .packages
        .iter()
        .filter(|p| has_nested || !is_under(&p.dir, &svc.root))
    {
        package_files(index, prefix, p, &mut out);
    }
    // Tracked files come in path order, then untracked ones: the fingerprint needs one order,
    // or `git add` alone would change the hash. (A stable sort merges the sorted runs cheaply.)
    out.sort_by(|a, b| a.0.cmp(b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// The files of one Go package of a service's closure (workspace-relative): those directly in its
/// directory (a subdirectory is another package), without `_test.go` files when the service only
/// imports it.
fn package_files<'a>(
    index: &'a RepoIndex,
    prefix: &WsPrefix,
    p: &PackageInput,
    out: &mut Vec<FileInput<'a>>,
) {
    let strip = prefix.strip_len();
    let name_at = strip + if p.dir.is_empty() { 0 } else { p.dir.len() + 1 };
    index.for_each_under(prefix.dir_prefix(&p.dir).as_bytes(), |path, oid, mode| {
        let name = &path[name_at..];
        if !name.contains(&b'/') && (p.tests || !name.ends_with(b"_test.go")) {
            out.push((path[strip..].as_bstr(), oid, mode));
        }
    });
    // Asset folders (an embedded `static/`, a test's `testdata/`): every file directly in each.
    for a in &p.assets {
        let name_at = strip + a.len() + 1;
        index.for_each_under(prefix.dir_prefix(a).as_bytes(), |path, oid, mode| {
            if !path[name_at..].contains(&b'/') {
                out.push((path[strip..].as_bstr(), oid, mode));
            }
        });
    }
}

/// Files (workspace-relative) matching workspace-relative `globs`, reading only the parts of the
/// index below each pattern's literal directory prefix.
pub fn matching_files<'a>(
    index: &'a RepoIndex,
    prefix: &WsPrefix,
    globs: &Globs,
) -> Vec<FileInput<'a>> {
    if globs.is_empty() {
        return Vec::new();
    }
    let scan = scan_prefixes(prefix, &globs.patterns);
    let strip = prefix.strip_len();
    let mut out = Vec::new();
    for dir in scan {
        index.for_each_under(dir.as_bytes(), |path, oid, mode| {
            let rel = path[strip..].as_bstr();
            if globs.is_match(rel) {
                out.push((rel, oid, mode));
            }
        });
    }
    out.sort_by(|a, b| a.0.cmp(b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// Repo-relative prefixes below which every match of workspace-relative `patterns` lies: a pattern
/// without glob characters names one path; otherwise its literal directory. Covered prefixes
/// are dropped ("a/" covers "a/b/").
pub(super) fn scan_prefixes(prefix: &WsPrefix, patterns: &[String]) -> Vec<String> {
    let mut prefixes: Vec<String> = patterns
        .iter()
        .filter(|p| !p.starts_with('!'))
        .map(|p| match glob::split_literal(p) {
            (literal, "") if !literal.is_empty() => prefix.repo_path(literal),
            (dir, _) => prefix.dir_prefix(dir),
        })
        .collect();
    prefixes.sort();
    let mut scan: Vec<String> = Vec::new();
    for d in prefixes {
        if !scan.iter().any(|s| d.starts_with(s.as_str())) {
            scan.push(d);
        }
    }
    scan
}

/// The part of the worktree whose files can enter the hashes of `graph`'s tasks: the roots of
/// their services, of the services whose files they read as well (dev-dependencies, and the
/// dependencies of a script ordered by the implied `^NAME`), those services' `paths` and the
/// global inputs.
pub fn input_scope(ws: &Workspace, prefix: &WsPrefix, graph: &TaskGraph) -> Scope {
    let mut services: Vec<ServiceId> = graph.tasks().iter().map(|t| t.service).collect();
    services.sort_unstable();
    services.dedup();
    let mut read_too: Vec<ServiceId> = Vec::new();
    for &s in &services {
        if !ws.service(s).dev_deps.is_empty() {
            read_too.extend(dev_closure(ws, s));
        }
    }
    let mut implied: Vec<ServiceId> = graph
        .tasks()
        .iter()
        .filter(|t| t.def.needs.iter().any(|n| matches!(n, Need::ScriptDeps(_))))
        .map(|t| t.service)
        .collect();
    implied.sort_unstable();
    implied.dedup();
    for s in implied {
        read_too.extend(dep_closure(ws, s));
    }
    services.extend(read_too);
    services.extend(graph.tasks().iter().flat_map(|t| t.through.iter().copied()));
    services.sort_unstable();
    services.dedup();
    let mut prefixes: Vec<Vec<u8>> = Vec::with_capacity(services.len() + 4);
    for &s in &services {
        let svc = ws.service(s);
        prefixes.push(prefix.dir_prefix(&svc.root).into_bytes());
        prefixes.extend(
            scan_prefixes(prefix, &svc.paths)
                .into_iter()
                .map(String::into_bytes),
        );
        prefixes.extend(
            svc.packages
                .iter()
                .flat_map(|p| std::iter::once(&p.dir).chain(&p.assets))
                .map(|d| prefix.dir_prefix(d).into_bytes()),
        );
    }
    prefixes.extend(
        scan_prefixes(prefix, &ws.global_inputs().patterns)
            .into_iter()
            .map(String::into_bytes),
    );
    Scope::new(prefixes)
}

/// The service files a task reads: matching its inputs (relative to the root), and not the
/// untracked files matching the outputs of any of the service's targets (those are products; what
/// produced them is in the needs' hashes). A tracked file is a source whatever `outputs` say, as
/// it is for `affected`: a build that rewrites a committed file (a `package.json` it stamps) reads
/// the committed content, so a change to it must change the key. `tracked` says whether git
/// tracks a (workspace-relative) path; it is asked only about files matching the outputs.
pub(super) fn select_inputs<'a>(
    root: &str,
    files: &[FileInput<'a>],
    (inputs, outputs): (&Globs, &Globs),
    tracked: impl Fn(&BStr) -> bool,
) -> Vec<FileInput<'a>> {
    let all_inputs = inputs.patterns.len() == 1 && inputs.patterns[0] == "**";
    files
        .iter()
        .filter(|(path, _, _)| {
            // Files outside the root come from `paths` and are always inputs.
            let Some(rel) = strip_dir(path, root) else {
                return true;
            };
            if all_inputs && outputs.is_empty() {
                return true;
            }
            (all_inputs || inputs.is_match(rel))
                && (outputs.is_empty() || !outputs.is_match(rel) || tracked(path))
        })
        .cloned()
        .collect()
}

/// Whether git tracks the workspace-relative `path` of the workspace at `prefix`.
pub(super) fn is_tracked(index: &RepoIndex, prefix: &WsPrefix, path: &BStr) -> bool {
    if prefix.is_root() {
        return index.is_tracked(path);
    }
    let mut full = Vec::with_capacity(prefix.strip_len() + path.len());
    index.is_tracked(prefix.repo_path_in(path, &mut full))
}
