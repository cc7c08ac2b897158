//! Paths inside the repository and the workspace, with one owner for their arithmetic:
//! [`WsPrefix`] (where the workspace lies in the repository: workspace-relative ↔ repo-relative),
//! the lexical rules for workspace-relative paths (`rel`), and the directories of the workspace
//! as `members` patterns and discovery's globs see them (`dirs`). Config, discovery, scm and
//! hashing all build on this module; it imports none of them.

mod dirs;
mod prefix;
mod rel;

pub use dirs::{expand_members, list_subdirs, FsDirs, WorkspaceDirs};
pub use prefix::WsPrefix;
pub use rel::{is_below, is_under, join, join_rel, normalize_rel, slashed, strip_dir};
