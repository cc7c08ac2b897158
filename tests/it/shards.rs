//! One run split over N CI jobs: `run --shard K/N`, `--shards N --dry-run`, `--timings`,
//! `affected --format github --shards N` and `report` merging the shards' summaries.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::{OutputExt, SummaryJson, TestRepo};
use serde_json::{json, Value};

/// A repository of `n` services whose dependencies come from a fixed-seed generator, each with
/// `build` (needs `^build`) and `test` (needs `build`) targets that only print.
fn generated(n: usize, seed: u64) -> TestRepo {
    let repo = TestRepo::new();
    let mut state = seed;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut toml = String::from(
        "[workspace]\nmembers = [\"s/*\"]\n[targets.build]\ncommand = \"echo build\"\nneeds = [\"^build\"]\n[targets.test]\ncommand = \"echo test\"\nneeds = [\"build\"]\n",
    );
    for i in 0..n {
        let mut deps = BTreeSet::new();
        for _ in 0..next() % 4 {
            if i > 0 {
                deps.insert(format!("\"s{:03}\"", next() % i as u64));
            }
        }
        let deps: Vec<String> = deps.into_iter().collect();
        toml.push_str(&format!(
            "[services.s{i:03}]\ndeps = [{}]\n",
            deps.join(", ")
        ));
        repo.write(format!("s/s{i:03}/main.txt"), format!("{i}\n"));
    }
    repo.config(&toml);
    repo.commit("generated");
    repo
}

fn labels(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .expect("an array of labels")
        .iter()
        .map(|l| l.as_str().expect("a label").to_string())
        .collect()
}

/// The requested tasks of a dry-run plan.
fn requested(plan: &Value) -> BTreeSet<String> {
    plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["requested"] == true)
        .map(|t| t["task"].as_str().unwrap().to_string())
        .collect()
}

/// `--shards N --dry-run=json`: each shard's requested tasks, in shard order.
fn split(repo: &TestRepo, args: &[&str], n: usize) -> Vec<BTreeSet<String>> {
    let count = n.to_string();
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--shards", &count, "--dry-run=json"]);
    let plan = repo.run(&all).success().json();
    let shards = plan["shards"].as_array().expect("`shards` is listed");
    assert_eq!(shards.len(), n);
    shards
        .iter()
        .enumerate()
        .map(|(k, s)| {
            assert_eq!(s["shard"], format!("{}/{n}", k + 1));
            labels(&s["tasks"])
        })
        .collect()
}

fn assert_exact_cover(repo: &TestRepo, args: &[&str]) {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.push("--dry-run=json");
    let whole = requested(&repo.run(&all).success().json());
    assert!(whole.len() > 7, "a run worth splitting: {whole:?}");
    for n in 1..=7 {
        let shards = split(repo, args, n);
        let mut seen = BTreeSet::new();
        for (k, s) in shards.iter().enumerate() {
            for t in s {
                assert!(seen.insert(t.clone()), "{t} in two shards of {n}");
            }
            // The shard's own plan requests exactly the tasks the listing gives it; what else
            // it holds is needed by them.
            let spec = format!("{}/{n}", k + 1);
            let mut one = vec!["run"];
            one.extend_from_slice(args);
            one.extend_from_slice(&["--shard", &spec, "--dry-run=json"]);
            let plan = repo.run(&one).success().json();
            assert_eq!(&requested(&plan), s, "shard {spec}");
            assert_eq!(plan["shard"]["index"], k + 1);
            for t in plan["tasks"].as_array().unwrap() {
                if t["requested"] == false {
                    assert!(t["needed_by"].is_string(), "{t}");
                }
            }
        }
        assert_eq!(seen, whole, "n = {n}");
    }
}

#[test]
fn every_requested_task_lands_in_exactly_one_shard() {
    let fixture = TestRepo::from_fixture();
    assert_exact_cover(&fixture, &["build", "test", "--all"]);
    let repo = generated(30, 0x5eed);
    assert_exact_cover(&repo, &["build", "test", "--all"]);
}

