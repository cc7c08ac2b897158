//! What a command is about — a range of changes, a set of services — in two steps: first against
//! the config alone (is there a base to compare with, do the named services exist), so that these
//! usage errors come before any git work and exit 2 in or out of a repository; then against the
//! repository (what changed, and what that affects).

use std::path::Path;

use tracing::warn;

use super::push_event::Before;
use super::settings::{Range, Select, SelectBy};
use super::workspace::Context;
use super::CliError;
use crate::affected::{self, Affected, Impact, Reason};
use crate::config::{self, ServiceId, Workspace};
use crate::exec::{SelectedBy, Selection};
use crate::filter::{Changed, Selector};
use crate::scm::{ChangeQuery, Changes, ScmError};

pub(crate) fn service_id(ws: &Workspace, name: &str) -> Result<ServiceId, CliError> {
    ws.service_id(name).ok_or_else(|| {
        let hint = crate::diagnostic::suggest(name, ws.service_names())
            .map(|s| format!("did you mean `{s}`? "))
            .unwrap_or_default();
        CliError::Usage(format!(
            "no service named `{name}`; {hint}`shockwave graph --format json` lists them"
        ))
    })
}

/// The revisions to compare: `range` completed with the config's `default_base`. With neither,
/// the base is left to [`compute_affected`], which looks for the CI's or the default branch.
pub(crate) fn change_query(ws: &Workspace, range: &Range) -> Result<ChangeQuery, CliError> {
    let base = match (&range.base, range.uncommitted) {
        (Some(b), _) => Some(b.clone()),
        (None, true) if range.head.is_none() => None,
        (None, _) => ws.default_base.clone(),
    };
    Ok(ChangeQuery {
        base,
        head: range.head.clone(),
        exact_base: range.exact_base,
        uncommitted: range.uncommitted,
    })
}

/// Why the range has the base it has, when nobody typed it: said in one line on stderr.
struct BaseNote {
    rev: String,
    why: String,
    /// Whether `default_base` would have been used instead (so the hint names it too).
    found: bool,
}

impl BaseNote {
    /// `base: origin/main (merge-base 3f2a1c9): the branch origin/HEAD points to; …`
    fn line(&self, changes: Option<&Changes>, exact: bool) -> String {
        let compared = match changes.and_then(|c| c.merge_base) {
            Some(_) if exact => " (compared as it is)".to_string(),
            Some(id) => format!(" (merge-base {})", id.to_hex_with_len(7)),
            None => String::new(),
        };
        let choose = if self.found {
            "pass --base or set default_base to choose another"
        } else {
            "pass --base to choose another"
        };
        format!("base: {}{compared}: {}; {choose}", self.rev, self.why)
    }
}

/// A query without a base (and not `--uncommitted` alone) gets one: the CI's target branch, the
/// commit before the push, or the repository's default branch; none existing is a usage error
/// naming them. A base from a variable is said too.
fn with_found_base(
    ctx: &Context,
    range: &Range,
    mut query: ChangeQuery,
) -> Result<(ChangeQuery, Option<BaseNote>), CliError> {
    if let (Some(var), Some(base)) = (range.base_var, &query.base) {
        let note = BaseNote {
            rev: base.clone(),
            why: format!("${var}"),
            found: false,
        };
        return Ok((query, Some(note)));
    }
    if query.base.is_some() || (query.uncommitted && query.head.is_none()) {
        return Ok((query, None));
    }
    let ci = range.ci_base.as_ref().map(|c| (c.branch.as_str(), c.var));
    let pushed = match (ci, &range.push_before) {
        (None, Some(source)) => match super::push_event::before(source) {
            Before::Commit { id, why } => Some((id, why)),
            Before::Nothing(why) => {
                tracing::debug!("no base from the push event: {why}");
                None
            }
        },
        _ => None,
    };
    let found = match pushed {
        Some(found) => Ok(found),
        None => ctx.repo.default_base(ci),
    };
    match found {
        Ok((rev, why)) => {
            query.base = Some(rev.clone());
            let note = BaseNote {
                rev,
                why,
                found: true,
            };
            Ok((query, Some(note)))
        }
        Err(tried) => Err(CliError::Usage(format!(
            "no base revision: none of {} exists; pass --base REV, set default_base in [workspace], or use --uncommitted",
            tried.join(", ")
        ))),
    }
}

