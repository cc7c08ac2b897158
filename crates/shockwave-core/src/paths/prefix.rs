//! [`WsPrefix`]: where the workspace (the directory holding the config) lies inside the
//! repository, and the only place that turns workspace-relative paths (what the config, the
//! services and the ownership map speak) into repo-relative ones (what git's index and diffs
//! speak) and back.

use std::path::Path;

use bstr::{BStr, ByteSlice};

/// The workspace's directory relative to the repository's worktree root: `/`-separated, no
/// leading or trailing `/`, empty when the workspace is the whole repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WsPrefix {
    dir: String,
}

impl WsPrefix {
    /// The workspace at `/`-separated `dir` inside the repository (`""`: its root). Trailing
    /// `/`s are dropped.
    pub fn new(dir: &str) -> WsPrefix {
        WsPrefix {
            dir: dir.trim_end_matches('/').to_owned(),
        }
    }

    /// The workspace at `rel`, a path relative to the worktree root, whatever the platform's
    /// separator (parts that are not UTF-8 are replaced, as they cannot match an index path).
    pub fn from_path(rel: &Path) -> WsPrefix {
        WsPrefix::new(&super::slashed(rel))
    }

    /// The directory as `/`-separated text, `""` at the repository root.
    pub fn as_str(&self) -> &str {
        &self.dir
    }

    /// Whether the workspace is the whole repository.
    pub fn is_root(&self) -> bool {
        self.dir.is_empty()
    }

    /// The repo-relative path of workspace-relative `path` (`""`: the workspace's directory).
    pub fn repo_path(&self, path: &str) -> String {
        match (self.dir.is_empty(), path.is_empty()) {
            (true, _) => path.to_owned(),
            (false, true) => self.dir.clone(),
            (false, false) => format!("{}/{path}", self.dir),
        }
    }

    /// The repo-relative path of workspace-relative `path`, written into `buf` (cleared first)
    /// so that a loop asks the index without allocating.
    pub fn repo_path_in<'b>(&self, path: &[u8], buf: &'b mut Vec<u8>) -> &'b BStr {
        buf.clear();
        if !self.dir.is_empty() {
            buf.extend_from_slice(self.dir.as_bytes());
            if !path.is_empty() {
                buf.push(b'/');
            }
        }
        buf.extend_from_slice(path);
        buf.as_bstr()
    }

    /// The repo-relative prefix every path below workspace-relative directory `dir` starts with:
    /// `dir/` inside the workspace's directory, or `""` for the repository root itself. What a
    /// scan of the index by prefix wants.
    pub fn dir_prefix(&self, dir: &str) -> String {
        match (self.dir.is_empty(), dir.is_empty()) {
            (true, true) => String::new(),
            (true, false) => format!("{dir}/"),
            (false, true) => format!("{}/", self.dir),
            (false, false) => format!("{}/{dir}/", self.dir),
        }
    }

    /// The workspace-relative form of repo-relative `path`, `None` when it lies outside the
    /// workspace (or is its directory itself).
    pub fn strip<'p>(&self, path: &'p BStr) -> Option<&'p BStr> {
        super::strip_dir(path, &self.dir).map(ByteSlice::as_bstr)
    }

    /// How many bytes come before the workspace-relative part of a repo-relative path inside
    /// the workspace: for slicing the paths of an index scan below [`WsPrefix::dir_prefix`].
    pub fn strip_len(&self) -> usize {
        match self.dir.len() {
            0 => 0,
            n => n + 1,
        }
    }
}

impl std::fmt::Display for WsPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.dir)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use bstr::ByteSlice;

    use super::WsPrefix;

    #[test]
    fn paths_cross_between_workspace_and_repository() {
        let ws = WsPrefix::new("ws/");
        assert_eq!(ws.as_str(), "ws");
        assert_eq!(ws.repo_path("a/b"), "ws/a/b");
        assert_eq!(ws.repo_path(""), "ws");
        assert_eq!(ws.dir_prefix("a"), "ws/a/");
        assert_eq!(ws.dir_prefix(""), "ws/");
        assert_eq!(ws.strip(b"ws/a".as_bstr()), Some(b"a".as_bstr()));
        assert_eq!(ws.strip(b"wsx/a".as_bstr()), None);
        assert_eq!(ws.strip(b"ws".as_bstr()), None);
        assert_eq!(ws.strip_len(), 3);
        let mut buf = Vec::new();
        assert_eq!(ws.repo_path_in(b"a", &mut buf), b"ws/a".as_bstr());
        assert_eq!(ws.repo_path_in(b"", &mut buf), b"ws".as_bstr());

        let root = WsPrefix::default();
        assert!(root.is_root());
        assert_eq!(root.strip_len(), 0);
        assert_eq!(root.repo_path("a"), "a");
        assert_eq!(root.dir_prefix(""), "");
        assert_eq!(root.dir_prefix("a"), "a/");
        assert_eq!(root.strip(b"a".as_bstr()), Some(b"a".as_bstr()));
        assert_eq!(root.repo_path_in(b"a", &mut buf), b"a".as_bstr());

        assert_eq!(WsPrefix::from_path(Path::new("x/y")).as_str(), "x/y");
        assert!(WsPrefix::from_path(Path::new("")).is_root());
    }
}
