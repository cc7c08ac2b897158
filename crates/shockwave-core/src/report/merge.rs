//! Merging the summaries of one pipeline — the shards of a split run, or any runs of it — into one
//! summary: each task once (the entry of the run that requested it), totals over those tasks, the
//! longest run's wall time, and a line per summary merged (or per file that could not be read).
//! What the lines say about missing or mismatched shards is worked out here too, for the report.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Display;

use super::summary::{ShardLine, Summary, TaskSummary, SUMMARY_SCHEMA};
use crate::shard::MAX_SHARDS;

/// One input of a merge: the file as given, and its summary or why it could not be read (`E`,
/// whose message the merged summary keeps).
pub type Input<E> = (String, Result<Summary<'static>, E>);

/// Merges `inputs` in their order; at least one must be a summary (`None` otherwise).
pub fn merge<E: Display>(inputs: Vec<Input<E>>) -> Option<Summary<'static>> {
    let mut lines = Vec::new();
    let mut read = Vec::new();
    for (file, s) in inputs {
        match s {
            Ok(s) => {
                if s.shards.is_empty() {
                    lines.push(line_of(file, &s));
                } else {
                    // An earlier merge: its own lines, not one line for all of it.
                    lines.extend(s.shards.iter().cloned());
                }
                read.push(s);
            }
            Err(e) => lines.push(ShardLine {
                file,
                error: Some(e.to_string()),
                ..ShardLine::default()
            }),
        }
    }
    let first = read.first()?;
    let mut tasks: Vec<TaskSummary<'static>> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for t in read.iter().flat_map(|s| &s.tasks) {
        match at.get(&t.task) {
            Some(&i) if rank(t) < rank(&tasks[i]) => tasks[i] = t.clone(),
            Some(_) => {}
            None => {
                at.insert(t.task.clone(), tasks.len());
                tasks.push(t.clone());
            }
        }
    }
    let mut targets: Vec<String> = Vec::new();
    for t in read.iter().flat_map(|s| &s.targets) {
        if !targets.contains(t) {
            targets.push(t.clone());
        }
    }
    let same_selection = read.iter().all(|s| s.selection == first.selection);
    Some(Summary {
        schema: SUMMARY_SCHEMA,
        shockwave: env!("CARGO_PKG_VERSION").to_string(),
        targets,
        selection: if same_selection {
            first.selection.clone()
        } else {
            "mixed".into()
        },
        base: first.base.clone(),
        head: first.head.clone(),
        merge_base: first.merge_base.clone(),
        duration_ms: read.iter().map(|s| s.duration_ms).max().unwrap_or(0),
        interrupted: read.iter().any(|s| s.interrupted),
        totals: Summary::totals_of(&tasks),
        tasks,
        shard: None,
        shards: lines,
    })
}

fn line_of(file: String, s: &Summary<'_>) -> ShardLine {
    ShardLine {
        file,
        shard: s.shard.as_ref().map(|r| format!("{}/{}", r.index, r.count)),
        partition: s.shard.as_ref().map(|r| r.partition.clone()),
        estimated_ms: s.shard.as_ref().map(|r| r.estimated_ms),
        duration_ms: s.duration_ms,
        interrupted: s.interrupted,
        totals: s.totals.clone(),
        error: None,
    }
}

/// Which entry of a task found in several summaries counts (lowest first): the one its run
/// requested, then one that failed, ran, came from cache, was skipped.
fn rank(t: &TaskSummary<'_>) -> (bool, u8) {
    let status = match t.status.as_str() {
        "failed" => 0,
        "success" => 1,
        "cached-local" | "cached-remote" => 2,
        _ => 3,
    };
    (!t.requested, status)
}