/// What `query` changed and which services that affects.
pub(crate) fn compute_affected(
    ctx: &Context,
    range: &Range,
    query: ChangeQuery,
) -> Result<Impact, CliError> {
    let dependents = range.dependents;
    let (query, note) = with_found_base(ctx, range, query)?;
    let found = ctx.repo.changes(&query);
    if let Some(note) = &note {
        eprintln!("{}", note.line(found.as_ref().ok(), query.exact_base));
    }
    let mut changes = match found {
        Ok(c) => c,
        Err(e) if range.all_on_missing_base && is_base_problem(&e, &query) => {
            warn!("{e}");
            warn!("--on-missing-base all: treating every service as affected");
            let detail = e.to_string();
            let changes = Changes {
                base: query.base.clone(),
                head: query.head.clone().unwrap_or_else(|| "HEAD".into()),
                base_id: None,
                head_id: None,
                merge_base: None,
                files: Vec::new(),
                uncommitted: query.uncommitted,
            };
            let affected = Affected::everything(&ctx.ws, Reason::MissingBase { detail });
            return Ok(Impact {
                changes,
                affected,
                dependents,
            });
        }
        Err(e) => return Err(e.into()),
    };
    let products = affected::drop_untracked_outputs(&ctx.ws, &ctx.prefix, &mut changes);
    if products > 0 {
        tracing::debug!("{products} untracked files are declared outputs, not changes");
    }
    let locks = crate::lockfiles::impact(&ctx.repo, &changes, &ctx.prefix, &ctx.ws)?;
    let affected =
        affected::compute_with_lockfiles(&ctx.ws, &ctx.prefix, changes.paths(), dependents, &locks);
    if ctx.ws.unowned == config::UnownedPolicy::Warn && !affected.unowned_files.is_empty() {
        let n = affected.unowned_files.len();
        let first =
            bstr::ByteSlice::to_str_lossy(affected.unowned_files[0].as_slice()).into_owned();
        warn!(
            "{n} changed file{} owned by no service (first: {first}); add them to a service's `paths`, to `ignore`, or set unowned = \"ignore\"",
            if n == 1 { " is" } else { "s are" }
        );
    }
    Ok(Impact {
        changes,
        affected,
        dependents,
    })
}

fn is_base_problem(e: &ScmError, q: &ChangeQuery) -> bool {
    match e {
        ScmError::MissingBase { .. } | ScmError::NoMergeBase { .. } => true,
        ScmError::UnknownRevision { rev, .. } => q.base.as_deref() == Some(rev.as_str()),
        _ => false,
    }
}

/// A selection checked against the config: the services named exist, a range has a base.
pub(crate) enum Chosen<'a> {
    All,
    Services(Vec<ServiceId>),
    Affected {
        range: &'a Range,
        query: ChangeQuery,
    },
    /// `--filter`, narrowed to what a range affects when one was asked for.
    Filter {
        affected: Option<(&'a Range, ChangeQuery)>,
    },
}

/// The directory the command runs in, relative to the workspace root (`""` at the root, or
/// outside it): `--filter` folders are relative to it.
pub(crate) fn workspace_cwd(ws: &Workspace, cwd: &Path) -> String {
    let cwd = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    match cwd.strip_prefix(&ws.root) {
        Ok(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => String::new(),
    }
}

/// The services `filters` pick (indexed by id), with a warning for each selector that picks
/// nothing. `[REV]` selectors ask `repo` what changed; the caller opens it when
/// [`needs_repo`] says so.
pub(crate) fn filtered(
    ws: &Workspace,
    repo: Option<&Context>,
    filters: &[Selector],
    cwd: &str,
) -> Result<Vec<bool>, CliError> {
    let mut changed_since = |c: &Changed| -> Result<Vec<bool>, CliError> {
        let Some(ctx) = repo else {
            return Err(CliError::Usage(format!(
                "--filter [{}] needs the repository",
                c.from
            )));
        };
        let range = Range {
            base: Some(c.from.clone()),
            base_var: None,
            head: c.to.clone(),
            head_var: None,
            exact_base: false,
            uncommitted: c.to.is_none(),
            all_on_missing_base: false,
            dependents: crate::affected::Dependents::None,
            ci_base: None,
            push_before: None,
        };
        let impact = compute_affected(ctx, &range, change_query(&ctx.ws, &range)?)?;
        Ok((0..ws.services.len())
            .map(|i| impact.affected.is_affected(i))
            .collect())
    };
    let resolved = crate::filter::resolve(ws, filters, cwd, &mut changed_since)?;
    for (raw, why) in &resolved.unmatched {
        warn!("--filter `{raw}` selects nothing: {why}");
    }
    Ok(resolved.selected)
}

/// Whether some selector asks what changed since a revision (and so needs git).
pub(crate) fn needs_repo(filters: &[Selector]) -> bool {
    filters.iter().any(|f| f.changed.is_some())
}

/// Checks `filters` against the config alone: a name no service has, a folder that does not
/// exist.
pub(crate) fn check_filters(
    ws: &Workspace,
    filters: &[Selector],
    cwd: &str,
) -> Result<(), CliError> {
    crate::filter::check(ws, filters, cwd, &ws.root).map_err(|e| CliError::Usage(e.to_string()))
}

/// Checks `select` against the config alone; `cwd` is the workspace-relative directory the
/// command runs in.
pub(crate) fn choose<'a>(
    ws: &Workspace,
    select: &'a Select,
    cwd: &str,
) -> Result<Chosen<'a>, CliError> {
    if !select.filters.is_empty() {
        check_filters(ws, &select.filters, cwd)?;
        if let SelectBy::Affected { range, asked: true } = &select.by {
            return Ok(Chosen::Filter {
                affected: Some((range, change_query(ws, range)?)),
            });
        }
        return Ok(Chosen::Filter { affected: None });
    }
    Ok(match &select.by {
        SelectBy::All => Chosen::All,
        SelectBy::Services(names) => {
            let mut ids = names
                .iter()
                .map(|name| service_id(ws, name))
                .collect::<Result<Vec<_>, _>>()?;
            ids.sort_unstable();
            ids.dedup();
            Chosen::Services(ids)
        }
        SelectBy::Affected { range, asked } => {
            let base_known = range.base.is_some() || range.uncommitted || ws.default_base.is_some();
            if !asked && !base_known {
                return Err(CliError::Usage(
                    "nothing selected: pass --all, --service NAME, or a base for --affected (--base REV, default_base in [workspace], or --uncommitted)".into(),
                ));
            }
            Chosen::Affected {
                range,
                query: change_query(ws, range)?,
            }
        }
    })
}