/// A summary of `durations` (label → ms), as `run --summary` writes them.
fn timings_file(dir: &Path, name: &str, durations: &[(String, u64)]) -> std::path::PathBuf {
    let tasks: Vec<Value> = durations
        .iter()
        .map(|(l, d)| {
            let (service, target) = l.split_once(':').unwrap();
            json!({"task": l, "service": service, "target": target, "status": "success",
                   "hash": "", "duration_ms": d, "saved_ms": 0, "requested": true,
                   "cache": "miss", "reasons": []})
        })
        .collect();
    let path = dir.join(name);
    let doc = json!({"schema": 1, "shockwave": "0", "targets": ["build"], "selection": "all",
                     "base": null, "head": null, "merge_base": null, "duration_ms": 1,
                     "interrupted": false, "totals": {"tasks": 0, "success": 0, "cached": 0,
                     "failed": 0, "skipped": 0, "saved_ms": 0}, "tasks": tasks});
    std::fs::write(&path, doc.to_string()).unwrap();
    path
}

#[test]
fn partitions_are_the_same_in_two_clones_with_a_warm_or_cold_cache() {
    let origin = generated(40, 99);
    let dir = tempfile::tempdir().unwrap();
    let mut durations = Vec::new();
    for i in 0..40u64 {
        durations.push((format!("s{i:03}:build"), 500 + i * 97 % 4_000));
        durations.push((format!("s{i:03}:test"), 2_000 + i * 331 % 9_000));
    }
    let timings = timings_file(dir.path(), "t.json", &durations);
    let t = timings.to_str().unwrap();
    let args = ["build", "test", "--all", "--timings", t];
    let one = TestRepo::clone_from(&origin, &[]);
    let two = TestRepo::clone_from(&origin, &[]);
    let cold = split(&one, &args, 5);
    one.run(&["run", "build", "test", "--all"]).success();
    let warm = split(&one, &args, 5);
    let other = split(&two, &args, 5);
    assert_eq!(cold, warm, "the cache does not move tasks");
    assert_eq!(cold, other, "another clone splits the same way");
    // The durations do move them: the split is not the same as without history.
    assert_ne!(cold, split(&two, &["build", "test", "--all"], 5));
}

