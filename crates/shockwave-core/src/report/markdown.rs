//! Markdown for a pull-request comment, rendered from a run summary: a headline with the cache rate
//! and time saved, failed tasks first with the tail of their logs, a table per service and target,
//! and why each service was in the run.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::reason::ReasonRecord;
use super::style::human_duration;
use super::summary::{Summary, TaskSummary};

pub fn render(s: &Summary<'_>) -> String {
    let t = &s.totals;
    let mut out = String::new();
    let _ = writeln!(out, "## shockwave: {}", s.targets.join(", "));
    let _ = writeln!(out);
    let pct = (t.cached * 100 + t.tasks / 2)
        .checked_div(t.tasks)
        .unwrap_or(0);
    let _ = write!(
        out,
        "**{} of {} task{} from cache ({pct}%{}), {} saved**",
        t.cached,
        t.tasks,
        if t.tasks == 1 { "" } else { "s" },
        if t.cached_remote > 0 {
            format!(
                ": {} local, {} remote",
                t.cached - t.cached_remote,
                t.cached_remote
            )
        } else {
            String::new()
        },
        human_duration(t.saved_ms)
    );
    let _ = writeln!(
        out,
        " · {} ran · {} failed · {} skipped · took {}{}",
        t.success,
        t.failed,
        t.skipped,
        human_duration(s.duration_ms),
        if s.interrupted {
            " · **interrupted**"
        } else {
            ""
        }
    );
    let range = match (&s.base, &s.merge_base) {
        (Some(b), Some(mb)) => format!(
            "changes from `{b}` (merge base `{}`) to `{}`",
            super::summary::prefix(mb, 7),
            s.head.as_deref().unwrap_or("HEAD")
        ),
        (Some(b), None) => format!("changes from `{b}`"),
        _ => format!("selection: {}", s.selection),
    };
    let shard = match &s.shard {
        Some(r) => format!(" · shard {}/{}", r.index, r.count),
        None => String::new(),
    };
    let _ = writeln!(out, "\n{range}{shard}\n");
    for problem in super::merge::problems(&s.shards) {
        let _ = writeln!(out, "> ⚠️ {problem}\n");
    }

    let failed: Vec<&TaskSummary<'_>> = s.tasks.iter().filter(|t| t.status == "failed").collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "### ❌ Failed\n");
        for f in failed {
            let code = f
                .exit_code
                .map_or("killed".to_string(), |c| format!("exit {c}"));
            let _ = writeln!(
                out,
                "#### `{}` ({code}, {})\n",
                f.task,
                human_duration(f.duration_ms)
            );
            if let Some(log) = f.log_tail.as_deref().filter(|l| !l.is_empty()) {
                let _ = writeln!(out, "<details open><summary>last lines of the log</summary>\n\n```\n{}\n```\n</details>\n", log.replace("```", "`\u{200B}``"));
            }
        }
    }

    shard_lines(&mut out, s);
    let _ = writeln!(out, "### Tasks\n");
    let _ = writeln!(out, "| Service | Target | Status | Duration | Saved |");
    let _ = writeln!(out, "|---|---|---|---:|---:|");
    let mut rows: Vec<&TaskSummary<'_>> = s.tasks.iter().collect();
    rows.sort_by_key(|t| (status_rank(&t.status), t.service.clone(), t.target.clone()));
    for r in rows {
        let saved = if r.saved_ms > 0 {
            human_duration(r.saved_ms)
        } else {
            String::new()
        };
        let mut status = status_label(&r.status).to_string();
        if r.restored.as_deref() == Some("log_only") {
            status.push_str(" (log only)");
        }
        if let Some(b) = &r.skipped_because {
            let _ = write!(status, " (`{b}` failed)");
        }
        let _ = writeln!(
            out,
            "| {} | {} | {status} | {} | {saved} |",
            md(&r.service),
            md(&r.target),
            if r.status == "skipped" {
                String::new()
            } else {
                human_duration(r.duration_ms)
            }
        );
    }

    undeclared_lines(&mut out, s);
    let _ = writeln!(out, "\n### Why these services\n");
    let mut seen = std::collections::BTreeMap::new();
    for task in &s.tasks {
        seen.entry(task.service.clone())
            .or_insert_with(|| (task.reasons.clone(), task.needed_by.clone()));
    }
    for (service, (reasons, needed_by)) in seen {
        let why = if reasons.is_empty() {
            match needed_by {
                Some(n) => format!("not affected; needed by `{n}`"),
                None => "not affected".to_string(),
            }
        } else {
            reasons_text(&service, &reasons)
        };
        let _ = writeln!(out, "- **{}**: {why}", md(&service));
    }
    out
}

/// The tasks that wrote files a cache hit would not restore, each with the globs that would.
fn undeclared_lines(out: &mut String, s: &Summary<'_>) {
    let wrote: Vec<&TaskSummary<'_>> = s
        .tasks
        .iter()
        .filter(|t| t.undeclared_outputs.is_some())
        .collect();
    if wrote.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n### Files a cache hit will not restore\n");
    for t in wrote {
        let Some(w) = &t.undeclared_outputs else {
            continue;
        };
        let folders: Vec<String> = w
            .folders
            .iter()
            .take(5)
            .map(|f| format!("`{}` ({})", md(&f.path), f.files))
            .collect();
        let mut line = format!("- `{}`: ", t.task);
        if w.files > 0 {
            let _ = write!(line, "{} outside its outputs", folders.join(", "));
            if w.folders.len() > folders.len() {
                let _ = write!(line, " and {} more", w.folders.len() - folders.len());
            }
        } else if w.other > 0 {
            let _ = write!(line, "changed or deleted {} files", w.other);
        }
        if !w.complete {
            line.push_str(" (its folder was too large to compare)");
        }
        if !w.cached {
            line.push_str("; not cached");
        }
        let _ = writeln!(out, "{line}");
    }
}

