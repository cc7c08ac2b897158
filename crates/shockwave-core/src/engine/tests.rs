//! The session as `watch` and the commands use it: opened once, reloaded round after round, its
//! config-only checks answering before a missing repository is reported.

use std::cell::RefCell;
use std::path::Path;
use std::process::Command;

use super::*;
use crate::affected::Dependents;

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

fn write(dir: &Path, path: &str, text: &str) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const CONFIG: &str = "[workspace]\nmembers = [\"svc/*\"]\n\n[targets.build]\ncommand = \"true\"\n";

thread_local! {
    static SAID: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn remember(notice: &Notice<'_>) {
    let line = match notice {
        Notice::Discovered(_) => "discovered".to_string(),
        Notice::Base(choice) => format!("base {} from {}", choice.rev, choice.why),
    };
    SAID.with(|s| s.borrow_mut().push(line));
}

fn no_variable(_: &str) -> Option<Vec<u8>> {
    None
}

fn no_names() -> Vec<String> {
    Vec::new()
}

fn options(config: Option<&Path>) -> SessionOptions {
    SessionOptions {
        config: ConfigLocation {
            file: config.map(Path::to_path_buf),
            cache_dir: None,
            keep_parsed: false,
        },
        monitor: None,
        task_env: EnvSource {
            value: &no_variable,
            names: &no_names,
        },
        notify: remember,
    }
}

fn everything() -> Select {
    Select {
        head: None,
        head_var: None,
        by: SelectBy::All,
        ignored: Vec::new(),
        kind: None,
        filters: Vec::new(),
    }
}

/// A range from `base` (named by the variable `var`, when there is one).
fn range(base: Option<&str>, var: Option<&'static str>, uncommitted: bool) -> Range {
    Range {
        base: base.map(str::to_string),
        base_var: var,
        head: None,
        head_var: None,
        exact_base: false,
        uncommitted,
        all_on_missing_base: false,
        dependents: Dependents::Transitive,
        ci_base: None,
        push_before: None,
    }
}

/// Each task's hash, by label.
fn hashes(session: &mut Session) -> Vec<(String, String)> {
    let targets = ["build".to_string()];
    let p = session.prepare(&everything(), &targets).unwrap();
    let hashes = session.hash(&p.index, &p.graph).unwrap();
    let ws = session.workspace();
    p.graph
        .tasks()
        .iter()
        .zip(&hashes.hashes)
        .map(|(t, h)| (t.label(ws), h.to_hex().to_string()))
        .collect()
}

#[test]
fn a_session_reloaded_round_after_round_sees_each_save() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    git(dir, &["init", "-q"]);
    write(dir, "pipeline.toml", CONFIG);
    write(dir, "svc/a/a.txt", "a\n");
    write(dir, "svc/b/b.txt", "b\n");
    git(dir, &["add", "."]);
    git(dir, &["commit", "-qm", "init"]);

    let mut session = Session::open(dir, options(None)).unwrap();
    let first = hashes(&mut session);
    assert_eq!(first.len(), 2, "{first:?}");

    // A save in `b`: the next round hashes `b` anew and `a` as it was.
    write(dir, "svc/b/b.txt", "b, edited\n");
    session.reload().unwrap();
    let second = hashes(&mut session);
    assert_eq!(first[0], second[0]);
    assert_ne!(first[1], second[1]);
    let affecting = session.affected(&range(None, None, true), &[]).unwrap();
    let affected: Vec<usize> = affecting.impact.affected.ids().map(|i| i.index()).collect();
    assert_eq!(affected, [1], "only b is affected");

    // A target added to the config exists once the session reloads, not before.
    assert!(session.check_targets(&["test".to_string()]).is_err());
    write(
        dir,
        "pipeline.toml",
        &format!("{CONFIG}\n[targets.test]\ncommand = \"true\"\n"),
    );
    assert!(session.check_targets(&["test".to_string()]).is_err());
    session.reload().unwrap();
    session.check_targets(&["test".to_string()]).unwrap();

    // A config that no longer reads leaves the session as it was, to be reloaded again.
    write(dir, "pipeline.toml", "[workspace\n");
    assert!(matches!(session.reload(), Err(EngineError::Config(_))));
    session.check_targets(&["test".to_string()]).unwrap();
}

#[test]
fn a_base_a_variable_names_is_said_as_a_notice() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    git(dir, &["init", "-q"]);
    write(dir, "pipeline.toml", CONFIG);
    write(dir, "svc/a/a.txt", "a\n");
    git(dir, &["add", "."]);
    git(dir, &["commit", "-qm", "init"]);
    let session = Session::open(dir, options(None)).unwrap();
    session
        .affected(&range(Some("HEAD"), Some("SHOCKWAVE_BASE"), false), &[])
        .unwrap();
    let said = SAID.with(|s| s.borrow().clone());
    assert_eq!(said, ["base HEAD from $SHOCKWAVE_BASE"]);
}

#[test]
fn config_checks_answer_before_a_missing_repository_is_reported() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    write(dir, "pipeline.toml", CONFIG);
    write(dir, "svc/api/main.go", "package api\n");
    let config = dir.join("pipeline.toml");
    let session = Session::open(dir, options(Some(&config))).unwrap();
    assert_eq!(session.workspace().services().len(), 1);
    match session.service_id("apii") {
        Err(EngineError::UnknownService { name, suggestion }) => {
            assert_eq!(
                (name.as_str(), suggestion.as_deref()),
                ("apii", Some("api"))
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        session.affected(&range(Some("HEAD"), None, false), &[]),
        Err(EngineError::Scm(_))
    ));
    assert!(matches!(
        session.selection(&everything(), &[]),
        Err(EngineError::Scm(_))
    ));
}
