//! `--filter`: Turborepo's (and pnpm's) selector syntax for picking services by name, folder,
//! relation and what changed since a revision. Parsing is pure and reports the column of a
//! mistake; resolving works on a frozen [`Workspace`] and asks its caller which services changed
//! since a revision (the only part that needs git). Nothing here prints or reads the
//! environment.
//!
//! A selector is `[!][...[^]]CORE[[^]...]`, and `CORE` is `./path` (or `.`, `../path`), or
//! `NAME`, `{PATH}` and `[REV]` (or `[FROM...TO]`) in that order, each optional but not all, with
//! `...` before `[REV]` meaning "whose dependencies changed". Several selectors: the services any
//! including selector picks, less those any `!` selector picks (only `!` selectors: everything
//! less those).
//!
//! `selector` parses one value; this file resolves the parsed selectors against the workspace.

use std::collections::BTreeMap;

use crate::config::{ServiceId, Workspace};

mod selector;

pub use selector::{Changed, FilterError, Selector};

/// What the selectors picked.
#[derive(Debug, Default)]
pub struct Resolved {
    /// Indexed by service id.
    pub selected: Vec<bool>,
    /// Including selectors that picked nothing, with why: for a warning.
    pub unmatched: Vec<(String, String)>,
}

/// Which services changed directly (indexed by id) since a revision: supplied by the caller,
/// who has the repository.
pub type ChangedSince<'a, E> = dyn FnMut(&Changed) -> Result<Vec<bool>, E> + 'a;

/// Checks what can be checked without git: a name with no `*` that no service has, and a folder
/// whose fixed part does not exist, are errors (a typo would otherwise select nothing without a
/// word). `root` is the workspace directory on disk.
pub fn check(
    ws: &Workspace,
    selectors: &[Selector],
    cwd: &str,
    root: &std::path::Path,
) -> Result<(), FilterError> {
    for sel in selectors {
        let Some(dir) = sel.dir_pattern(cwd) else {
            return Err(FilterError {
                raw: sel.raw.clone(),
                column: None,
                message: "the folder leaves the workspace".into(),
                help: format!("name a folder inside {}", root.display()),
            });
        };
        if let Some(dir) = &dir {
            let fixed = crate::glob::literal_dir(dir);
            let fixed = if crate::glob::is_literal(dir) {
                dir.as_str()
            } else {
                fixed
            };
            if !root.join(fixed).is_dir() {
                return Err(FilterError {
                    raw: sel.raw.clone(),
                    column: None,
                    message: format!("there is no folder `{}`", if fixed.is_empty() { "." } else { fixed }),
                    help: "check the path (folders are relative to the current directory); `shockwave ls` lists every service with its root".into(),
                });
            }
        }
        if let Some(name) = sel.name.as_deref().filter(|n| !n.contains('*')) {
            if sel.changed.is_none() && dir.is_none() && names(ws, name).is_empty() {
                let hint = crate::diagnostic::suggest(name, ws.service_names())
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                return Err(FilterError {
                    raw: sel.raw.clone(),
                    column: None,
                    message: format!("no service named `{name}`"),
                    help: format!("{hint}`shockwave ls` lists them"),
                });
            }
        }
    }
    Ok(())
}

/// The services a name pattern picks among all: `*` matches any run of characters; a name
/// without a scope that matches nothing picks the one `@scope/NAME` there is, if there is
/// exactly one (as Turborepo and pnpm do).
fn names(ws: &Workspace, pattern: &str) -> Vec<ServiceId> {
    let matcher = name_matcher(pattern);
    let found: Vec<ServiceId> = ws
        .services_by_id()
        .filter(|(_, s)| matcher(&s.name))
        .map(|(i, _)| i)
        .collect();
    if !found.is_empty() || pattern.starts_with('@') {
        return found;
    }
    let scoped = name_matcher(&format!("@*/{pattern}"));
    let scoped: Vec<ServiceId> = ws
        .services_by_id()
        .filter(|(_, s)| scoped(&s.name))
        .map(|(i, _)| i)
        .collect();
    if scoped.len() == 1 {
        scoped
    } else {
        Vec::new()
    }
}

/// `*` matching any run of characters (`/` included), everything else literally.
fn name_matcher(pattern: &str) -> impl Fn(&str) -> bool {
    let parts: Vec<String> = pattern.split('*').map(str::to_string).collect();
    move |name: &str| {
        let (first, rest) = parts.split_first().expect("split yields one part at least");
        let Some(mut tail) = name.strip_prefix(first.as_str()) else {
            return false;
        };
        let Some((last, middle)) = rest.split_last() else {
            return tail.is_empty();
        };
        for part in middle {
            match tail.find(part.as_str()) {
                Some(i) => tail = &tail[i + part.len()..],
                None => return false,
            }
        }
        tail.len() >= last.len() && tail.ends_with(last.as_str())
    }
}

