//! Output formats of `affected` (text, json, names, github, `--explain`) and of `graph` (dot,
//! mermaid, json, `--affected`), compared verbatim or as parsed JSON.

use crate::common;

use common::{names, AffectedJson, OutputExt, TestRepo};
use serde_json::json;

/// `log` ← `auth` ← `api`; `web` depends on `auth` and `log`; `billing` on nothing. The last
/// commit changes two files in `log`.
pub(super) fn shop() -> TestRepo {
    let repo = TestRepo::new();
    repo.config(
        "\
[workspace]
members = [\"services/*\", \"libs/*\"]

[targets.build]
command = \"make\"
[targets.test]
command = \"make test\"
needs = [\"build\"]

[services.auth]
deps = [\"log\"]
[services.api]
deps = [\"auth\"]
paths = [\"proto/api/**\"]
[services.web]
deps = [\"auth\", \"log\"]
",
    );
    for d in [
        "libs/log",
        "libs/auth",
        "services/api",
        "services/web",
        "services/billing",
    ] {
        repo.write(format!("{d}/main.go"), "1\n");
    }
    repo.commit("init");
    repo.write("libs/log/main.go", "2\n")
        .write("libs/log/b.go", "1\n");
    repo.commit("log");
    repo
}

fn short(repo: &TestRepo, rev: &str) -> String {
    repo.rev(rev)[..7].to_string()
}

#[test]
fn json_has_the_documented_schema() {
    let repo = shop();
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "affected",
        "base",
        "changed_files",
        "head",
        "merge_base",
        "schema",
        "unaffected",
        "uncommitted",
        "unowned_files",
    ];
    expected.sort();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort();
    assert_eq!(keys_sorted, expected);
    assert_eq!(json["schema"], 1);
    assert_eq!(json["merge_base"], repo.rev("HEAD~1").as_str());
    assert_eq!(
        json["changed_files"],
        json!([
            {"path": "libs/log/b.go", "status": "added"},
            {"path": "libs/log/main.go", "status": "modified"}
        ])
    );
    assert_eq!(
        json["affected"][0],
        json!({"name": "api", "root": "services/api", "kind": "service", "reasons": [{"kind": "dependency", "via": ["auth", "log"]}]})
    );
    assert_eq!(json.affected_names(), names(&["api", "auth", "log", "web"]));
    assert_eq!(json.unaffected_names(), names(&["billing"]));
}

#[test]
fn text_output() {
    let repo = shop();
    let out = repo.run(&["affected", "--base", "HEAD~1"]);
    out.success();
    assert_eq!(
        out.stdout_str(),
        format!(
            "\
4 of 5 services affected — 2 changed files (HEAD~1 ({}) → HEAD)

api
  dependency  api ← auth ← log

auth
  dependency  auth ← log

log
  changed     libs/log/b.go
  changed     libs/log/main.go

web
  dependency  web ← log
  dependency  web ← auth ← log
",
            short(&repo, "HEAD~1")
        )
    );
    assert_eq!(out.stderr_str(), "");
}

#[test]
fn text_output_names_the_merge_base_when_it_differs_from_the_base() {
    let repo = shop();
    let fork = repo.rev("HEAD");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("services/web/main.go", "2\n");
    repo.commit("web");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("services/billing/main.go", "2\n");
    repo.commit("billing");
    let out = repo.run(&["affected", "--base", "main", "--head", "feature"]);
    out.success();
    assert_eq!(
        out.lines()[0],
        format!(
            "1 of 5 services affected — 1 changed file (main...feature (merge base {}))",
            &fork[..7]
        )
    );
}

#[test]
fn text_output_summarises_long_file_lists() {
    let repo = shop();
    for i in 0..8 {
        repo.write(format!("services/billing/f{i}.go"), "1\n");
    }
    repo.commit("many");
    let out = repo.run(&["affected", "--base", "HEAD~1"]);
    out.success();
    let text = out.stdout_str();
    assert!(
        text.contains(
            "\nbilling\n  changed     services/billing/f0.go\n  changed     services/billing/f1.go\n  changed     services/billing/f2.go\n  changed     services/billing/f3.go\n  changed     services/billing/f4.go\n  … and 3 more changed files (shockwave affected --base HEAD~1 --explain billing)\n"
        ),
        "{text}"
    );
}

#[test]
fn names_one_per_line() {
    let repo = shop();
    let out = repo.run(&["affected", "--base", "HEAD~1", "--format", "names"]);
    out.success();
    assert_eq!(out.stdout_str(), "api\nauth\nlog\nweb\n");
    let out = repo.run(&["affected", "--base", "HEAD", "--format", "names"]);
    out.success();
    assert_eq!(out.stdout_str(), "");
}

#[test]
fn github_prints_outputs_without_github_output() {
    let repo = shop();
    let out = repo.run(&["affected", "--base", "HEAD~1", "--format", "github"]);
    out.success();
    assert_eq!(
        out.stdout_str(),
        "\
affected=[\"api\",\"auth\",\"log\",\"web\"]
matrix={\"include\":[{\"service\":\"api\"},{\"service\":\"auth\"},{\"service\":\"log\"},{\"service\":\"web\"}]}
any=true
"
    );
    let out = repo.run(&["affected", "--base", "HEAD", "--format", "github"]);
    out.success();
    assert_eq!(
        out.stdout_str(),
        "affected=[]\nmatrix={\"include\":[]}\nany=false\n"
    );
}

#[test]
fn github_appends_to_github_output() {
    let repo = shop();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("github_output");
    std::fs::write(&file, "earlier=1\n").unwrap();
    let out = repo
        .command(&[
            "affected",
            "--base",
            "HEAD~1",
            "--format",
            "github",
            "--dependents",
            "none",
        ])
        .env("GITHUB_OUTPUT", &file)
        .output()
        .unwrap();
    out.success();
    assert_eq!(
        out.stdout_str(),
        "wrote affected, matrix and any (1 service) to $GITHUB_OUTPUT\n"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "earlier=1\naffected=[\"log\"]\nmatrix={\"include\":[{\"service\":\"log\"}]}\nany=true\n"
    );
    // A second step appends again; nothing affected gives `any=false`.
    let out = repo
        .command(&["affected", "--base", "HEAD", "--format", "github"])
        .env("GITHUB_OUTPUT", &file)
        .output()
        .unwrap();
    out.success();
    assert_eq!(
        out.stdout_str(),
        "wrote affected, matrix and any (0 services) to $GITHUB_OUTPUT\n"
    );
    let lines: Vec<String> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(
        lines[4..],
        ["affected=[]", "matrix={\"include\":[]}", "any=false"]
    );
}

#[test]
fn github_output_that_cannot_be_written_is_an_error() {
    let repo = shop();
    let out = repo
        .command(&["affected", "--base", "HEAD~1", "--format", "github"])
        .env("GITHUB_OUTPUT", repo.abs("no/such/dir/out"))
        .output()
        .unwrap();
    assert_ne!(out.code(), 0);
    assert!(
        out.stderr_str().starts_with("error: failed to append to "),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn github_matrix_is_valid_json_for_odd_names() {
    let repo = TestRepo::new();
    repo.config(
        "[services.\"@shop/web\"]\nroot = \"web\"\n[services.'say \"hi\"']\nroot = \"hi\"\n",
    )
    .write("web/index.ts", "1\n")
    .write("hi/x", "1\n");
    repo.commit("init");
    repo.write("web/index.ts", "2\n").write("hi/x", "2\n");
    repo.commit("both");
    let out = repo.run(&["affected", "--base", "HEAD~1", "--format", "github"]);
    out.success();
    let lines = out.lines();
    let matrix: serde_json::Value =
        serde_json::from_str(lines[1].strip_prefix("matrix=").unwrap()).unwrap();
    assert_eq!(
        matrix,
        json!({"include": [{"service": "@shop/web"}, {"service": "say \"hi\""}]})
    );
}

#[test]
fn explain_an_affected_service() {
    let repo = shop();
    let out = repo.run(&["affected", "--base", "HEAD~1", "--explain", "web"]);
    out.success();
    assert_eq!(
        out.stdout_str(),
        format!(
            "\
web is affected
  root:  services/web
  deps:  auth, log
  range: 2 changed files (HEAD~1 ({}) → HEAD)

reasons (2):
  dependency  web ← log
                log changed libs/log/b.go, libs/log/main.go
  dependency  web ← auth ← log
                log changed libs/log/b.go, libs/log/main.go
",
            short(&repo, "HEAD~1")
        )
    );
}

#[test]
fn explain_a_directly_changed_service() {
    let repo = shop();
    let out = repo.run(&["affected", "--base", "HEAD~1", "--explain", "log"]);
    out.success();
    let text = out.stdout_str();
    assert!(
        text.ends_with(
            "\nreasons (2):\n  changed     libs/log/b.go\n  changed     libs/log/main.go\n"
        ),
        "{text}"
    );
}

#[test]
fn explain_an_unaffected_service() {
    let repo = shop();
    let out = repo.run(&["affected", "--base", "HEAD~1", "--explain", "billing"]);
    out.success();
    assert_eq!(
        out.stdout_str(),
        format!(
            "\
billing is not affected
  root:  services/billing
  deps:  (none)
  range: 2 changed files (HEAD~1 ({}) → HEAD)

none of the 2 changed files is under its root (after `ignore`), and no global input changed
",
            short(&repo, "HEAD~1")
        )
    );
    // Unaffected because of --dependents none, with `paths`.
    let out = repo.run(&[
        "affected",
        "--base",
        "HEAD~1",
        "--explain",
        "api",
        "--dependents",
        "none",
    ]);
    out.success();
    let text = out.stdout_str();
    assert!(text.contains("  paths: proto/api/**\n"), "{text}");
    assert!(
        text.ends_with(
            "\nnone of the 2 changed files is under its root or matches its paths (after `ignore`), and no global input changed\ndependencies are not considered (--dependents none)\n"
        ),
        "{text}"
    );
}

#[test]
fn explain_an_unknown_service() {
    let repo = shop();
    let out = repo.run(&["affected", "--base", "HEAD~1", "--explain", "wbe"]);
    out.expect_code(2);
    assert_eq!(
        out.stderr_str(),
        "error: no service named `wbe`; did you mean `web`? `shockwave graph --format json` lists them\n"
    );
    assert_eq!(out.stdout_str(), "");
    let out = repo.run(&[
        "affected",
        "--base",
        "HEAD~1",
        "--explain",
        "nothing-like-it",
    ]);
    out.expect_code(2);
    assert_eq!(
        out.stderr_str(),
        "error: no service named `nothing-like-it`; `shockwave graph --format json` lists them\n"
    );
}

#[test]
fn explain_and_format_conflict() {
    let repo = shop();
    let out = repo.run(&[
        "affected",
        "--base",
        "HEAD~1",
        "--explain",
        "web",
        "--format",
        "json",
    ]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("cannot be used with"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn graph_dot() {
    let repo = shop();
    let out = repo.run(&["graph"]);
    out.success();
    assert_eq!(
        out.stdout_str(),
        "\
digraph services {
  rankdir=LR;
  node [shape=box];
  \"api\";
  \"auth\";
  \"billing\";
  \"log\";
  \"web\";
  \"api\" -> \"auth\";
  \"auth\" -> \"log\";
  \"web\" -> \"auth\";
  \"web\" -> \"log\";
}
"
    );
    assert_eq!(
        repo.run(&["graph", "--format", "dot"]).stdout_str(),
        out.stdout_str()
    );
}

#[test]
fn graph_mermaid() {
    let repo = shop();
    let out = repo.run(&["graph", "--format", "mermaid"]);
    out.success();
    assert_eq!(
        out.stdout_str(),
        "\
graph LR
  s0[\"api\"]
  s1[\"auth\"]
  s2[\"billing\"]
  s3[\"log\"]
  s4[\"web\"]
  s0 --> s1
  s1 --> s3
  s4 --> s1
  s4 --> s3
"
    );
}

#[test]
fn graph_json() {
    let repo = shop();
    let json = repo.run(&["graph", "--format", "json"]).success().json();
    assert_eq!(json["schema"], 1);
    let services = json["services"].as_array().unwrap();
    assert_eq!(services.len(), 5);
    assert_eq!(
        services[0],
        json!({
            "name": "api",
            "root": "services/api",
            "deps": ["auth"],
            "dependents": [],
            "paths": ["proto/api/**"],
            "targets": ["build", "test"]
        })
    );
    assert_eq!(services[3]["name"], "log");
    assert_eq!(services[3]["dependents"], json!(["auth", "web"]));
    assert!(
        services[3].get("affected").is_none(),
        "no affected flag without --affected"
    );
}

#[test]
fn graph_affected_shows_only_affected_services() {
    let repo = shop();
    let out = repo.run(&[
        "graph",
        "--affected",
        "--base",
        "HEAD~1",
        "--dependents",
        "direct",
    ]);
    out.success();
    assert_eq!(
        out.stdout_str(),
        "\
digraph services {
  rankdir=LR;
  node [shape=box];
  \"auth\" [style=filled, fillcolor=\"#ffd7a8\"];
  \"log\" [style=filled, fillcolor=\"#ffd7a8\"];
  \"web\" [style=filled, fillcolor=\"#ffd7a8\"];
  \"auth\" -> \"log\";
  \"web\" -> \"auth\";
  \"web\" -> \"log\";
}
"
    );
    let out = repo.run(&[
        "graph",
        "--affected",
        "--base",
        "HEAD~1",
        "--format",
        "mermaid",
    ]);
    out.success();
    assert_eq!(
        out.stdout_str(),
        "\
graph LR
  s0[\"api\"]
  s1[\"auth\"]
  s3[\"log\"]
  s4[\"web\"]
  s0 --> s1
  s1 --> s3
  s4 --> s1
  s4 --> s3
  classDef affected fill:#ffd7a8,stroke:#c60
  class s0,s1,s3,s4 affected
"
    );
    let json = repo
        .run(&[
            "graph",
            "--affected",
            "--base",
            "HEAD~1",
            "--format",
            "json",
            "--dependents",
            "none",
        ])
        .success()
        .json();
    assert_eq!(
        json["services"],
        json!([{
            "name": "log",
            "root": "libs/log",
            "deps": [],
            "dependents": [],
            "paths": [],
            "targets": ["build", "test"],
            "affected": true
        }])
    );
}

#[test]
fn graph_affected_uses_the_range_options() {
    let repo = shop();
    repo.write("services/billing/x.go", "1\n");
    let json = repo
        .run(&["graph", "--affected", "--uncommitted", "--format", "json"])
        .success()
        .json();
    let shown: Vec<&str> = json["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(shown, ["billing"]);
    // A git problem is still a git problem.
    repo.run(&["graph", "--affected", "--base", "nope"])
        .expect_code(3);
    // Without --affected, no repository is needed at all.
    let dir = TestRepo::empty_dir();
    dir.config("[services.a]\nroot = \"a\"\n").mkdir("a");
    dir.run(&["graph"]).success();
}

#[test]
fn graph_quotes_odd_names() {
    let repo = TestRepo::new();
    repo.config("[services.\"@shop/web\"]\nroot = \"web\"\ndeps = ['say \"hi\"']\n[services.'say \"hi\"']\nroot = \"hi\"\n")
        .mkdir("web")
        .mkdir("hi");
    let out = repo.run(&["graph"]);
    out.success();
    assert!(
        out.stdout_str()
            .contains("  \"@shop/web\" -> \"say \\\"hi\\\"\";\n"),
        "{}",
        out.stdout_str()
    );
    let out = repo.run(&["graph", "--format", "mermaid"]);
    assert!(
        out.stdout_str().contains("  s1[\"say #quot;hi#quot;\"]\n"),
        "{}",
        out.stdout_str()
    );
}

#[test]
fn stdout_closed_early_is_not_an_error() {
    use std::io::Read;
    use std::process::Stdio;
    let repo = shop();
    for i in 0..2000 {
        repo.write(format!("services/billing/gen/f{i:04}.go"), "1\n");
    }
    let mut child = repo
        .command(&["affected", "--uncommitted", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