/// The services a run covers and why, from what [`choose`] accepted.
pub(crate) fn select(
    ctx: &Context,
    select: &Select,
    chosen: Chosen,
    cwd: &str,
) -> Result<Selection, CliError> {
    // Tasks run in the worktree, which is at HEAD: selecting services from another commit would
    // build code that is not the code that was diffed.
    if let Some(head) = &select.head {
        let wanted = ctx.repo.head_id(Some(head))?;
        let checked_out = ctx.repo.head_id(None)?;
        if wanted != checked_out {
            let (given, drop) = match select.head_var {
                Some(var) => (format!("${var} ({head})"), format!("unset {var}")),
                None => (format!("--head {head}"), "drop --head".to_string()),
            };
            return Err(CliError::Usage(format!(
                "{given} is {}, but tasks run in the worktree, which is at HEAD ({}): the services would be chosen from one commit and built from another; check out {head} first, or {drop}",
                wanted.to_hex_with_len(7),
                checked_out.to_hex_with_len(7)
            )));
        }
    }
    if !select.ignored.is_empty() {
        warn!(
            "{} ignored: {} selects services by name, not by what changed; drop {} or use --affected",
            select.ignored.join(", "),
            if matches!(select.by, SelectBy::All) {
                "--all"
            } else {
                "--service"
            },
            if select.ignored.len() == 1 {
                "it"
            } else {
                "them"
            }
        );
    }
    let of_kind = |id: &usize| select.kind.is_none_or(|k| ctx.ws.services[*id].kind == k);
    Ok(match chosen {
        Chosen::All => Selection {
            services: (0..ctx.ws.services.len()).filter(of_kind).collect(),
            by: SelectedBy::All,
            impact: None,
            filters: Vec::new(),
        },
        Chosen::Services(services) => Selection {
            services,
            by: SelectedBy::Services,
            impact: None,
            filters: Vec::new(),
        },
        Chosen::Filter { affected } => {
            let picked = filtered(&ctx.ws, Some(ctx), &select.filters, cwd)?;
            let raw = select.filters.iter().map(|f| f.raw.clone()).collect();
            match affected {
                Some((range, query)) => {
                    let impact = compute_affected(ctx, range, query)?;
                    Selection {
                        services: impact
                            .affected
                            .ids()
                            .filter(|&i| picked[i])
                            .filter(of_kind)
                            .collect(),
                        by: SelectedBy::Affected,
                        impact: Some(impact),
                        filters: raw,
                    }
                }
                None => Selection {
                    services: (0..ctx.ws.services.len())
                        .filter(|&i| picked[i])
                        .filter(of_kind)
                        .collect(),
                    by: SelectedBy::Filter,
                    impact: None,
                    filters: raw,
                },
            }
        }
        Chosen::Affected { range, query } => {
            let impact = compute_affected(ctx, range, query)?;
            Selection {
                services: impact.affected.ids().filter(of_kind).collect(),
                by: SelectedBy::Affected,
                impact: Some(impact),
                filters: Vec::new(),
            }
        }
    })
}
