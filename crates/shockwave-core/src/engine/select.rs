//! What a command is about — a range of changes, a set of services — in two steps: first against
//! the config alone (is there a base to compare with, do the named services exist), so that these
//! errors come before any git work, in or out of a repository; then against the repository (what
//! changed, and what that affects).

use tracing::warn;

use super::base::change_query;
use super::error::EngineError;
use super::impact::impact;
use super::load::Loaded;
use super::notice::Notify;
use super::query::{Range, Select, SelectBy};
use crate::affected::Impact;
use crate::config::{ServiceId, Workspace};
use crate::exec::{SelectedBy, Selection};
use crate::filter::{Changed, Selector};
use crate::scm::ChangeQuery;

pub(super) fn service_id(ws: &Workspace, name: &str) -> Result<ServiceId, EngineError> {
    ws.service_id(name)
        .ok_or_else(|| EngineError::UnknownService {
            name: name.to_string(),
            suggestion: crate::diagnostic::suggest(name, ws.service_names()).map(str::to_string),
        })
}

/// A selection checked against the config: the services named exist, a range has a base.
pub(super) enum Chosen<'a> {
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

/// What a range affects, and which services the filters pick (indexed by id; `None` without
/// filters).
#[derive(Debug)]
pub struct Affecting {
    pub impact: Impact,
    pub picked: Option<Vec<bool>>,
}

/// What `query` (`range` completed) affects, and which services `filters` pick: the filters
/// first, as they may ask git about ranges of their own.
pub(super) fn affected(
    l: &Loaded,
    range: &Range,
    query: ChangeQuery,
    filters: &[Selector],
    notify: Notify,
) -> Result<Affecting, EngineError> {
    let git = l.git()?;
    let picked = (!filters.is_empty())
        .then(|| filtered(l, filters, notify))
        .transpose()?;
    let impact = impact(git, &l.ws, range, query, notify)?;
    Ok(Affecting { impact, picked })
}

/// The services `filters` pick (indexed by id), with a warning for each selector that picks
/// nothing. `[REV]` selectors ask the repository what changed.
pub(super) fn filtered(
    l: &Loaded,
    filters: &[Selector],
    notify: Notify,
) -> Result<Vec<bool>, EngineError> {
    let ws = &l.ws;
    let mut changed_since = |c: &Changed| -> Result<Vec<bool>, EngineError> {
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
        let query = change_query(ws.default_base(), &range);
        let impact = impact(l.git()?, ws, &range, query, notify)?;
        Ok(ws
            .service_ids()
            .map(|i| impact.affected.is_affected(i))
            .collect())
    };
    let resolved = crate::filter::resolve(ws, filters, &l.cwd, &mut changed_since)?;
    for (raw, why) in &resolved.unmatched {
        warn!("--filter `{raw}` selects nothing: {why}");
    }
    Ok(resolved.selected)
}

/// Checks `filters` against the config alone: a name no service has, a folder that does not
/// exist.
pub(super) fn check_filters(l: &Loaded, filters: &[Selector]) -> Result<(), EngineError> {
    Ok(crate::filter::check(&l.ws, filters, &l.cwd, l.ws.root())?)
}

/// Checks `select` against the config alone.
pub(super) fn choose<'a>(l: &Loaded, select: &'a Select) -> Result<Chosen<'a>, EngineError> {
    let ws = &l.ws;
    let query = |range: &Range| change_query(ws.default_base(), range);
    if !select.filters.is_empty() {
        check_filters(l, &select.filters)?;
        if let SelectBy::Affected { range, asked: true } = &select.by {
            return Ok(Chosen::Filter {
                affected: Some((range, query(range))),
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
            let base_known =
                range.base.is_some() || range.uncommitted || ws.default_base().is_some();
            if !asked && !base_known {
                return Err(EngineError::NothingSelected);
            }
            Chosen::Affected {
                range,
                query: query(range),
            }
        }
    })
}

/// The services a run covers and why, from what [`choose`] accepted.
pub(super) fn select(
    l: &Loaded,
    select: &Select,
    chosen: Chosen,
    notify: Notify,
) -> Result<Selection, EngineError> {
    let git = l.git()?;
    let ws = &l.ws;
    // Tasks run in the worktree, which is at HEAD: selecting services from another commit would
    // build code that is not the code that was diffed.
    if let Some(head) = &select.head {
        let wanted = git.repo.head_id(Some(head))?;
        let checked_out = git.repo.head_id(None)?;
        if wanted != checked_out {
            return Err(EngineError::HeadNotCheckedOut {
                head: head.clone(),
                var: select.head_var,
                wanted: wanted.to_hex_with_len(7).to_string(),
                checked_out: checked_out.to_hex_with_len(7).to_string(),
            });
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
    let of_kind = |id: &ServiceId| select.kind.is_none_or(|k| ws.service(*id).kind == k);
    let raw = || select.filters.iter().map(|f| f.raw.clone()).collect();
    Ok(match chosen {
        Chosen::All => Selection {
            services: ws.service_ids().filter(of_kind).collect(),
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
        Chosen::Filter {
            affected: Some((range, query)),
        } => {
            let Affecting { impact, picked } = affected(l, range, query, &select.filters, notify)?;
            let picked = |i: &ServiceId| picked.as_ref().is_none_or(|p| p[i.index()]);
            Selection {
                services: impact
                    .affected
                    .ids()
                    .filter(picked)
                    .filter(of_kind)
                    .collect(),
                by: SelectedBy::Affected,
                impact: Some(impact),
                filters: raw(),
            }
        }
        Chosen::Filter { affected: None } => {
            let picked = filtered(l, &select.filters, notify)?;
            Selection {
                services: ws
                    .service_ids()
                    .filter(|i| picked[i.index()])
                    .filter(of_kind)
                    .collect(),
                by: SelectedBy::Filter,
                impact: None,
                filters: raw(),
            }
        }
        Chosen::Affected { range, query } => {
            let impact = affected(l, range, query, &[], notify)?.impact;
            Selection {
                services: impact.affected.ids().filter(of_kind).collect(),
                by: SelectedBy::Affected,
                impact: Some(impact),
                filters: Vec::new(),
            }
        }
    })
}
