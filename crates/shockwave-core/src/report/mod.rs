//! Reporters: turn engine results into text for people, JSON for programs, GitHub outputs for
//! workflows and Markdown for pull requests. Reporters only read; a new format touches no engine code.

pub mod affected;
pub mod cache;
pub mod check;
pub mod graph;
pub mod hash;
pub mod hash_diff;
pub mod init;
pub mod ls;
pub mod markdown;
pub mod merge;
pub mod output;
pub mod plan;
pub mod reason;
pub mod run;
pub mod shards;
pub mod style;
pub mod summary;
pub mod writes;

/// A service root as people read it: `.` for the workspace root itself.
fn root_text(root: &str) -> &str {
    if root.is_empty() {
        "."
    } else {
        root
    }
}
