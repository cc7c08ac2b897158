//! Unit tests of archive writing, checking and extraction.

use super::extract::DirWriter;
use super::temps::create_first_free;
use super::*;
use std::ffi::OsString;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;

use rustix::fs::{Mode, OFlags};

fn all() -> Globs {
    Globs::new(vec!["**".into()]).ok().unwrap()
}

fn scope(outputs: &Globs) -> Scope<'_> {
    Scope {
        outputs,
        starts: glob_starts(outputs),
        cache_dir: None,
    }
}

fn tar_zst(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    build(&mut b);
    zstd::encode_all(b.into_inner().unwrap().as_slice(), 1).unwrap()
}

fn raw_header(path: &str, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_old();
    // Write the name bytes directly: the builder's own checks would reject `..`.
    h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_cksum();
    h
}

#[test]
fn refuses_parent_and_absolute_paths() {
    for bad in ["../evil", "a/../../evil", "/etc/evil"] {
        let a = tar_zst(|b| {
            let h = raw_header(bad, tar::EntryType::Regular, 1);
            b.append(&h, &b"x"[..]).unwrap();
        });
        assert!(
            matches!(check(&a, &scope(&all())), Err(CheckError::Unsafe(_))),
            "{bad} accepted"
        );
    }
}

#[test]
fn refuses_escaping_symlinks_but_keeps_inner_ones() {
    let bad = tar_zst(|b| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "bin/link", "../../outside").unwrap();
    });
    assert!(matches!(
        check(&bad, &scope(&all())),
        Err(CheckError::Unsafe(_))
    ));
    let good = tar_zst(|b| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "bin/link", "../lib/x").unwrap();
    });
    assert!(check(&good, &scope(&all())).is_ok());
}

#[test]
fn refuses_members_below_an_archived_symlink() {
    // `d/e/l` → `..` is `d`; `d/e/l/m` → `../..` reads as `d` but really is the root's parent.
    let bad = tar_zst(|b| {
        for (path, target) in [("d/e/l", ".."), ("d/e/l/m", "../..")] {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, path, target).unwrap();
        }
    });
    assert!(
        matches!(check(&bad, &scope(&all())), Err(CheckError::Unsafe(w)) if w.contains("under the symlink `d/e/l`"))
    );
}

#[test]
fn refuses_symlink_targets_with_dotdot_after_a_name() {
    let bad = tar_zst(|b| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "e", "d/l/../..").unwrap();
    });
    assert!(matches!(
        check(&bad, &scope(&all())),
        Err(CheckError::Unsafe(_))
    ));
}

