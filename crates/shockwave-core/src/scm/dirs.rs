//! The workspace's directories as git sees them, for `members` and `root`: a folder git ignores
//! (or one below an ignored folder) is never a member, and in a sparse checkout the directories
//! the index holds outside the checked-out cone count as much as those on disk, so services do not
//! vanish with their folders. Ignore rules come from [`Ignores`] (gix's exclude stack), never
//! from a `.gitignore` parsed here.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bstr::{BStr, BString, ByteSlice};
use gix::index::entry::Mode;

use super::ignore::Ignores;
use super::Repo;
use crate::paths::{list_subdirs, WorkspaceDirs, WsPrefix};

/// [`WorkspaceDirs`] for a workspace inside a repository's worktree.
pub struct RepoDirs<'r> {
    repo: &'r gix::Repository,
    /// The worktree root (canonical): nothing is read outside it.
    workdir: PathBuf,
    /// The workspace root (absolute).
    root: PathBuf,
    /// Where the workspace root lies in the worktree.
    prefix: WsPrefix,
    /// The index, read only for a sparse checkout (the exclude stack needs one).
    index: Option<gix::index::File>,
    /// In a sparse checkout: every directory the index holds (repo-relative, `""` for the
    /// worktree root) → the names of its subdirectories.
    tracked: Option<HashMap<BString, Vec<BString>>>,
    /// Built on first use: most configs never ask.
    excludes: Option<Option<Ignores<'r>>>,
}

impl Repo {
    /// The workspace rooted at `root` (the directory holding pipeline.toml) as git sees it, or
    /// `None` when `root` is not inside this repository's worktree.
    pub fn workspace_dirs(&self, root: &Path) -> Result<Option<RepoDirs<'_>>, super::ScmError> {
        let Ok(rel) = root.strip_prefix(self.workdir()) else {
            return Ok(None);
        };
        if rel.to_str().is_none() {
            return Ok(None);
        }
        let prefix = WsPrefix::from_path(rel);
        let sparse = self
            .repo
            .config_snapshot()
            .boolean("core.sparseCheckout")
            .unwrap_or(false);
        let (index, tracked) = if sparse {
            let index = super::index::read_index(self)?;
            let tracked = tracked_dirs(&self.repo, &index)?;
            tracing::debug!(
                "sparse checkout: members are found among {} directories of the index and those on disk",
                tracked.len()
            );
            (Some(index), Some(tracked))
        } else {
            (None, None)
        };
        Ok(Some(RepoDirs {
            repo: &self.repo,
            workdir: self.workdir.clone(),
            root: root.to_path_buf(),
            prefix,
            index,
            tracked,
            excludes: None,
        }))
    }
}

impl<'r> RepoDirs<'r> {
    /// The ignore rules, read on first use; `None` (with a warning) when they cannot be read.
    fn ignore_rules(&mut self) -> Option<&mut Ignores<'r>> {
        let repo = self.repo;
        let index = &self.index;
        self.excludes
            .get_or_insert_with(|| {
                let empty;
                let state = match index {
                    Some(i) => &**i,
                    None => {
                        empty = gix::index::State::new(repo.object_hash());
                        &empty
                    }
                };
                Ignores::new(repo, state)
                    .map_err(|e| {
                        tracing::warn!(
                            "failed to read .gitignore files ({e}); members may include ignored folders"
                        );
                    })
                    .ok()
            })
            .as_mut()
    }
}

