//! Whether git ignores a path, from gix's exclude stack (`.gitignore` files, `info/exclude`,
//! `core.excludesFile`), never from parsing `.gitignore` here. An ignored directory ignores
//! everything below it, so every path asks about each directory above it: those verdicts are
//! kept. Used for untracked files (the worktree scan) and for workspace members (`dirs`).

use std::collections::HashMap;

use bstr::{BStr, BString, ByteSlice};
use gix::index::entry::Mode;

pub(super) struct Ignores<'r> {
    stack: gix::AttributeStack<'r>,
    /// Repo-relative directory → whether git ignores it (itself, not its parents).
    dirs: HashMap<BString, bool>,
}

impl<'r> Ignores<'r> {
    /// The ignore rules of `repo`'s worktree; `index` supplies the `.gitignore` files that are
    /// not checked out (a sparse checkout).
    pub(super) fn new(
        repo: &'r gix::Repository,
        index: &gix::index::State,
    ) -> gix::Result<Ignores<'r>> {
        let stack = repo.excludes(
            index,
            None,
            gix::worktree::stack::state::ignore::Source::WorktreeThenIdMappingIfNotSkipped,
        )?;
        Ok(Ignores {
            stack,
            dirs: HashMap::new(),
        })
    }

    /// Whether git ignores the repo-relative `path`, or a directory above it.
    pub(super) fn ignores(&mut self, path: &BStr, is_dir: bool) -> bool {
        self.above(path) || self.itself(path, is_dir)
    }

    /// Whether a directory above `path` is ignored.
    fn above(&mut self, path: &BStr) -> bool {
        let mut end = 0;
        while let Some(pos) = path[end..].find_byte(b'/') {
            if self.itself(path[..end + pos].as_bstr(), true) {
                return true;
            }
            end += pos + 1;
        }
        false
    }

    /// Whether git ignores `path` itself, whatever its parents say. The worktree root never is.
    pub(super) fn itself(&mut self, path: &BStr, is_dir: bool) -> bool {
        if path.is_empty() {
            return false;
        }
        if !is_dir {
            return self.excluded(path, Mode::FILE);
        }
        if let Some(&v) = self.dirs.get(path) {
            return v;
        }
        let v = self.excluded(path, Mode::DIR);
        self.dirs.insert(path.to_owned(), v);
        v
    }

    fn excluded(&mut self, path: &BStr, mode: Mode) -> bool {
        self.stack
            .at_entry(path, Some(mode))
            .map(|p| p.is_excluded())
            .unwrap_or(false)
    }
}