#[test]
fn round_trip_keeps_modes_and_links() {
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(src.path().join("bin/sub")).unwrap();
    std::fs::write(src.path().join("bin/app"), b"#!/bin/sh\n").unwrap();
    std::fs::set_permissions(
        src.path().join("bin/app"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(src.path().join("bin/sub/data"), b"d").unwrap();
    std::os::unix::fs::symlink("app", src.path().join("bin/latest")).unwrap();
    std::fs::write(src.path().join("main.go"), b"not an output").unwrap();
    let globs = Globs::new(vec!["bin/**".into()]).unwrap();
    let (archive, n) = create(src.path(), &scope(&globs)).unwrap();
    assert_eq!(n, 3);
    let dst = tempfile::tempdir().unwrap();
    extract(
        &archive,
        dst.path(),
        check(&archive, &scope(&globs)).ok().unwrap(),
    )
    .unwrap();
    let mode = std::fs::metadata(dst.path().join("bin/app"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    assert_eq!(
        std::fs::read_link(dst.path().join("bin/latest")).unwrap(),
        Path::new("app")
    );
    assert!(!dst.path().join("main.go").exists());
}

fn write_tree(root: &Path, files: &[&str]) {
    for f in files {
        let p = root.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"x").unwrap();
    }
}

fn names(members: &[Member]) -> Vec<String> {
    members
        .iter()
        .map(|m| m.path().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn scope_admits_declared_outputs_only_and_never_git_or_the_cache() {
    let bin = Globs::new(vec!["bin/**".into()]).ok().unwrap();
    let every = all();
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("bin/cache")).unwrap();
    let cached = Scope::new(&every, root.path(), &root.path().join("bin/cache"));
    let file = |name: &str| {
        tar_zst(|b| {
            let h = raw_header(name, tar::EntryType::Regular, 1);
            b.append(&h, &b"x"[..]).unwrap();
        })
    };
    let refusal = |archive: &[u8], scope: &Scope| match check(archive, scope) {
        Ok(_) => None,
        Err(CheckError::Unsafe(why)) | Err(CheckError::Corrupt(why)) => Some(why),
    };
    assert_eq!(refusal(&file("bin/app"), &scope(&bin)), None);
    assert_eq!(
        refusal(&file("src/main.go"), &scope(&bin)).as_deref(),
        Some("member `src/main.go` is not a declared output (outputs = `bin/**`)")
    );
    for hostile in [".git/hooks/post-checkout", "bin/dep/.git/config"] {
        let why = refusal(&file(hostile), &scope(&every)).unwrap_or_default();
        assert!(
            why.ends_with("is inside a `.git` directory, which a cache entry never writes"),
            "{why}"
        );
    }
    let why = refusal(&file("bin/cache/0123/meta.json"), &cached).unwrap_or_default();
    assert!(why.contains("is inside the cache directory"), "{why}");
    // Directories on the way to where outputs start, or below a start, are accepted.
    let dir = |name: &str| {
        tar_zst(|b| {
            let h = raw_header(name, tar::EntryType::Directory, 0);
            b.append(&h, std::io::empty()).unwrap();
        })
    };
    let only = Globs::new(vec!["bin/sub/**".into(), "src/x".into()])
        .ok()
        .unwrap();
    for fine in ["bin", "bin/sub", "bin/sub/deeper", "src"] {
        assert_eq!(refusal(&dir(fine), &scope(&only)), None, "{fine}");
    }
    assert_eq!(
        refusal(&dir("lib"), &scope(&only)).as_deref(),
        Some("directory member `lib` is not a declared output (outputs = `bin/sub/**`, `src/x`)")
    );
    assert!(refusal(&dir("bin/other"), &scope(&only)).is_some());
    // A symlink pointing into `.git` is refused like a member there.
    let link = tar_zst(|b| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "bin/hooks", "../.git/hooks").unwrap();
    });
    let why = refusal(&link, &scope(&every)).unwrap_or_default();
    assert!(why.contains("points inside a `.git` directory"), "{why}");
}

#[test]
fn archives_leave_out_git_the_cache_and_restore_temporaries() {
    let src = tempfile::tempdir().unwrap();
    write_tree(
        src.path(),
        &[
            "bin/app",
            "bin/dep/.git/config",
            "bin/cache/entry/meta.json",
            "bin/.shockwave-tmp-12-0",
            ".git/config",
        ],
    );
    let every = all();
    let s = Scope::new(&every, src.path(), &src.path().join("bin/cache"));
    let (archive, n) = create(src.path(), &s).unwrap();
    assert_eq!(n, 1);
    assert_eq!(names(&check(&archive, &s).ok().unwrap()), ["bin/app"]);
}

#[test]
fn archives_refuse_outputs_no_restore_would_accept() {
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(src.path().join("bin")).unwrap();
    std::os::unix::fs::symlink("/usr/bin/python3", src.path().join("bin/python")).unwrap();
    let every = all();
    let e = create(src.path(), &scope(&every))
        .err()
        .unwrap()
        .to_string();
    assert!(e.starts_with("output `bin/python` cannot be cached: symlink `bin/python` → `/usr/bin/python3` points outside the service root"), "{e}");
    std::fs::remove_file(src.path().join("bin/python")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(src.path().join("bin/pipe"))
        .status()
        .unwrap();
    assert!(made.success());
    let e = create(src.path(), &scope(&every))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.starts_with("output `bin/pipe` is a FIFO; a cache entry can hold only"),
        "{e}"
    );
}

#[test]
fn temporary_files_are_created_exclusively_and_never_through_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::os::unix::fs::symlink(&victim, dir.path().join("planted")).unwrap();
    std::fs::write(dir.path().join("taken"), b"someone else's").unwrap();
    let fd = rustix::fs::open(
        dir.path(),
        OFlags::RDONLY | OFlags::DIRECTORY,
        Mode::empty(),
    )
    .unwrap();
    let candidates = ["planted", "taken", "fresh"]
        .map(OsString::from)
        .into_iter();
    let (name, _file) = create_first_free(fd.as_fd(), candidates).unwrap();
    assert_eq!(name, "fresh");
    assert!(!victim.exists(), "the planted link was followed");
    assert_eq!(
        std::fs::read(dir.path().join("taken")).unwrap(),
        b"someone else's"
    );
    let none = create_first_free(fd.as_fd(), [OsString::from("planted")].into_iter());
    assert!(none.is_err());
    assert!(!victim.exists());
}

#[test]
fn restoring_replaces_links_in_the_way_and_never_writes_through_them() {
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    let src = tempfile::tempdir().unwrap();
    write_tree(src.path(), &["bin/app"]);
    let bin = Globs::new(vec!["bin/**".into()]).ok().unwrap();
    let (archive, _) = create(src.path(), &scope(&bin)).unwrap();
    let dst = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dst.path().join("bin")).unwrap();
    // The output itself is a link to a file outside: it is replaced, the victim untouched.
    std::os::unix::fs::symlink(&victim, dst.path().join("bin/app")).unwrap();
    extract(
        &archive,
        dst.path(),
        check(&archive, &scope(&bin)).ok().unwrap(),
    )
    .unwrap();
    assert!(std::fs::symlink_metadata(dst.path().join("bin/app"))
        .unwrap()
        .is_file());
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    // A directory with files in the way of a file is refused, not emptied: what it holds
    // need not be an output. Nothing in it is touched, and no temporary file is left.
    std::fs::remove_file(dst.path().join("bin/app")).unwrap();
    std::fs::create_dir_all(dst.path().join("bin/app/d")).unwrap();
    std::fs::write(dst.path().join("bin/app/LICENSE"), b"keep me").unwrap();
    std::os::unix::fs::symlink(outside.path(), dst.path().join("bin/app/d/out")).unwrap();
    let err = extract(
        &archive,
        dst.path(),
        check(&archive, &scope(&bin)).ok().unwrap(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("is a directory with files in it"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(dst.path().join("bin/app/LICENSE")).unwrap(),
        b"keep me"
    );
    assert!(dst.path().join("bin/app/d/out").exists());
    assert_eq!(
        std::fs::read_dir(dst.path().join("bin")).unwrap().count(),
        1
    );
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    // An empty directory in the way is replaced.
    std::fs::remove_dir_all(dst.path().join("bin/app")).unwrap();
    std::fs::create_dir(dst.path().join("bin/app")).unwrap();
    extract(
        &archive,
        dst.path(),
        check(&archive, &scope(&bin)).ok().unwrap(),
    )
    .unwrap();
    assert_eq!(std::fs::read(dst.path().join("bin/app")).unwrap(), b"x");
}

#[test]
fn the_directory_walk_refuses_a_parent_that_is_a_link() {
    // What the up-front check catches as well; the walk must hold on its own, for a link
    // swapped in after that check.
    let outside = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), root.path().join("bin")).unwrap();
    let writer = DirWriter::open(root.path()).unwrap();
    let e = writer.walk(Path::new("bin/sub")).err().unwrap().to_string();
    assert!(e.contains("it is a symlink or not a directory"), "{e}");
    assert!(!outside.path().join("sub").exists());
}

