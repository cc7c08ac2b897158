use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use super::*;
use crate::config::{parse, ServiceId, Workspace};

/// A workspace of `n` services `s000`…, each depending on the services `deps(i)` lists (lower
/// indices only), with `build` (needs `^build`) and `test` (needs `build`) targets.
fn workspace(n: usize, deps: impl Fn(usize) -> Vec<usize>) -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "[workspace]\nmembers = [\"s/*\"]\n[targets.build]\ncommand = \"b\"\nneeds = [\"^build\"]\n[targets.test]\ncommand = \"t\"\nneeds = [\"build\"]\n",
    );
    for i in 0..n {
        std::fs::create_dir_all(dir.path().join(format!("s/s{i:03}"))).unwrap();
        let d: Vec<String> = deps(i).iter().map(|d| format!("\"s{d:03}\"")).collect();
        text.push_str(&format!("[services.s{i:03}]\ndeps = [{}]\n", d.join(", ")));
    }
    let ws = parse(&text, Path::new("pipeline.toml"), dir.path()).unwrap();
    (dir, ws)
}

fn graph(ws: &Workspace, targets: &[&str]) -> (TaskGraph, Vec<String>) {
    let all: Vec<ServiceId> = ws.service_ids().collect();
    let targets: Vec<String> = targets.iter().map(|t| t.to_string()).collect();
    let g = TaskGraph::build(ws, &all, &targets).unwrap();
    let labels = g.tasks().iter().map(|t| t.label(ws)).collect();
    (g, labels)
}

/// A small deterministic generator (xorshift), so the "random" graphs are the same every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn generated(n: usize, seed: u64) -> (tempfile::TempDir, Workspace) {
    let mut rng = Rng(seed);
    let deps: Vec<Vec<usize>> = (0..n)
        .map(|i| {
            let mut d = BTreeSet::new();
            for _ in 0..(rng.next() % 4) {
                if i > 0 {
                    d.insert((rng.next() % i as u64) as usize);
                }
            }
            d.into_iter().collect()
        })
        .collect();
    workspace(n, |i| deps[i].clone())
}

#[test]
fn shard_specs_parse_and_bad_ones_name_the_form() {
    assert_eq!(
        "2/4".parse::<ShardSpec>(),
        Ok(ShardSpec { index: 2, count: 4 })
    );
    assert_eq!("1/1".parse::<ShardSpec>().unwrap().to_string(), "1/1");
    for bad in [
        "0/3", "4/3", "a/b", "3", "", "/", "1/", "-1/3", "1/0", "1/999",
    ] {
        let err = bad.parse::<ShardSpec>().unwrap_err().to_string();
        assert!(err.contains(&format!("`{bad}`")), "{bad}: {err}");
        assert!(
            err.contains("K/N") || err.contains("at most"),
            "{bad}: {err}"
        );
    }
    assert_eq!(parse_count("8"), Ok(8));
    assert!(parse_count("0").is_err() && parse_count("x").is_err());
}

#[test]
fn every_requested_task_lands_in_exactly_one_shard() {
    let (_d, ws) = generated(60, 7);
    let (g, labels) = graph(&ws, &["build", "test"]);
    let est = estimates(&g, &labels, &HashMap::new());
    for n in 1..=9 {
        let p = partition(&g, &labels, &est, n);
        assert_eq!(p.count(), n);
        for (t, o) in g.tasks().iter().zip(&p.owner) {
            assert_eq!(t.requested, o.is_some());
        }
        let members = p.members();
        let listed: usize = members.iter().map(Vec::len).sum();
        assert_eq!(listed, g.tasks().iter().filter(|t| t.requested).count());
        assert_eq!(p.loads.iter().sum::<u64>(), p.total);
        // Non-empty shards are a prefix.
        let used = members.iter().take_while(|m| !m.is_empty()).count();
        assert!(members[used..].iter().all(Vec::is_empty), "n = {n}");
        assert_eq!(used, n.min(listed));
    }
}

#[test]
fn the_partition_depends_on_labels_and_needs_not_on_order() {
    let (_d, ws) = generated(40, 11);
    let (g, labels) = graph(&ws, &["build"]);
    let known: HashMap<String, u64> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.clone(), 100 + (i as u64 * 37) % 500))
        .collect();
    let est = estimates(&g, &labels, &known);
    let a = partition(&g, &labels, &est, 4);
    assert_eq!(a, partition(&g, &labels, &est, 4), "same input, same split");

    // The same graph with its tasks in the reverse of the order they were found in (still
    // topological is not needed by the partition): each label keeps its shard.
    let len = g.len();
    let rev = |i: usize| len - 1 - i;
    let mut tasks: Vec<crate::tasks::Task> = g.tasks().iter().rev().cloned().collect();
    for t in &mut tasks {
        t.needs = t
            .needs
            .iter()
            .map(|n| TaskIdx::new(rev(n.index())))
            .collect();
        t.needs.sort_unstable();
    }
    let reversed = TaskGraph::unordered_for_test(tasks);
    let rlabels: Vec<String> = labels.iter().rev().cloned().collect();
    let rest: Vec<u64> = est.iter().rev().copied().collect();
    let b = partition(&reversed, &rlabels, &rest, 4);
    for (i, label) in labels.iter().enumerate() {
        assert_eq!(a.owner[i], b.owner[rev(i)], "{label}");
    }
    assert_eq!(a.digest(&labels), b.digest(&rlabels));
    let other = partition(&g, &labels, &est, 5);
    assert_ne!(a.digest(&labels), other.digest(&labels));
}

