//! The JSON documents written from `serde_json::Value` trees in earlier versions keep their bytes
//! now that they are streamed from structs: pretty-printed with two spaces, keys in sorted order at
//! every level. Each document is checked against what a `Value` tree of it writes.

use std::process::Output;

use crate::common;
use crate::discover_cargo::krate;
use crate::formats::shop;

use common::{OutputExt, TestRepo};

/// Panics unless `out` succeeded and its stdout is what writing it back from a `Value` (sorted
/// keys) gives, byte for byte.
fn assert_written_as_a_value(out: &Output, what: &str) {
    out.success();
    let text = out.stdout_str();
    let value = out.json();
    assert_eq!(text, format!("{value:#}\n"), "{what}");
}

#[test]
fn graph_and_dry_run_json_keep_sorted_keys() {
    let repo = shop();
    for args in [
        "graph --format json",
        "graph --format json --affected --base HEAD~1",
        "graph --format json -F auth...",
        "graph --format json --affected --base HEAD~1 -F !web",
        "run build test --all --dry-run=json",
        "run test --base HEAD~1 --dry-run=json",
        "run test --service web --dry-run=json",
        "run build test --all --shard 2/3 --dry-run=json",
        "run build test --all --shards 3 --dry-run=json",
    ] {
        let out = repo.run(&args.split(' ').collect::<Vec<_>>());
        assert_written_as_a_value(&out, args);
    }
}

#[test]
fn graph_json_with_dev_dependencies_keeps_sorted_keys() {
    let repo = TestRepo::new();
    repo.write("Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\n")
        .write(
            "crates/app/Cargo.toml",
            krate("app", "[dev-dependencies]\nkit = { path = \"../kit\" }\n"),
        )
        .write("crates/kit/Cargo.toml", krate("kit", ""))
        .write("crates/app/src/lib.rs", "\n")
        .write("crates/kit/src/lib.rs", "\n");
    repo.commit("init");
    let out = repo.run(&["graph", "--format", "json"]);
    assert!(
        out.stdout_str().contains("\"dev_deps\""),
        "{}",
        out.stdout_str()
    );
    assert_written_as_a_value(&out, "graph with dev_deps");
}