#[test]
fn decompression_stops_at_the_recorded_size() {
    let bomb = zstd::encode_all(&vec![0u8; 8 << 20][..], 3).unwrap();
    let mut out = Vec::new();
    let decoder = zstd::Decoder::new(bomb.as_slice()).unwrap();
    let e = Bounded::new(decoder, 1 << 20)
        .read_to_end(&mut out)
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("inflates past the 1048576 bytes"),
        "{e}"
    );
    assert!(out.len() <= 1 << 20);
    let mut out = Vec::new();
    let decoder = zstd::Decoder::new(bomb.as_slice()).unwrap();
    Bounded::new(decoder, 8 << 20)
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out.len(), 8 << 20);
}

#[test]
fn a_dead_restores_temporary_files_are_removed_and_nobody_elses() {
    let root = tempfile::tempdir().unwrap();
    let bin = root.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let dead = 4_000_000;
    let name = |pid: u32, n: u32| format!("{TEMP_PREFIX}{pid}-{n}");
    // What the dead restore left: a file nobody holds, a link.
    std::fs::write(bin.join(name(dead, 0)), b"partial").unwrap();
    std::os::unix::fs::symlink("target", bin.join(name(dead, 1))).unwrap();
    // A live writer that got the same pid holds its file's lock.
    let held = bin.join(name(dead, 2));
    let file = std::fs::File::create(&held).unwrap();
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive).unwrap();
    // Another writer's, an output that looks alike, and a folder below a link are left alone.
    std::fs::write(bin.join(name(dead + 1, 0)), b"other").unwrap();
    std::fs::write(bin.join("out"), b"output").unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join(name(dead, 3)), b"elsewhere").unwrap();
    std::os::unix::fs::symlink(outside.path(), root.path().join("link")).unwrap();

    let dirs = [PathBuf::from("bin"), PathBuf::from("link"), PathBuf::new()];
    assert_eq!(remove_dead_temps(root.path(), &dirs, dead), 2);
    let mut left: Vec<String> = std::fs::read_dir(&bin)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let mut want = vec![name(dead, 2), name(dead + 1, 0), "out".to_string()];
    want.sort();
    assert_eq!(left, want);
    assert!(outside.path().join(name(dead, 3)).exists());
    drop(file);
    assert_eq!(remove_dead_temps(root.path(), &dirs, dead), 1);
    assert!(!held.exists());
}