#[test]
fn a_skewed_timings_file_is_balanced_within_fifteen_percent() {
    let repo = generated(40, 3);
    let dir = tempfile::tempdir().unwrap();
    let mut durations: Vec<(String, u64)> = (1..40u64)
        .map(|i| (format!("s{i:03}:build"), 1_000 + (i * 7_919) % 30_000))
        .collect();
    let rest: u64 = durations.iter().map(|d| d.1).sum();
    // One task as long as a fifth of the total.
    durations.push(("s000:build".into(), rest / 4));
    let total: u64 = durations.iter().map(|d| d.1).sum();
    let longest = rest / 4;
    let timings = timings_file(dir.path(), "skew.json", &durations);
    for n in [2, 3, 4, 5, 8] {
        let count = n.to_string();
        let plan = repo
            .run(&[
                "run",
                "build",
                "--all",
                "--shards",
                &count,
                "--dry-run=json",
                "--timings",
                timings.to_str().unwrap(),
            ])
            .success()
            .json();
        let est = &plan["estimate"];
        assert_eq!(est["total_ms"], total);
        assert_eq!(est["with_history"], 40);
        let ideal = (total.div_ceil(n)).max(longest);
        let loads: Vec<u64> = plan["shards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["estimated_ms"].as_u64().unwrap())
            .collect();
        let max = *loads.iter().max().unwrap();
        assert_eq!(est["longest_shard_ms"], max);
        assert!(
            max as f64 <= ideal as f64 * 1.15,
            "n = {n}: longest shard {max} ms, ideal {ideal} ms ({loads:?})"
        );
    }
}

/// `$GITHUB_OUTPUT` lines as `name → value`.
fn outputs(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The README's workflow, job by job: the plan job writes the shard matrix, each shard job runs
/// in a fresh clone with the timings file the plan job passed on, and the last job merges.
#[test]
fn the_readme_workflow_runs_n_jobs_and_merges_one_report() {
    let origin = TestRepo::from_fixture();
    origin.write(
        "fixtures/libs/log-lib/log.go",
        "package loglib\n\n// a change\n",
    );
    origin.commit("change log-lib");
    let ci = tempfile::tempdir().unwrap();
    let out_file = ci.path().join("github_output");
    // No timings yet: the first pipeline warns and counts every task the same.
    let timings = ci.path().join("timings.json");
    let plan_job = TestRepo::clone_from(&origin, &[]);
    plan_job
        .command(&[
            "affected", "--base", "HEAD~1", "--format", "github", "--shards", "3", "--target",
            "build", "test",
        ])
        .env("GITHUB_OUTPUT", &out_file)
        .output()
        .unwrap()
        .success();
    let out = outputs(&std::fs::read_to_string(&out_file).unwrap());
    assert_eq!(out["any"], "true");
    let matrix: Value = serde_json::from_str(&out["shards"]).unwrap();
    let shards: Vec<String> = matrix["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["shard"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(shards, ["1/3", "2/3", "3/3"]);

    let mut files = Vec::new();
    let mut all_requested = BTreeSet::new();
    let mut durations = Vec::new();
    for shard in &shards {
        let job = TestRepo::clone_from(&origin, &[]);
        let summary = ci
            .path()
            .join(format!("summary-{}", &shard[..1]))
            .join("run.json");
        std::fs::create_dir_all(summary.parent().unwrap()).unwrap();
        let out = job
            .command(&["run", "build", "test", "--base", "HEAD~1", "--shard", shard])
            .arg("--timings")
            .arg(&timings)
            .arg("--summary")
            .arg(&summary)
            .output()
            .unwrap();
        out.success();
        assert!(
            out.stderr_str().contains("timings.json"),
            "{}",
            out.stderr_str()
        );
        let s: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        assert_eq!(s["shard"]["index"], shard[..1].parse::<u64>().unwrap());
        assert!(s.with_status("failed").is_empty());
        for t in s["tasks"].as_array().unwrap() {
            if t["requested"] == true {
                assert!(all_requested.insert(t["task"].as_str().unwrap().to_string()));
                assert_eq!(t["shard"].to_string(), shard[..1]);
            } else {
                assert!(t["needed_by"].is_string());
            }
        }
        durations.push(s["duration_ms"].as_u64().unwrap());
        files.push(summary);
    }
    // The affected services: log-lib and everything depending on it, 2 targets each.
    let whole = requested(
        &origin
            .run(&["run", "build", "test", "--base", "HEAD~1", "--dry-run=json"])
            .success()
            .json(),
    );
    assert_eq!(all_requested, whole);

    let merged = ci.path().join("merged.json");
    let mut report = origin.command(&["report"]);
    report.args(&files).arg("--merge-json").arg(&merged);
    let out = report.output().unwrap();
    out.success();
    let md = out.stdout_str();
    let m: Value = serde_json::from_str(&std::fs::read_to_string(&merged).unwrap()).unwrap();
    let tasks = m["tasks"].as_array().unwrap();
    let distinct: BTreeSet<&str> = tasks.iter().map(|t| t["task"].as_str().unwrap()).collect();
    assert_eq!(distinct.len(), tasks.len(), "each task once");
    assert_eq!(m["totals"]["tasks"], tasks.len());
    assert_eq!(
        m["totals"]["success"].as_u64().unwrap() + m["totals"]["cached"].as_u64().unwrap(),
        tasks.len() as u64
    );
    assert!(whole.iter().all(|w| m.task(w)["requested"] == true));
    assert_eq!(m["duration_ms"], *durations.iter().max().unwrap());
    assert_eq!(m["shards"].as_array().unwrap().len(), 3);
    assert!(md.contains("### Shards"), "{md}");
    for shard in &shards {
        assert!(md.contains(&format!("- **{shard}**: ")), "{md}");
    }
    assert!(!md.contains("⚠️"), "{md}");

    // The merged summary is the next pipeline's timings: no warning, every task on record.
    let next = origin
        .command(&[
            "run",
            "build",
            "test",
            "--base",
            "HEAD~1",
            "--shards",
            "3",
            "--dry-run",
        ])
        .arg("--timings")
        .arg(&merged)
        .output()
        .unwrap();
    next.success();
    assert!(next.stderr_str().is_empty(), "{}", next.stderr_str());
    assert!(
        next.stdout_str().contains(&format!(
            "durations on record for {} of {} requested tasks",
            whole.len(),
            whole.len()
        )),
        "{}",
        next.stdout_str()
    );
}

#[test]
fn a_report_counts_a_failed_shard_first_and_names_missing_ones() {
    let repo = generated(12, 5);
    repo.config(
        &(repo.read("pipeline.toml")
            + "[services.s003.targets.test]\ncommand = \"echo broken; exit 4\"\n"),
    );
    repo.commit("break s003:test");
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut failed_in = None;
    for k in 1..=3 {
        let path = dir.path().join(format!("{k}.json"));
        let spec = format!("{k}/3");
        let out = repo
            .command(&[
                "run",
                "build",
                "test",
                "--all",
                "--continue",
                "--shard",
                &spec,
            ])
            .arg("--summary")
            .arg(&path)
            .output()
            .unwrap();
        if out.code() == 1 {
            failed_in = Some(k);
        } else {
            out.success();
        }
        files.push(path);
    }
    let failed_in = failed_in.expect("the shard holding s003:test failed");
    // Report the failed shard and one other; the third shard's summary never arrived.
    let other = if failed_in == 1 { 2 } else { 1 };
    let absent = 6 - failed_in - other;
    let out = repo
        .command(&["report"])
        .arg(&files[failed_in - 1])
        .arg(&files[other - 1])
        .arg(dir.path().join("missing.json"))
        .output()
        .unwrap();
    out.success();
    let md = out.stdout_str();
    assert!(
        out.stderr_str().contains("missing.json"),
        "{}",
        out.stderr_str()
    );
    assert!(md.contains("missing.json` could not be read"), "{md}");
    let failed = md.find("### ❌ Failed").expect("the failure is reported");
    assert!(
        failed < md.find("### Shards").unwrap(),
        "failed tasks first"
    );
    assert!(failed < md.find("### Tasks").unwrap());
    assert!(md.contains("#### `s003:test` (exit 4"), "{md}");
    assert!(
        md.contains(&format!("no summary for shard {absent}/3")),
        "{md}"
    );
    assert!(md.contains(" 1 failed"), "{md}");

    // Nothing readable at all is a usage error.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "not json").unwrap();
    let out = repo
        .command(&["report"])
        .arg(&bad)
        .arg(dir.path().join("missing.json"))
        .output()
        .unwrap();
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("none of the files"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn timings_that_cannot_be_used_are_warnings_not_failures() {
    let repo = generated(10, 8);
    let dir = tempfile::tempdir().unwrap();
    let not_json = dir.path().join("not.json");
    std::fs::write(&not_json, "{ nope").unwrap();
    let other_schema = dir.path().join("v2.json");
    std::fs::write(&other_schema, r#"{"schema": 2, "tasks": []}"#).unwrap();
    let listing = dir.path().join("hash.json");
    std::fs::write(
        &listing,
        repo.run(&["hash", "build", "--all", "--json"]).stdout,
    )
    .unwrap();
    let missing = dir.path().join("missing.json");
    let plain = split(&repo, &["build", "--all"], 3);
    for (file, says) in [
        (&not_json, "is not a shockwave run summary"),
        (&other_schema, "has summary schema 2"),
        (&listing, "is not a shockwave run summary"),
        (&missing, "cannot read"),
        (&dir.path().to_path_buf(), "is not a regular file"),
    ] {
        let args = ["build", "--all", "--timings", file.to_str().unwrap()];
        let mut all = vec!["run"];
        all.extend_from_slice(&args);
        all.extend_from_slice(&["--shard", "2/3"]);
        let out = repo.run(&all);
        out.success();
        let err = out.stderr_str();
        assert!(
            err.contains("warning") && err.contains(says),
            "{file:?}: {err}"
        );
        assert!(err.contains(&file.display().to_string()), "{err}");
        assert_eq!(split(&repo, &args, 3), plain, "{file:?} is ignored");
    }
}

#[test]
fn shard_flags_that_make_no_sense_are_usage_errors() {
    let repo = generated(4, 1);
    for spec in ["0/3", "4/3", "a/b", "3", "1/0", "1/257"] {
        let out = repo.run(&["run", "build", "--all", "--shard", spec]);
        out.expect_code(2);
        let err = out.stderr_str();
        assert!(err.contains(spec), "{err}");
        assert!(err.contains("K/N") || err.contains("at most 256"), "{err}");
    }
    for (args, says) in [
        (
            &["run", "build", "--all", "--shards", "3"][..],
            "add --dry-run",
        ),
        (
            &["run", "build", "--all", "--timings", "t.json"],
            "add --shard K/N",
        ),
        (
            &["run", "build", "--all", "--shards", "0", "--dry-run"],
            "from 1 to 256",
        ),
        (
            &[
                "run",
                "build",
                "--all",
                "--shard",
                "1/2",
                "--shards",
                "2",
                "--dry-run",
            ],
            "cannot be used with",
        ),
        (
            &["affected", "--base", "HEAD", "--shards", "2"],
            "add --format github",
        ),
        (
            &[
                "affected", "--base", "HEAD", "--format", "github", "--shards", "2", "--target",
                "bild",
            ],
            "did you mean `build`?",
        ),
    ] {
        let out = repo.run(args);
        out.expect_code(2);
        assert!(
            out.stderr_str().contains(says),
            "{args:?}: {}",
            out.stderr_str()
        );
    }
}

#[test]
fn affected_github_leaves_out_shards_with_nothing_to_do() {
    let repo = generated(6, 21);
    repo.write("s/s005/main.txt", "changed\n");
    repo.commit("change s005");
    let github = |extra: &[&str]| {
        let mut args = vec![
            "affected", "--base", "HEAD~1", "--format", "github", "--shards", "4",
        ];
        args.extend_from_slice(extra);
        outputs(&repo.run(&args).success().stdout_str())
    };
    let affected: Vec<String> =
        serde_json::from_value(serde_json::from_str::<Value>(&github(&[])["affected"]).unwrap())
            .unwrap();
    let n = affected.len();
    assert!(n < 4, "{affected:?}");
    // Without targets, every shard may have work.
    let all: Value = serde_json::from_str(&github(&[])["shards"]).unwrap();
    assert_eq!(all["include"].as_array().unwrap().len(), 4);
    // With them, only as many as there are requested tasks, and the same as the run's split.
    let some: Value = serde_json::from_str(&github(&["--target", "build"])["shards"]).unwrap();
    let listed = split(&repo, &["build", "--base", "HEAD~1"], 4);
    let busy: Vec<Value> = listed
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.is_empty())
        .map(|(k, _)| json!({"shard": format!("{}/4", k + 1)}))
        .collect();
    assert_eq!(some["include"], Value::Array(busy));
    assert_eq!(some["include"].as_array().unwrap().len(), n);
    // Nothing affected: no shard jobs.
    let none = outputs(
        &repo
            .run(&[
                "affected", "--base", "HEAD", "--format", "github", "--shards", "4",
            ])
            .success()
            .stdout_str(),
    );
    assert_eq!(none["shards"], r#"{"include":[]}"#);
    assert_eq!(none["any"], "false");
}
