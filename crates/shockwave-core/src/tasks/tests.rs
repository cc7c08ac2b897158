//! Unit tests of the task graph: needs, pass-through, cycles and subsets.

use super::*;
use crate::config::{parse, Need, ServiceId};
use std::path::Path;

fn ws(text: &str, dirs: &[&str]) -> (tempfile::TempDir, Workspace) {
    let t = tempfile::tempdir().unwrap();
    for d in dirs {
        std::fs::create_dir_all(t.path().join(d)).unwrap();
    }
    let w = parse(text, Path::new("pipeline.toml"), t.path()).unwrap();
    (t, w)
}

/// Task indexes, for comparing needs.
fn idx(list: &[usize]) -> Vec<TaskIdx> {
    list.iter().copied().map(TaskIdx::new).collect()
}

fn labels(ws: &Workspace, g: &TaskGraph) -> Vec<String> {
    g.tasks.iter().map(|t| t.label(ws)).collect()
}

const BASE: &str = r#"
[workspace]
members = ["s/*"]
[targets.build]
command = "b"
needs = ["^build"]
[targets.test]
command = "t"
needs = ["build"]
[services.app]
deps = ["lib"]
[services.lib]
deps = ["core"]
"#;

#[test]
fn needs_expand_within_and_across_services() {
    let (_t, w) = ws(BASE, &["s/app", "s/lib", "s/core"]);
    let app = w.service_id("app").unwrap();
    let g = TaskGraph::build(&w, &[app], &["test".into()]).unwrap();
    assert_eq!(
        labels(&w, &g),
        ["core:build", "lib:build", "app:build", "app:test"]
    );
    assert!(g.tasks()[3].requested && !g.tasks()[0].requested);
    assert_eq!(g.tasks()[3].needs, idx(&[2]));
    assert_eq!(g.tasks()[2].needs, idx(&[1]));
}

#[test]
fn undefined_target_passes_needs_through() {
    let text = r#"
[workspace]
members = ["s/*"]
[services.app]
deps = ["lib"]
[services.app.targets.build]
command = "b"
needs = ["^build"]
[services.lib]
deps = ["core"]
[services.core.targets.build]
command = "c"
"#;
    let (_t, w) = ws(text, &["s/app", "s/lib", "s/core"]);
    let app = w.service_id("app").unwrap();
    let g = TaskGraph::build(&w, &[app], &["build".into()]).unwrap();
    // lib defines no build, so app:build needs core:build directly.
    assert_eq!(labels(&w, &g), ["core:build", "app:build"]);
    assert_eq!(g.tasks()[1].needs, idx(&[0]));
}

#[test]
fn pass_through_ignores_other_services_needs() {
    // `acore` sorts first and its build needs its own `gen`; that must not be carried to
    // `lib`, which defines no build: app:build needs acore:build (which needs acore:gen).
    let text = r#"
[workspace]
members = ["s/*"]
[services.app]
deps = ["lib"]
[services.app.targets.build]
command = "b"
needs = ["^build"]
[services.lib]
deps = ["acore"]
[services.acore.targets.build]
command = "c"
needs = ["gen"]
[services.acore.targets.gen]
command = "g"
"#;
    let (_t, w) = ws(text, &["s/app", "s/lib", "s/acore"]);
    let app = w.service_id("app").unwrap();
    let g = TaskGraph::build(&w, &[app], &["build".into()]).unwrap();
    assert_eq!(labels(&w, &g), ["acore:gen", "acore:build", "app:build"]);
    assert_eq!(g.tasks()[2].needs, idx(&[1]));
}

#[test]
fn a_requested_target_a_service_lacks_is_skipped() {
    let text = r#"
[workspace]
members = ["s/*"]
[services.web]
deps = ["ui"]
[services.ui.targets.deploy]
command = "d"
"#;
    let (_t, w) = ws(text, &["s/web", "s/ui"]);
    let web = w.service_id("web").unwrap();
    let g = TaskGraph::build(&w, &[web], &["deploy".into()]).unwrap();
    assert!(g.is_empty(), "{:?}", labels(&w, &g));
}

#[test]
fn cycle_is_reported_with_its_path() {
    let text = "[workspace]\nmembers=[\"s/*\"]\n[targets.a]\ncommand=\"x\"\nneeds=[\"b\"]\n[targets.b]\ncommand=\"y\"\nneeds=[\"a\"]\n";
    let (_t, w) = ws(text, &["s/one"]);
    let err = TaskGraph::build(&w, &[ServiceId::new(0)], &["a".into()]).unwrap_err();
    assert_eq!(
        err.to_string().split(';').next().unwrap(),
        "task cycle: one:a → one:b → one:a"
    );
    // The position is the `needs` entry that closes the cycle: `"a"` in [targets.b].
    let TaskError::Cycle { at: Some(at), .. } = err else {
        panic!("no position in {err:?}");
    };
    assert_eq!(&text[at.clone()], "\"a\"");
    assert!(at.start > text.find("[targets.b]").unwrap());
}

/// Across a loop of services the help names the `^` need as written and the target it is
/// written in (`^lint` in [targets.test], not `^test`), and the dependency to drop.
#[test]
fn a_caret_need_across_a_service_loop_names_the_need_and_the_edge() {
    let text = "[workspace]\nmembers=[\"s/*\"]\n[services.a]\ndeps=[\"b\"]\n[services.b]\ndeps=[]\n[targets.test]\ncommand=\"t\"\nneeds=[\"^lint\"]\n[targets.lint]\ncommand=\"l\"\n";
    let (_t, w) = ws(text, &["s/a", "s/b"]);
    // A discovered edge b → a closes the loop (written deps alone may not), and
    // lint needs ^test: test(a) → lint(b) → test(a).
    let w = w.with_services_edited(|s| {
        s[1].deps = vec![ServiceId::new(0)];
        let mut lint = (*s[1].targets["lint"]).clone();
        lint.needs = vec![Need::Deps("test".into())];
        let mut targets = (*s[1].targets).clone();
        targets.insert("lint".into(), Arc::new(lint));
        s[1].targets = Arc::new(targets);
    });
    let err = TaskGraph::build(&w, &[ServiceId::new(0)], &["test".into()]).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("task cycle: a:test → b:lint → a:test;"),
        "{text}"
    );
    assert!(
        text.contains("drop `^test` from `[targets.lint] needs`")
            && text.contains("remove the dependency of `b` on `a` (its `deps`)"),
        "{text}"
    );
}

#[test]
fn unknown_target_suggests() {
    let (_t, w) = ws(BASE, &["s/app", "s/lib", "s/core"]);
    let err = TaskGraph::build(&w, &[ServiceId::new(0)], &["buidl".into()]).unwrap_err();
    assert!(err.to_string().contains("did you mean `build`?"), "{err}");
}