/// For a merged summary, one line per summary that went into it.
fn shard_lines(out: &mut String, s: &Summary<'_>) {
    if s.shards.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Shards\n");
    for l in &s.shards {
        let name = l
            .shard
            .as_deref()
            .map_or_else(|| format!("`{}`", l.file), str::to_string);
        if l.error.is_some() {
            let _ = writeln!(out, "- **{}**: not read", md(&name));
            continue;
        }
        let t = &l.totals;
        let estimate = match l.estimated_ms {
            Some(e) => format!(" (estimated {})", human_duration(e)),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "- **{}**: {} task{}: {} ran, {} from cache, {} failed, {} skipped · took {}{estimate}{}",
            md(&name),
            t.tasks,
            if t.tasks == 1 { "" } else { "s" },
            t.success,
            t.cached,
            t.failed,
            t.skipped,
            human_duration(l.duration_ms),
            if l.interrupted { " · **interrupted**" } else { "" }
        );
    }
    let _ = writeln!(out);
}

fn status_rank(s: &str) -> u8 {
    match s {
        "failed" => 0,
        "skipped" => 1,
        "success" => 2,
        _ => 3,
    }
}

fn status_label(s: &str) -> &'static str {
    match s {
        "success" => "✅ ran",
        "cached-local" => "⚡ cached",
        "cached-remote" => "⚡ cached (remote)",
        "failed" => "❌ failed",
        _ => "⏭️ skipped",
    }
}

fn md(s: &str) -> String {
    s.replace('|', "\\|")
}

/// One line per service: up to three reasons, then a count.
fn reasons_text(service: &str, reasons: &[ReasonRecord<'_>]) -> String {
    const SHOWN: usize = 3;
    let text = |v: &Option<Cow<'_, str>>| v.as_deref().unwrap_or("?").to_string();
    let list = |v: &Option<Vec<Cow<'_, str>>>| -> Vec<String> {
        v.iter().flatten().map(|e| e.to_string()).collect()
    };
    let mut parts = Vec::new();
    for r in reasons.iter().take(SHOWN) {
        let part = match &*r.kind {
            "file" => format!("changed `{}`", text(&r.path)),
            "global" => format!("global input `{}` changed", text(&r.path)),
            "unowned" => format!("unowned `{}` changed", text(&r.path)),
            "dependency" => {
                let chain: Vec<&str> = std::iter::once(service)
                    .chain(r.via.iter().flatten().map(|s| &**s))
                    .collect();
                let dev = if r.dev == Some(true) { " (dev)" } else { "" };
                format!("dependency {}{dev}", chain.join(" ← "))
            }
            "package" => format!(
                "package `{}` changed ({})",
                text(&r.path),
                list(&r.chain).join(" ← ")
            ),
            "missing_base" => "base not available, everything assumed changed".to_string(),
            "lockfile" => {
                let more = |n: Option<u64>| n.unwrap_or(0) as usize;
                format!(
                    "lockfile `{}` changed ({})",
                    text(&r.file),
                    super::affected::lockfile_change(
                        (&list(&r.added), more(r.more_added)),
                        (&list(&r.removed), more(r.more_removed))
                    )
                )
            }
            "lockfile_unreadable" => format!(
                "lockfile `{}` unreadable, everything it installs assumed changed",
                text(&r.file)
            ),
            "manifest" => format!("`{}` in `{}` changed", text(&r.key), text(&r.file)),
            "manifest_unreadable" => format!(
                "manifest `{}` unreadable, all of it assumed changed",
                text(&r.file)
            ),
            "selected" => format!("selected by `{}`", text(&r.by)),
            other => other.to_string(),
        };
        parts.push(part);
    }
    if reasons.len() > SHOWN {
        parts.push(format!("and {} more", reasons.len() - SHOWN));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::reasons_text;
    use crate::report::reason::ReasonRecord;
    use serde_json::json;

    /// A reason as a summary holds it.
    fn record(v: serde_json::Value) -> ReasonRecord<'static> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn lockfile_reasons_name_the_file_and_what_moved() {
        let changed = json!({"kind": "lockfile", "file": "pnpm-lock.yaml",
            "added": ["ms@2.1.3", "a@1", "b@1", "c@1"], "removed": ["ms@2.1.2"]});
        assert_eq!(
            reasons_text("web", &[record(changed)]),
            "lockfile `pnpm-lock.yaml` changed (+ms@2.1.3 +a@1 +b@1 +1 more −ms@2.1.2)"
        );
        let unreadable =
            json!({"kind": "lockfile_unreadable", "file": "yarn.lock", "detail": "not yarn"});
        assert_eq!(
            reasons_text("web", &[record(unreadable)]),
            "lockfile `yarn.lock` unreadable, everything it installs assumed changed"
        );
    }

    #[test]
    fn manifest_reasons_name_the_key_and_the_file() {
        let changed = json!({"kind": "manifest", "file": "Cargo.toml", "key": "workspace.package.rust-version"});
        assert_eq!(
            reasons_text("core", &[record(changed)]),
            "`workspace.package.rust-version` in `Cargo.toml` changed"
        );
        let unreadable =
            json!({"kind": "manifest_unreadable", "file": "Cargo.toml", "detail": "line 3"});
        assert_eq!(
            reasons_text("core", &[record(unreadable)]),
            "manifest `Cargo.toml` unreadable, all of it assumed changed"
        );
    }
}