/// Whether a service root matches a workspace-relative folder pattern: a plain folder names one
/// root, a glob any root it matches (`apps/**` also `apps` itself, as `**` may match nothing).
fn dir_matcher(pattern: &str) -> impl Fn(&str) -> bool {
    let literal = crate::glob::is_literal(pattern);
    let glob = (!literal)
        .then(|| {
            crate::glob::compile(pattern)
                .ok()
                .map(|g| g.compile_matcher())
        })
        .flatten();
    let whole = pattern.strip_suffix("/**").map(str::to_string);
    let pattern = pattern.to_string();
    move |root: &str| {
        if literal {
            return root == pattern;
        }
        whole.as_deref() == Some(root) || glob.as_ref().is_some_and(|g| g.is_match(root))
    }
}

/// Resolves `selectors` (at least one) over `ws`; `cwd` is the workspace-relative directory the
/// command runs in.
pub fn resolve<E>(
    ws: &Workspace,
    selectors: &[Selector],
    cwd: &str,
    changed_since: &mut ChangedSince<'_, E>,
) -> Result<Resolved, E> {
    let n = ws.services().len();
    let mut cache: BTreeMap<Changed, Vec<bool>> = BTreeMap::new();
    let mut include = vec![false; n];
    let mut exclude = vec![false; n];
    let mut any_include = false;
    let mut unmatched = Vec::new();
    for sel in selectors {
        let entry = entry_services(ws, sel, cwd, &mut cache, changed_since)?;
        if entry.is_empty() && !sel.exclude {
            unmatched.push((sel.raw.clone(), why_nothing(sel)));
        }
        let picked = expand(ws, sel, &entry);
        let into = if sel.exclude {
            &mut exclude
        } else {
            any_include = true;
            &mut include
        };
        for id in picked {
            into[id.index()] = true;
        }
    }
    let selected = (0..n)
        .map(|i| (include[i] || !any_include) && !exclude[i])
        .collect();
    Ok(Resolved {
        selected,
        unmatched,
    })
}

fn why_nothing(sel: &Selector) -> String {
    match &sel.changed {
        Some(Changed { from, to: None }) => format!("no service changed since {from}"),
        Some(Changed { from, to: Some(to) }) => {
            format!("no service changed between {from} and {to}")
        }
        None => "it matches no service".to_string(),
    }
}

/// The services a selector's core picks, before `...` adds relations.
fn entry_services<E>(
    ws: &Workspace,
    sel: &Selector,
    cwd: &str,
    cache: &mut BTreeMap<Changed, Vec<bool>>,
    changed_since: &mut ChangedSince<'_, E>,
) -> Result<Vec<ServiceId>, E> {
    let mut entry: Vec<ServiceId> = match &sel.changed {
        Some(c) => {
            if !cache.contains_key(c) {
                let changed = changed_since(c)?;
                cache.insert(c.clone(), changed);
            }
            let changed = &cache[c];
            if sel.match_dependencies {
                // The services whose own files, or a dependency's, changed.
                ws.service_ids()
                    .filter(|&i| {
                        changed[i.index()] || dependencies(ws, i).iter().any(|d| changed[d.index()])
                    })
                    .collect()
            } else {
                ws.service_ids().filter(|i| changed[i.index()]).collect()
            }
        }
        None => ws.service_ids().collect(),
    };
    if let Some(Some(dir)) = sel.dir_pattern(cwd) {
        let matches = dir_matcher(&dir);
        entry.retain(|&i| matches(&ws.service(i).root));
    }
    if let Some(name) = &sel.name {
        if sel.changed.is_none() && sel.dir.is_none() {
            entry = names(ws, name);
        } else {
            let matches = name_matcher(name);
            entry.retain(|&i| matches(&ws.service(i).name));
        }
    }
    Ok(entry)
}