impl WorkspaceDirs for RepoDirs<'_> {
    fn boundary(&self) -> &Path {
        &self.workdir
    }

    fn is_dir(&mut self, dir: &str) -> bool {
        self.root.join(dir).is_dir()
            || self
                .tracked
                .as_ref()
                .is_some_and(|t| t.contains_key(self.prefix.repo_path(dir).as_bytes().as_bstr()))
    }

    fn is_excluded(&mut self, dir: &str) -> bool {
        // The worktree root is never ignored: no need to read the rules for it.
        let path = self.prefix.repo_path(dir);
        !path.is_empty()
            && self
                .ignore_rules()
                .is_some_and(|rules| rules.ignores(BStr::new(path.as_bytes()), true))
    }

    fn subdirs(&mut self, dir: &str) -> std::io::Result<Vec<String>> {
        let on_disk = list_subdirs(&self.root.join(dir));
        let path = self.prefix.repo_path(dir);
        let mut names = match (on_disk, &self.tracked) {
            (Ok(names), _) => names,
            // Outside the cone the directory may exist only in the index.
            (Err(e), Some(t)) if e.kind() == std::io::ErrorKind::NotFound => {
                if !t.contains_key(path.as_bytes().as_bstr()) {
                    return Err(e);
                }
                Vec::new()
            }
            (Err(e), _) => return Err(e),
        };
        if let Some(children) = self
            .tracked
            .as_ref()
            .and_then(|t| t.get(path.as_bytes().as_bstr()))
        {
            names.extend(
                children
                    .iter()
                    .filter_map(|c| c.to_str().ok().map(str::to_string)),
            );
            names.sort_unstable();
            names.dedup();
        }
        if names.is_empty() {
            return Ok(names);
        }
        if let Some(rules) = self.ignore_rules() {
            names.retain(|name| {
                let child = crate::paths::join(&path, name);
                !rules.itself(BStr::new(child.as_bytes()), true)
            });
        }
        Ok(names)
    }
}

/// Every directory the index holds → its subdirectory names. A sparse index records a whole
/// directory outside the cone as one entry (mode `DIR`, the id of its tree): its subdirectories
/// come from that tree.
fn tracked_dirs(
    repo: &gix::Repository,
    index: &gix::index::State,
) -> Result<HashMap<BString, Vec<BString>>, super::ScmError> {
    let mut dirs: HashMap<BString, Vec<BString>> = HashMap::new();
    dirs.insert(BString::default(), Vec::new());
    let mut last_parent: Option<&[u8]> = None;
    for e in index.entries() {
        let path = e.path(index).as_bytes();
        if e.mode == Mode::DIR {
            let dir = path.strip_suffix(b"/").unwrap_or(path);
            add_with_parents(&mut dirs, dir);
            subtrees(repo, e.id, dir, &mut dirs)?;
            last_parent = None;
            continue;
        }
        let parent = path.rfind_byte(b'/').map_or(&path[..0], |i| &path[..i]);
        // Entries are sorted, so neighbours usually share a directory.
        if last_parent == Some(parent) {
            continue;
        }
        last_parent = Some(parent);
        add_with_parents(&mut dirs, parent);
    }
    Ok(dirs)
}

/// Records `dir` and each of its parents, linking every one to its parent.
fn add_with_parents(dirs: &mut HashMap<BString, Vec<BString>>, dir: &[u8]) {
    let mut dir = dir;
    while !dir.is_empty() && !dirs.contains_key(dir.as_bstr()) {
        dirs.insert(dir.into(), Vec::new());
        let (parent, name) = match dir.rfind_byte(b'/') {
            Some(i) => (&dir[..i], &dir[i + 1..]),
            None => (&dir[..0], dir),
        };
        dirs.entry(parent.into()).or_default().push(name.into());
        dir = parent;
    }
}

/// Records every directory inside the tree `id`, which lies at `at`.
fn subtrees(
    repo: &gix::Repository,
    id: gix::ObjectId,
    at: &[u8],
    dirs: &mut HashMap<BString, Vec<BString>>,
) -> Result<(), super::ScmError> {
    let mut pending: Vec<(gix::ObjectId, BString)> = vec![(id, at.into())];
    while let Some((id, at)) = pending.pop() {
        let tree = repo.find_tree(id).map_err(|e| {
            super::ScmError::git(format!("read the tree of sparse directory `{at}`"), e)
        })?;
        for entry in tree.iter() {
            let entry = entry.map_err(|e| {
                super::ScmError::git(format!("read the tree of sparse directory `{at}`"), e)
            })?;
            if !entry.mode().is_tree() {
                continue;
            }
            let mut path = at.clone();
            path.push(b'/');
            path.extend_from_slice(entry.filename());
            add_with_parents(dirs, &path);
            pending.push((entry.object_id(), path));
        }
    }
    Ok(())
}
