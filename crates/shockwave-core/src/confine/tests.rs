use std::os::unix::fs::symlink;
use std::path::Path;

use super::*;

/// A boundary `repo/` with a sibling `outside/` holding a secret.
fn layout() -> (tempfile::TempDir, Boundary) {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("repo");
    for d in ["repo/locks", "repo/pkgs/a", "repo/.git", "outside"] {
        std::fs::create_dir_all(t.path().join(d)).unwrap();
    }
    let write = |p: &str, s: &str| std::fs::write(t.path().join(p), s).unwrap();
    write("outside/secret", "TURBO_TOKEN=s3cret\n");
    write("repo/locks/lock.json", "{}\n");
    write("repo/pkgs/a/package.json", "{\"name\":\"a\"}\n");
    write("repo/.git/config", "[remote]\n");
    let link = |target: &str, at: &str| symlink(target, repo.join(at)).unwrap();
    link("locks/lock.json", "lock.json");
    link("../outside/secret", "up.json");
    link(
        t.path().join("outside/secret").to_str().unwrap(),
        "abs.json",
    );
    link(
        repo.join("locks/lock.json").to_str().unwrap(),
        "abs-in.json",
    );
    link(".git/config", "git.json");
    link("locks/none.json", "dangling.json");
    link("loop-b", "loop-a");
    link("loop-a", "loop-b");
    link("pkgs", "pkg-link");
    link("../outside", "out-dir");
    link("pkgs/a/../../locks/lock.json", "winding.json");
    let b = Boundary::open(&repo).unwrap();
    (t, b)
}

fn read(b: &Boundary, rel: &str) -> Result<Option<(String, bool, String)>, Refusal> {
    let found = b.read(rel, 1 << 20)?;
    // The walk alone (without the one-call open) must agree.
    let walked = resolve(b, rel).map(|f| f.map(|f| (f.path, f.linked)));
    Ok(found.map(|(opened, bytes)| {
        let text = String::from_utf8(bytes.unwrap()).unwrap();
        let pair = (opened.path.clone(), opened.linked);
        assert_eq!(walked.as_ref().ok().cloned().flatten(), Some(pair), "{rel}");
        (opened.path, opened.linked, text)
    }))
}

fn refused(b: &Boundary, rel: &str) -> String {
    let e = read(b, rel).expect_err(rel).to_string();
    assert!(!e.contains("s3cret"), "{e}");
    e
}

#[test]
fn plain_files_and_links_inside_are_read() {
    let (_t, b) = layout();
    let got = read(&b, "pkgs/a/package.json").unwrap().unwrap();
    assert_eq!(
        got,
        (
            "pkgs/a/package.json".into(),
            false,
            "{\"name\":\"a\"}\n".into()
        )
    );
    for via in ["lock.json", "abs-in.json", "winding.json"] {
        let got = read(&b, via).unwrap().unwrap();
        assert_eq!(
            got,
            ("locks/lock.json".into(), true, "{}\n".into()),
            "{via}"
        );
    }
    let got = read(&b, "pkg-link/a/package.json").unwrap().unwrap();
    assert_eq!(got.0, "pkgs/a/package.json");
    assert!(got.1);
}

#[test]
fn missing_files_are_absent() {
    let (_t, b) = layout();
    assert!(read(&b, "nothing.json").unwrap().is_none());
    assert!(read(&b, "pkgs/b/package.json").unwrap().is_none());
    // Below a file: no such path.
    assert!(read(&b, "locks/lock.json/x").unwrap().is_none());
    assert!(read(&b, "pkg-link/b/package.json").unwrap().is_none());
}

#[test]
fn links_that_leave_are_refused_without_reading_the_target() {
    let (_t, b) = layout();
    for rel in ["up.json", "abs.json", "out-dir/secret"] {
        let e = refused(&b, rel);
        assert!(e.contains("it leads outside the repository"), "{rel}: {e}");
    }
    let e = refused(&b, "up.json");
    assert!(
        e.contains("`up.json` is a symbolic link to `../outside/secret`"),
        "{e}"
    );
    let e = refused(&b, "git.json");
    assert!(e.contains("it leads into `.git`"), "{e}");
    let e = refused(&b, ".git/config");
    assert!(e.contains("inside `.git`"), "{e}");
    let e = refused(&b, "dangling.json");
    assert!(e.contains("which does not exist"), "{e}");
    let e = refused(&b, "loop-a");
    assert!(e.contains("symbolic links on the way"), "{e}");
}

#[test]
fn what_is_not_a_regular_file_is_refused() {
    let (t, b) = layout();
    let e = refused(&b, "pkgs");
    assert!(e.contains("not a regular file (a directory)"), "{e}");
    let fifo = t.path().join("repo/fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let e = refused(&b, "fifo");
    assert!(e.contains("not a regular file (a FIFO)"), "{e}");
}

#[test]
fn a_folder_inside_the_boundary_reads_relative_to_itself() {
    let (t, _b) = layout();
    let repo = t.path().join("repo");
    let root = Root::open(&repo.join("pkgs"), &repo).unwrap();
    let (opened, _) = root.read("a/package.json", 100).unwrap().unwrap();
    assert_eq!(opened.path, "pkgs/a/package.json");
    assert_eq!(root.inner(&opened.path), Some("a/package.json"));
    assert_eq!(root.inner("locks/lock.json"), None);
    // A folder outside the boundary is its own boundary.
    let alone = Root::open(&t.path().join("outside"), &repo).unwrap();
    assert!(alone.read("secret", 100).unwrap().is_some());
    assert!(Path::new(alone.path()).ends_with("outside"));
}

#[test]
fn a_file_over_the_limit_is_not_read() {
    let (_t, b) = layout();
    let (_, bytes) = b.read("pkgs/a/package.json", 3).unwrap().unwrap();
    assert_eq!(bytes, Err(13));
}