/// What the lines of a merged summary show is wrong with it, one sentence each: files that could
/// not be read, shards with no summary or two, shards of different splits.
pub fn problems(lines: &[ShardLine]) -> Vec<String> {
    let mut out = Vec::new();
    for l in lines {
        if let Some(e) = &l.error {
            out.push(format!("`{}` could not be read: {e}", l.file));
        }
    }
    // Shards by count: which indices were seen, and under which partition digests.
    let mut seen: BTreeMap<usize, (BTreeMap<usize, usize>, BTreeSet<&str>)> = BTreeMap::new();
    for l in lines {
        let Some((k, n)) = l.shard.as_deref().and_then(|s| s.split_once('/')) else {
            continue;
        };
        let (Ok(k), Ok(n)) = (k.parse::<usize>(), n.parse::<usize>()) else {
            continue;
        };
        // The line comes from a file: a shard no split makes is named, never enumerated.
        if !(1..=MAX_SHARDS).contains(&n) || !(1..=n).contains(&k) {
            out.push(format!(
                "`{}` names shard {k}/{n}, which no split makes (K from 1 to N, N at most {MAX_SHARDS})",
                l.file
            ));
            continue;
        }
        let entry = seen.entry(n).or_default();
        *entry.0.entry(k).or_default() += 1;
        if let Some(p) = &l.partition {
            entry.1.insert(p);
        }
    }
    for (n, (indices, digests)) in &seen {
        let missing: Vec<String> = (1..=*n)
            .filter(|k| !indices.contains_key(k))
            .map(|k| format!("{k}/{n}"))
            .collect();
        if !missing.is_empty() {
            out.push(format!(
                "no summary for shard{} {}: {} tasks are missing from this report",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", "),
                if missing.len() == 1 { "its" } else { "their" }
            ));
        }
        for (k, times) in indices {
            if *times > 1 {
                out.push(format!("shard {k}/{n} has {times} summaries"));
            }
        }
        if digests.len() > 1 {
            out.push(format!(
                "the {n} shards were not split the same way (another base, selection or --timings file): some tasks may have run in two shards or in none; give every shard the same --timings file"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::summary::{ShardRecord, Totals};

    /// Why a file of a test's merge could not be read.
    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Unreadable(&'static str);

    fn task(label: &str, status: &str, requested: bool, duration_ms: u64) -> TaskSummary<'static> {
        let (service, target) = label.split_once(':').unwrap();
        TaskSummary {
            task: label.into(),
            service: service.into(),
            target: target.into(),
            status: status.into(),
            hash: String::new(),
            duration_ms,
            saved_ms: if status.starts_with("cached") { 500 } else { 0 },
            exit_code: None,
            requested,
            cache: "miss".into(),
            cache_source: None,
            skipped_because: None,
            reasons: Vec::new(),
            needed_by: None,
            shard: None,
            log_tail: None,
            restored: None,
            undeclared_outputs: None,
            fingerprint: None,
        }
    }

    fn summary(
        k: usize,
        n: usize,
        digest: &str,
        duration_ms: u64,
        tasks: Vec<TaskSummary<'static>>,
    ) -> Summary<'static> {
        Summary {
            schema: 1,
            shockwave: "0".into(),
            targets: vec!["build".into()],
            selection: "all".into(),
            base: None,
            head: None,
            merge_base: None,
            duration_ms,
            interrupted: false,
            totals: Summary::totals_of(&tasks),
            tasks,
            shard: Some(ShardRecord {
                index: k,
                count: n,
                partition: digest.into(),
                estimated_ms: 1,
            }),
            shards: Vec::new(),
        }
    }

    #[test]
    fn a_task_in_several_shards_counts_once_as_the_requested_one() {
        let one = summary(
            1,
            2,
            "d",
            3_000,
            vec![
                task("lib:build", "success", true, 900),
                task("app:build", "success", true, 100),
            ],
        );
        let two = summary(
            2,
            2,
            "d",
            5_000,
            vec![
                task("lib:build", "cached-remote", false, 5),
                task("web:build", "failed", true, 50),
            ],
        );
        let m = merge::<Unreadable>(vec![("1.json".into(), Ok(two)), ("2.json".into(), Ok(one))])
            .unwrap();
        assert_eq!(m.tasks.len(), 3);
        let lib = m.tasks.iter().find(|t| t.task == "lib:build").unwrap();
        assert_eq!((lib.status.as_str(), lib.requested), ("success", true));
        let Totals {
            tasks,
            success,
            cached,
            failed,
            ..
        } = m.totals;
        assert_eq!((tasks, success, cached, failed), (3, 2, 0, 1));
        assert_eq!(m.duration_ms, 5_000, "the longest shard");
        assert_eq!(m.shards.len(), 2);
        assert!(problems(&m.shards).is_empty(), "{:?}", problems(&m.shards));
        // A merge of a merge keeps the shard lines.
        let again = merge::<Unreadable>(vec![("m.json".into(), Ok(m))]).unwrap();
        assert_eq!(again.shards.len(), 2);
        assert_eq!(again.totals.tasks, 3);
    }

    #[test]
    fn missing_unreadable_and_mismatched_shards_are_named() {
        let a = summary(1, 3, "x", 1, vec![task("a:build", "success", true, 1)]);
        let b = summary(2, 3, "y", 1, vec![task("b:build", "success", true, 1)]);
        let m = merge(vec![
            ("a.json".into(), Ok(a)),
            ("b.json".into(), Ok(b)),
            ("c.json".into(), Err(Unreadable("not JSON"))),
        ])
        .unwrap();
        let p = problems(&m.shards);
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].contains("`c.json` could not be read: not JSON"));
        assert!(p[1].contains("no summary for shard 3/3"));
        assert!(p[2].contains("not split the same way"));
        assert!(merge(vec![("c.json".into(), Err(Unreadable("gone")))]).is_none());
    }

    #[test]
    fn a_shard_count_no_split_has_is_named_not_enumerated() {
        // A summary is untrusted: its shard count must not size the work done on it.
        let line = |shard: &str| ShardLine {
            file: "s.json".into(),
            shard: Some(shard.into()),
            ..ShardLine::default()
        };
        let p = problems(&[line("1/5000000"), line("0/3"), line("4/3"), line("3/3")]);
        let total: usize = p.iter().map(String::len).sum();
        assert!(total < 1_000, "{total} bytes of problems");
        assert!(p.iter().any(|m| m.contains("1/5000000")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("0/3")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("4/3")), "{p:?}");
    }
}