#[test]
fn a_skewed_set_stays_within_fifteen_percent_of_the_ideal() {
    let (_d, ws) = workspace(50, |_| Vec::new());
    let (g, labels) = graph(&ws, &["build"]);
    let mut rng = Rng(3);
    let mut est: Vec<u64> = (0..g.len()).map(|_| 1_000 + rng.next() % 60_000).collect();
    // One task as long as a fifth of the total.
    let rest: u64 = est[1..].iter().sum();
    est[0] = rest / 4;
    for n in 2..=8 {
        let p = partition(&g, &labels, &est, n);
        let ratio = p.max_load() as f64 / p.ideal() as f64;
        assert!(
            ratio <= 1.15,
            "n = {n}: {} vs ideal {}",
            p.max_load(),
            p.ideal()
        );
        assert_eq!(p.longest, est[0]);
    }
}

#[test]
fn tasks_that_share_needs_stay_together_when_it_costs_little() {
    // Two families: `a` with eight dependents, `b` with eight; the libraries are long.
    let (_d, ws) = workspace(18, |i| match i {
        0 | 1 => Vec::new(),
        2..=9 => vec![0],
        _ => vec![1],
    });
    let (g, labels) = graph(&ws, &["test"]);
    let known: HashMap<String, u64> = labels
        .iter()
        .map(|l| {
            let long = l == "s000:build" || l == "s001:build";
            (l.clone(), if long { 60_000 } else { 1_000 })
        })
        .collect();
    let est = estimates(&g, &labels, &known);
    let p = partition(&g, &labels, &est, 2);
    let shard_of = |name: &str| p.owner[labels.iter().position(|l| l == name).unwrap()];
    for i in 2..=9 {
        assert_eq!(shard_of(&format!("s{i:03}:test")), shard_of("s002:test"));
    }
    for i in 10..18 {
        assert_eq!(shard_of(&format!("s{i:03}:test")), shard_of("s010:test"));
    }
    assert_ne!(shard_of("s002:test"), shard_of("s010:test"));
}

#[test]
fn estimates_fall_back_to_the_target_median_then_everything_then_one_second() {
    let (_d, ws) = workspace(4, |_| Vec::new());
    let (g, labels) = graph(&ws, &["build", "test"]);
    assert!(estimates(&g, &labels, &HashMap::new())
        .iter()
        .all(|&e| e == DEFAULT_ESTIMATE_MS));
    let known: HashMap<String, u64> = [
        ("s000:build", 100),
        ("s001:build", 300),
        ("s002:build", 200),
        ("s000:test", 0),
    ]
    .into_iter()
    .map(|(l, d)| (l.to_string(), d))
    .collect();
    let est = estimates(&g, &labels, &known);
    let of = |l: &str| est[labels.iter().position(|x| x == l).unwrap()];
    assert_eq!(of("s003:build"), 200, "the median of the builds");
    assert_eq!(of("s000:test"), 1, "never 0");
    assert_eq!(
        of("s003:test"),
        1,
        "the median of the tests, 0, is raised to 1"
    );
}

#[test]
fn a_shard_runs_its_own_tasks_and_what_they_need() {
    let (_d, ws) = workspace(3, |i| if i == 2 { vec![0, 1] } else { Vec::new() });
    let (g, labels) = graph(&ws, &["build"]);
    let est = estimates(&g, &labels, &HashMap::new());
    let p = partition(&g, &labels, &est, 3);
    let top = labels.iter().position(|l| l == "s002:build").unwrap();
    let shard = p.owner[top].unwrap();
    let (sub, old) = restrict(&g, &p, shard);
    let sub_labels: Vec<&str> = old.iter().map(|&o| labels[o.index()].as_str()).collect();
    assert_eq!(sub_labels, ["s000:build", "s001:build", "s002:build"]);
    let requested: Vec<bool> = sub.tasks().iter().map(|t| t.requested).collect();
    assert_eq!(requested, [false, false, true]);
    let idx = |list: &[usize]| -> Vec<TaskIdx> { list.iter().copied().map(TaskIdx::new).collect() };
    assert_eq!(sub.tasks()[2].needs, idx(&[0, 1]));
    assert_eq!(sub.dependents_of(TaskIdx::new(0)), idx(&[2]));
    // Another shard holds only its own leaf.
    let leaf = p.owner[labels.iter().position(|l| l == "s000:build").unwrap()].unwrap();
    assert_eq!(restrict(&g, &p, leaf).0.len(), 1);
}
