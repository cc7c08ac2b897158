//! What a range of changes affects: the diff, untracked build outputs dropped from it, the
//! changed lockfiles judged, then the affected services with their reasons. A base that is not
//! in the clone affects everything when the range says so.

use tracing::warn;

use super::base::find_base;
use super::error::EngineError;
use super::load::Git;
use super::notice::{Notice, Notify};
use super::query::Range;
use crate::affected::{self, Affected, Impact, Reason};
use crate::config::{UnownedPolicy, Workspace};
use crate::scm::{ChangeQuery, Changes, ScmError};

/// What `query` changed in `git` and which services of `ws` that affects.
pub(super) fn impact(
    git: &Git,
    ws: &Workspace,
    range: &Range,
    query: ChangeQuery,
    notify: Notify,
) -> Result<Impact, EngineError> {
    let dependents = range.dependents;
    let (query, mut choice) = find_base(&git.repo, range, query)?;
    let found = git.repo.changes(&query);
    if let Some(choice) = &mut choice {
        choice.compared = found.as_ref().ok().and_then(|c| c.merge_base);
        notify(&Notice::Base(choice));
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
            let affected = Affected::everything(ws, Reason::MissingBase { detail });
            return Ok(Impact {
                changes,
                affected,
                dependents,
            });
        }
        Err(e) => return Err(e.into()),
    };
    let products = affected::drop_untracked_outputs(ws, &git.prefix, &mut changes);
    if products > 0 {
        tracing::debug!("{products} untracked files are declared outputs, not changes");
    }
    let locks = crate::lockfiles::impact(&git.repo, &changes, &git.prefix, ws)?;
    let affected =
        affected::compute_with_lockfiles(ws, &git.prefix, changes.paths(), dependents, &locks);
    if ws.unowned() == UnownedPolicy::Warn && !affected.unowned_files.is_empty() {
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
