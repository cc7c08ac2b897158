//! Reading the commit a checkout's `HEAD` names from `.git` as plain files, for `build.rs` (and
//! its tests, which include this file too). No `git` process and no git library: a build must not
//! depend on either.

use std::path::{Path, PathBuf};

/// Reads a file and asks cargo to rebuild when it changes. Only files that exist are watched: a
/// missing one would make cargo run this script on every build.
pub fn read_watched(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    println!("cargo:rerun-if-changed={}", path.display());
    Some(text)
}

pub fn is_object_id(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The commit `HEAD` names in the nearest checkout above the manifest.
pub fn from_checkout(manifest_dir: &Path) -> Option<String> {
    let dot_git = manifest_dir
        .ancestors()
        .map(|d| d.join(".git"))
        .find(|p| p.exists())?;
    // A linked worktree or submodule: `.git` is a file saying `gitdir: PATH`.
    let git_dir = if dot_git.is_file() {
        let text = read_watched(&dot_git)?;
        let target = PathBuf::from(text.strip_prefix("gitdir:")?.trim());
        dot_git.parent()?.join(target)
    } else {
        dot_git
    };
    // A linked worktree keeps its own HEAD; the refs live in the common directory.
    let common_dir = match std::fs::read_to_string(git_dir.join("commondir")) {
        Ok(rel) => git_dir.join(rel.trim()),
        Err(_) => git_dir.clone(),
    };
    let head = read_watched(&git_dir.join("HEAD"))?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref:").map(str::trim) else {
        // A detached HEAD holds the id itself.
        return is_object_id(head).then(|| head.to_string());
    };
    for dir in [&git_dir, &common_dir] {
        if let Some(id) = read_watched(&dir.join(reference)) {
            let id = id.trim();
            return is_object_id(id).then(|| id.to_string());
        }
    }
    // A packed branch gets a loose ref file with its next commit: watch the folder it appears in.
    if let Some(folder) = common_dir.join(reference).parent().filter(|f| f.is_dir()) {
        println!("cargo:rerun-if-changed={}", folder.display());
    }
    let packed = read_watched(&common_dir.join("packed-refs"))?;
    packed.lines().find_map(|line| {
        let (id, name) = line.split_once(' ')?;
        (name.trim() == reference && is_object_id(id)).then(|| id.to_string())
    })
}
