//! The base of a range nobody typed: the one a variable names, the CI's target branch, the
//! commit before the push, or the repository's default branch, with why it was chosen.

use super::error::EngineError;
use super::push_event::{self, Before};
use super::query::Range;
use crate::scm::{ChangeQuery, Repo};

/// How the base of a range was chosen when nobody typed it; the CLI says it in one line.
#[derive(Debug, Clone)]
pub struct BaseChoice {
    /// The revision compared with.
    pub rev: String,
    /// Why that one: the variable that named it, or where it was found.
    pub why: String,
    /// Whether it was found rather than named (so `default_base` would have been used instead).
    pub found: bool,
    /// The commit the head was compared with, once known.
    pub compared: Option<gix::ObjectId>,
    /// `--exact-base`: the base's own tree was compared, not a merge base.
    pub exact: bool,
}

/// The revisions to compare: `range` completed with the config's `default_base`. With neither,
/// the base is left to [`find_base`], which looks for the CI's or the default branch.
pub(super) fn change_query(default_base: Option<&str>, range: &Range) -> ChangeQuery {
    let base = match (&range.base, range.uncommitted) {
        (Some(b), _) => Some(b.clone()),
        (None, true) if range.head.is_none() => None,
        (None, _) => default_base.map(str::to_string),
    };
    ChangeQuery {
        base,
        head: range.head.clone(),
        exact_base: range.exact_base,
        uncommitted: range.uncommitted,
    }
}

/// A query without a base (and not `--uncommitted` alone) gets one: the CI's target branch, the
/// commit before the push, or the repository's default branch; none existing is an error naming
/// them. A base from a variable is said too.
pub(super) fn find_base(
    repo: &Repo,
    range: &Range,
    mut query: ChangeQuery,
) -> Result<(ChangeQuery, Option<BaseChoice>), EngineError> {
    let exact = query.exact_base;
    if let (Some(var), Some(base)) = (range.base_var, &query.base) {
        let choice = BaseChoice {
            rev: base.clone(),
            why: format!("${var}"),
            found: false,
            compared: None,
            exact,
        };
        return Ok((query, Some(choice)));
    }
    if query.base.is_some() || (query.uncommitted && query.head.is_none()) {
        return Ok((query, None));
    }
    let ci = range.ci_base.as_ref().map(|c| (c.branch.as_str(), c.var));
    let pushed = match (ci, &range.push_before) {
        (None, Some(source)) => match push_event::before(source) {
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
        None => repo.default_base(ci),
    };
    match found {
        Ok((rev, why)) => {
            query.base = Some(rev.clone());
            let choice = BaseChoice {
                rev,
                why,
                found: true,
                compared: None,
                exact,
            };
            Ok((query, Some(choice)))
        }
        Err(tried) => Err(EngineError::NoBase { tried }),
    }
}
