//! The range of changes and the selection of services the flags ask for, the variables naming a
//! base or a head filling in what the flags leave out.

use std::path::Path;

use crate::cli::args::{DependentsArg, KindArg, OnMissingBase, RangeArgs, SelectArgs};
use crate::cli::env::BaseEnv;
use crate::cli::CliError;
use shockwave_core::affected::Dependents;
use shockwave_core::engine::{Range, Select, SelectBy};
use shockwave_core::filter::Selector;

/// The range the flags ask for, the variables filling in a base and a head the flags leave
/// out.
pub(super) fn range(a: RangeArgs, env: &BaseEnv) -> Result<Range, CliError> {
    if a.head.is_some() && a.uncommitted {
        return Err(CliError::Usage(
            "--uncommitted compares the worktree with HEAD, so it cannot be combined with --head; drop one of them".into(),
        ));
    }
    let (base, base_var) = match (a.base, &env.base) {
        (Some(b), _) => (Some(b), None),
        (None, Some((var, value))) => (Some(value.clone()), Some(*var)),
        (None, None) => (None, None),
    };
    let (head, head_var) = match (a.head, &env.head) {
        (Some(h), _) => (Some(h), None),
        (None, Some((var, value))) if a.uncommitted => {
            return Err(CliError::Usage(format!(
                "{var}={value} sets the head, and --uncommitted compares the worktree with HEAD; unset {var} or drop --uncommitted"
            )))
        }
        (None, Some((var, value))) => (Some(value.clone()), Some(*var)),
        (None, None) => (None, None),
    };
    Ok(Range {
        base,
        base_var,
        head,
        head_var,
        exact_base: a.exact_base,
        uncommitted: a.uncommitted,
        all_on_missing_base: a.on_missing_base == OnMissingBase::All,
        dependents: match a.dependents {
            DependentsArg::None => Dependents::None,
            DependentsArg::Direct => Dependents::Direct,
            DependentsArg::Transitive => Dependents::Transitive,
        },
        ci_base: env.ci_branch.clone(),
        push_before: env.push_before.clone(),
    })
}

/// The flags that select this range (and config) again, shell-quoted, for hints that print a
/// command: ` --config ci/pipeline.toml --base origin/main --uncommitted`.
pub(crate) fn range_flags(range: &Range, config: Option<&Path>) -> String {
    use shockwave_core::report::affected::shell_quote;
    let mut out = String::new();
    if let Some(c) = config {
        out.push_str(&format!(" --config {}", shell_quote(&c.to_string_lossy())));
    }
    if let Some(b) = &range.base {
        out.push_str(&format!(" --base {}", shell_quote(b)));
    }
    if let Some(h) = &range.head {
        out.push_str(&format!(" --head {}", shell_quote(h)));
    }
    if range.exact_base {
        out.push_str(" --exact-base");
    }
    if range.uncommitted {
        out.push_str(" --uncommitted");
    }
    if range.all_on_missing_base {
        out.push_str(" --on-missing-base all");
    }
    out
}

/// Which services a `run` or `hash` covers: by name, all, or what a range affects.
pub(super) fn select(s: SelectArgs, env: &BaseEnv) -> Result<Select, CliError> {
    let r = s.range;
    let kind = s.kind.map(KindArg::kind);
    let filters = parse_filters(&s.filter)?;
    if !s.all && s.service.is_empty() {
        // With `--filter`, the range narrows the selection only when the command line asks
        // for one (`--affected`, `--base`, `--uncommitted`): a base from `default_base` or
        // a variable does not turn `--filter web...` into "web... if affected".
        let asked = s.affected || (!filters.is_empty() && (r.base.is_some() || r.uncommitted));
        let range = range(r, env)?;
        return Ok(Select {
            head: range.head.clone(),
            head_var: range.head_var,
            by: SelectBy::Affected { range, asked },
            ignored: Vec::new(),
            kind,
            filters,
        });
    }
    let ignored = [
        (r.base.is_some(), "--base"),
        (r.head.is_some(), "--head"),
        (r.exact_base, "--exact-base"),
        (r.uncommitted, "--uncommitted"),
        (
            r.on_missing_base != OnMissingBase::Fail,
            "--on-missing-base",
        ),
        (r.dependents != DependentsArg::Transitive, "--dependents"),
    ]
    .into_iter()
    .filter_map(|(set, flag)| set.then_some(flag))
    .collect();
    let by = if s.all {
        SelectBy::All
    } else {
        SelectBy::Services(s.service)
    };
    // A selection by name has no range: the variables that name one do not apply.
    Ok(Select {
        head: r.head,
        head_var: None,
        by,
        ignored,
        kind,
        filters,
    })
}

/// Each `--filter` parsed: a syntax error is a usage error, before anything is read.
pub(super) fn parse_filters(raw: &[String]) -> Result<Vec<Selector>, CliError> {
    raw.iter()
        .map(|f| Selector::parse(f).map_err(|e| CliError::Usage(e.to_string())))
        .collect()
}