/// What a selector picks from its entry services: them (unless `^`), and with `...` their
/// dependencies or dependents — and with both, the dependencies of those dependents too.
fn expand(ws: &Workspace, sel: &Selector, entry: &[ServiceId]) -> Vec<ServiceId> {
    let mut out = Vec::new();
    for &id in entry {
        if !sel.exclude_self || (!sel.dependencies && !sel.dependents) {
            out.push(id);
        }
        if sel.dependencies {
            out.extend(dependencies(ws, id));
        }
        if sel.dependents {
            for d in dependents(ws, id) {
                out.push(d);
                if sel.dependencies {
                    out.extend(dependencies(ws, d));
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Everything `id` needs: its dependencies, transitively, and its dev-only ones (its tests use
/// them) with what they need. `id` itself only if it depends on itself through a loop.
fn dependencies(ws: &Workspace, id: ServiceId) -> Vec<ServiceId> {
    let s = ws.service(id);
    let mut seen = vec![false; ws.services().len()];
    let mut stack: Vec<ServiceId> = s.deps.iter().chain(&s.dev_deps).copied().collect();
    let mut out = Vec::new();
    while let Some(d) = stack.pop() {
        if std::mem::replace(&mut seen[d.index()], true) {
            continue;
        }
        out.push(d);
        stack.extend(ws.service(d).deps.iter().copied());
    }
    out
}

/// Everything that depends on `id`, transitively through normal dependencies; a service that
/// uses one of them only for its tests is included and goes no further, as a change spreads.
fn dependents(ws: &Workspace, id: ServiceId) -> Vec<ServiceId> {
    let mut reached = vec![false; ws.services().len()];
    let mut stack = vec![id];
    while let Some(s) = stack.pop() {
        for &d in ws.graph().dependents_of(s) {
            if !std::mem::replace(&mut reached[d.index()], true) {
                stack.push(d);
            }
        }
    }
    let mut out = reached.clone();
    for s in std::iter::once(id).chain(ws.service_ids().filter(|i| reached[i.index()])) {
        for &d in ws.graph().dev_dependents_of(s) {
            out[d.index()] = true;
        }
    }
    ws.service_ids().filter(|i| out[i.index()]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> Selector {
        Selector::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    #[test]
    fn parses_turborepo_selectors() {
        let s = ok("web");
        assert_eq!(s.name.as_deref(), Some("web"));
        assert!(!s.dependencies && !s.dependents && !s.exclude);
        let s = ok("web...");
        assert!(s.dependencies && !s.dependents && !s.exclude_self);
        let s = ok("...web");
        assert!(s.dependents && !s.dependencies);
        let s = ok("web^...");
        assert!(s.dependencies && s.exclude_self);
        let s = ok("...^web");
        assert!(s.dependents && s.exclude_self);
        let s = ok("...web...");
        assert!(s.dependents && s.dependencies);
        let s = ok("!@acme/*");
        assert!(s.exclude);
        assert_eq!(s.name.as_deref(), Some("@acme/*"));
        assert_eq!(ok("./apps/*").dir.as_deref(), Some("./apps/*"));
        assert_eq!(ok(".").dir.as_deref(), Some("."));
        assert_eq!(ok("{apps/web}").dir.as_deref(), Some("apps/web"));
        let s = ok("[main]");
        assert_eq!(
            s.changed,
            Some(Changed {
                from: "main".into(),
                to: None
            })
        );
        let s = ok("...[HEAD^1]");
        assert!(s.dependents);
        assert_eq!(s.changed.unwrap().from, "HEAD^1");
        let s = ok("[main...feature]");
        assert_eq!(s.changed.unwrap().to.as_deref(), Some("feature"));
        let s = ok("web{./apps/*}[main]");
        assert_eq!(
            (s.name.as_deref(), s.dir.as_deref()),
            (Some("web"), Some("./apps/*"))
        );
        let s = ok("web...[main]");
        assert!(s.match_dependencies && !s.dependencies);
        let s = ok("[main]...");
        assert!(s.dependencies && !s.match_dependencies);
    }

    #[test]
    fn a_bad_selector_says_where() {
        let err = |raw: &str| Selector::parse(raw).unwrap_err();
        assert_eq!(err("").column, Some(1));
        assert_eq!(err("...").column, Some(1));
        assert_eq!(err("!...^").column, Some(6));
        let e = err("web{apps");
        assert_eq!(
            (e.column, e.message.as_str()),
            (Some(4), "`{` is never closed")
        );
        let e = err("web[main");
        assert_eq!(e.column, Some(4));
        let e = err("{}");
        assert_eq!(e.column, Some(1));
        let e = err("[]");
        assert_eq!(e.message, "a revision is missing inside `[...]`");
        let e = err("web[main]x");
        assert_eq!((e.column, e.message.as_str()), (Some(10), "unexpected `x`"));
        let e = err("......[main]");
        assert_eq!(e.column, Some(4));
        let e = err("we}b");
        assert_eq!(e.column, Some(3));
        assert!(
            e.to_string()
                .contains(&format!("\n  --filter we}}b\n{}^\n", " ".repeat(13))),
            "{e}"
        );
    }

    #[test]
    fn names_match_with_stars_and_an_unscoped_name_finds_its_scope() {
        let m = name_matcher("@acme/*");
        assert!(m("@acme/web") && m("@acme/a/b") && !m("@other/web"));
        let m = name_matcher("*web*");
        assert!(m("web") && m("my-web-app") && !m("api"));
        let m = name_matcher("a*b*c");
        assert!(m("abc") && m("aXbYc") && !m("aXbY") && !m("ab"));
        assert!(name_matcher("web")("web") && !name_matcher("web")("web2"));
    }

    #[test]
    fn folders_are_relative_to_the_current_directory() {
        let s = ok("./web");
        assert_eq!(s.dir_pattern("apps"), Some(Some("apps/web".into())));
        assert_eq!(
            ok("../libs/*").dir_pattern("apps"),
            Some(Some("libs/*".into()))
        );
        assert_eq!(ok(".").dir_pattern(""), Some(Some(String::new())));
        assert_eq!(ok("../x").dir_pattern(""), None);
        let m = dir_matcher("apps/**");
        assert!(m("apps") && m("apps/web") && m("apps/web/x") && !m("libs/a"));
        let m = dir_matcher("apps/*");
        assert!(m("apps/web") && !m("apps/web/x") && !m("apps"));
        let m = dir_matcher("apps/web");
        assert!(m("apps/web") && !m("apps/web/x"));
    }
}
