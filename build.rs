//! Records the commit the binary is built from as `SHOCKWAVE_COMMIT`, for `shockwave --version`.
//!
//! In order: the `SHOCKWAVE_COMMIT` variable (release builds and packagers set it), the
//! `.cargo_vcs_info.json` that `cargo package` writes into a published crate, then the checkout's
//! `.git` read as plain files (`HEAD`, the branch's ref file, `packed-refs`; a linked worktree's
//! `.git` file and `commondir` too). No `git` process: a build must not depend on one being
//! installed. Anything else is `unknown`.

use std::path::{Path, PathBuf};

#[path = "build/commit.rs"]
mod commit;

use commit::{from_checkout, is_object_id, read_watched};

fn main() {
    println!("cargo:rerun-if-env-changed=SHOCKWAVE_COMMIT");
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let commit = std::env::var("SHOCKWAVE_COMMIT")
        .ok()
        .filter(|c| is_object_id(c.trim()))
        .map(|c| c.trim().to_string())
        .or_else(|| from_vcs_info(&manifest_dir))
        .or_else(|| from_checkout(&manifest_dir))
        .map_or_else(|| "unknown".to_string(), |c| c[..12].to_string());
    println!("cargo:rustc-env=SHOCKWAVE_COMMIT={commit}");
}

/// `{"git": {"sha1": "…"}, "path_in_vcs": ""}`, written by `cargo package`.
fn from_vcs_info(manifest_dir: &Path) -> Option<String> {
    let text = read_watched(&manifest_dir.join(".cargo_vcs_info.json"))?;
    let info: serde_json::Value = serde_json::from_str(&text).ok()?;
    let sha = info.get("git")?.get("sha1")?.as_str()?;
    is_object_id(sha).then(|| sha.to_string())
}
