//! Everything shockwave reads from git, through gix:
//! - which paths differ between two commits (by default from their merge base, as a pull request
//!   shows) and, on request, what is staged, unstaged or untracked (`diff`, `status`);
//! - the content id of every worktree file, for hashing: the index's ids, checked by a scan of
//!   the worktree against the index (`index`, `worktree`, `scope`, `untracked`, `ignore`, with
//!   the directory reads in `sys`), or, with the opt-in file monitor, of only what Watchman
//!   reports changed since the last run (`fsmonitor`);
//! - the workspace's directories as git sees them, for config `members` (`dirs`).
//!
//! Paths stay bytes (`BString`) so that non-UTF-8 names survive. Never runs `git` and never writes
//! to the repository (not the index, not a ref, not a file git tracks); the one file written is
//! the file monitor's own state under `.shockwave/`, when it is on.

mod blob;
mod diff;
mod dirs;
mod fsmonitor;
mod ignore;
mod index;
mod scope;
mod status;
mod sys;
mod untracked;
mod watch;
mod worktree;

pub use blob::{FileContent, Revision};
pub use fsmonitor::{FsMonitor, SeenChanges};
pub use index::RepoIndex;
pub use scope::Scope;
pub use watch::GitFolders;

use std::path::{Path, PathBuf};

use bstr::{BStr, BString, ByteSlice};
use gix::ObjectId;

/// How a path changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Added,
    Deleted,
    /// Content, exec bit or submodule commit changed.
    Modified,
    /// Moved (same content). Both the old and the new path count as changed.
    Renamed,
    /// File ↔ symlink ↔ submodule.
    TypeChanged,
}

/// One changed path, repository-relative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedFile {
    pub path: BString,
    pub status: FileStatus,
    /// For renames: where it came from.
    pub old_path: Option<BString>,
    /// Untracked (and not ignored): the file exists only in the worktree.
    pub untracked: bool,
}

/// What to compare.
#[derive(Debug, Clone, Default)]
pub struct ChangeQuery {
    /// Base revision; `None` means no committed range (only `--uncommitted`).
    pub base: Option<String>,
    /// Head revision, `HEAD` when `None`.
    pub head: Option<String>,
    /// Compare `base..head` trees as they are instead of `merge-base(base, head)..head`.
    pub exact_base: bool,
    /// Add staged, unstaged and untracked (not ignored) files.
    pub uncommitted: bool,
}

/// The changes found for a query.
#[derive(Debug, Clone)]
pub struct Changes {
    pub base: Option<String>,
    pub head: String,
    pub base_id: Option<ObjectId>,
    pub head_id: Option<ObjectId>,
    /// The commit the head was compared with (the merge base, or the base itself with `exact_base`).
    pub merge_base: Option<ObjectId>,
    /// Sorted by path, one entry per path (a rename is one entry carrying `old_path`).
    pub files: Vec<ChangedFile>,
    pub uncommitted: bool,
}

impl Changes {
    /// Every changed path, the old side of renames included.
    pub fn paths(&self) -> impl Iterator<Item = &BStr> {
        self.files.iter().flat_map(|f| {
            std::iter::once(f.path.as_bstr()).chain(f.old_path.as_ref().map(|p| p.as_bstr()))
        })
    }
}

/// Git problems; all exit with code 3.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ScmError {
    #[error("{path} is not inside a git repository ({detail}); run shockwave inside a git checkout or pass --config for one")]
    NotARepository { path: PathBuf, detail: String },
    #[error("revision `{rev}` does not exist in this repository; {hint}")]
    UnknownRevision { rev: String, hint: String },
    #[error("base `{rev}` is not in this clone (shallow clone with {depth}): fetch full history (`fetch-depth: 0` in actions/checkout) or run `git fetch --deepen=200`, or pass --on-missing-base all to treat every service as affected")]
    MissingBase { rev: String, depth: String },
    #[error("`{base}` and `{head}` have no common ancestor; pass --exact-base to compare their trees directly")]
    NoMergeBase { base: String, head: String },
    #[error("HEAD does not point to a commit yet (empty repository); commit something first or use --uncommitted alone")]
    UnbornHead,
    #[error(
        "the repository at {git_dir} uses {format}, which shockwave does not support yet; {hint}"
    )]
    UnsupportedFormat {
        git_dir: PathBuf,
        format: String,
        hint: &'static str,
    },
    #[error("failed to {action}: {detail}")]
    Git { action: String, detail: String },
}

impl ScmError {
    fn git(action: impl Into<String>, e: impl std::fmt::Display) -> Self {
        ScmError::Git {
            action: action.into(),
            detail: e.to_string(),
        }
    }
}

/// An open repository.
pub struct Repo {
    pub(crate) repo: gix::Repository,
    workdir: PathBuf,
    /// A scan of the whole worktree, made once when `--uncommitted` needs it.
    full_index: std::cell::OnceCell<RepoIndex>,
    /// Set when the worktree scan may ask a file monitor what changed.
    fsmonitor: Option<FsMonitor>,
    /// Set when a file watcher in this process says what changed (`watch`); wins over Watchman.
    seen: Option<SeenChanges>,
}

impl Repo {
    /// Finds the repository containing `path`.
    pub fn discover(path: &Path) -> Result<Repo, ScmError> {
        let repo = gix::discover(path).map_err(|e| {
            // A repository gix cannot open may still be one, in a format not supported yet:
            // say that rather than "not a repository".
            let unsupported = gix::discover::upwards(path).ok().and_then(|(found, _)| {
                let (git_dir, _) = found.into_repository_and_work_tree_directories();
                unsupported_format(&git_dir)
            });
            unsupported.unwrap_or_else(|| ScmError::NotARepository {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })
        })?;
        // gix opens a reftable repository but sees no refs in it, which looks like an empty one.
        if let Some(e) = unsupported_format(repo.git_dir()) {
            return Err(e);
        }
        let workdir =
            repo.workdir()
                .map(Path::to_path_buf)
                .ok_or_else(|| ScmError::NotARepository {
                    path: path.to_path_buf(),
                    detail: "it is a bare repository without a worktree".into(),
                })?;
        let workdir = std::fs::canonicalize(&workdir).unwrap_or(workdir);
        Ok(Repo {
            repo,
            workdir,
            full_index: std::cell::OnceCell::new(),
            fsmonitor: None,
            seen: None,
        })
    }

    /// Lets the worktree scans of this repository ask `monitor` what changed since the last run.
    pub fn use_fsmonitor(&mut self, monitor: FsMonitor) {
        self.fsmonitor = Some(monitor);
    }

    /// Lets the worktree scans of this repository look only where `seen` says (and where the
    /// previous scan found something); they ask no other monitor.
    pub fn use_seen_changes(&mut self, seen: SeenChanges) {
        self.seen = Some(seen);
    }

    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    pub fn is_shallow(&self) -> bool {
        self.repo.is_shallow().unwrap_or(false)
    }

    /// Resolves a revision to a commit id. `is_base` selects the "missing base" wording in shallow clones.
    fn resolve(&self, rev: &str, is_base: bool) -> Result<ObjectId, ScmError> {
        let unknown = || {
            if is_base && self.is_shallow() {
                ScmError::MissingBase {
                    rev: rev.to_string(),
                    depth: self.depth_description(),
                }
            } else {
                ScmError::UnknownRevision {
                    rev: rev.to_string(),
                    hint: fetch_hint(rev),
                }
            }
        };
        let id = self
            .repo
            .rev_parse_single(rev.as_bytes().as_bstr())
            .map_err(|_| unknown())?;
        let object = id.object().map_err(|_| unknown())?;
        let commit = object
            .peel_to_commit()
            .map_err(|e| ScmError::git(format!("read `{rev}` as a commit"), e))?;
        Ok(commit.id)
    }

    fn depth_description(&self) -> String {
        match self.repo.shallow_commits() {
            Ok(Some(c)) if c.len() == 1 => "1 boundary commit".to_string(),
            Ok(Some(c)) => format!("{} boundary commits", c.len()),
            _ => "a history boundary".to_string(),
        }
    }

    fn tree_of(&self, commit: ObjectId) -> Result<gix::Tree<'_>, ScmError> {
        let c = self
            .repo
            .find_commit(commit)
            .map_err(|e| ScmError::git(format!("read commit {commit}"), e))?;
        c.tree()
            .map_err(|e| ScmError::git(format!("read the tree of commit {commit}"), e))
    }

    /// The base to compare with when none was given: the CI's target branch (`ci_branch`, as
    /// `origin/BRANCH` or `BRANCH`), else the branch `origin/HEAD` points to, else `origin/main`,
    /// `main`, `origin/master` or `master`, the first that exists. Returns the revision and why it
    /// was chosen, or every candidate tried.
    pub fn default_base(
        &self,
        ci_branch: Option<(&str, &str)>,
    ) -> Result<(String, String), Vec<String>> {
        let exists = |rev: &str| self.repo.rev_parse_single(rev.as_bytes().as_bstr()).is_ok();
        let mut tried = Vec::new();
        if let Some((branch, var)) = ci_branch {
            let why = format!("the pull request's target branch (${var})");
            if !exists(&format!("origin/{branch}")) && exists(branch) {
                return Ok((branch.to_string(), why));
            }
            // Missing from the clone (a shallow checkout, say): still the base, so that the
            // missing-base rules (the fetch hint, `--on-missing-base all`) apply to it.
            return Ok((format!("origin/{branch}"), why));
        }
        let origin_head = self
            .repo
            .find_reference("refs/remotes/origin/HEAD")
            .ok()
            .and_then(|r| match r.target() {
                gix::refs::TargetRef::Symbolic(name) => name
                    .as_bstr()
                    .strip_prefix(b"refs/remotes/")
                    .and_then(|n| n.to_str().ok())
                    .map(str::to_string),
                gix::refs::TargetRef::Object(_) => None,
            });
        if let Some(rev) = origin_head {
            if exists(&rev) {
                return Ok((rev, "the branch origin/HEAD points to".to_string()));
            }
            tried.push(rev);
        }
        for rev in ["origin/main", "main", "origin/master", "master"] {
            if tried.iter().any(|t| t == rev) {
                continue;
            }
            if exists(rev) {
                return Ok((rev.to_string(), "the default branch".to_string()));
            }
            tried.push(rev.to_string());
        }
        Err(tried)
    }

    /// The head commit id, or an error naming the revision.
    pub fn head_id(&self, head: Option<&str>) -> Result<ObjectId, ScmError> {
        match head {
            Some(h) => self.resolve(h, false),
            None => match self.repo.head_id() {
                Ok(id) => Ok(id.detach()),
                Err(_) => Err(ScmError::UnbornHead),
            },
        }
    }

    /// Computes the changed files for `query`.
    pub fn changes(&self, query: &ChangeQuery) -> Result<Changes, ScmError> {
        let head_name = query.head.clone().unwrap_or_else(|| "HEAD".to_string());
        let mut out = Changes {
            base: query.base.clone(),
            head: head_name.clone(),
            base_id: None,
            head_id: None,
            merge_base: None,
            files: Vec::new(),
            uncommitted: query.uncommitted,
        };
        if let Some(base) = &query.base {
            let head_id = self.head_id(query.head.as_deref())?;
            let base_id = self.resolve(base, true)?;
            out.head_id = Some(head_id);
            out.base_id = Some(base_id);
            let from = if query.exact_base {
                base_id
            } else {
                self.merge_base(base, base_id, &head_name, head_id)?
            };
            out.merge_base = Some(from);
            let old = self
                .tree_of(from)
                .map_err(|e| self.missing_if_shallow(base, e))?;
            let new = self.tree_of(head_id)?;
            out.files = self.diff_trees(&old, &new)?;
        } else if query.head.is_some() {
            // A head without a base is meaningless for a diff; the CLI prevents it, but be exact.
            out.head_id = Some(self.head_id(query.head.as_deref())?);
        }
        if query.uncommitted {
            let worktree = self.worktree_changes()?;
            out.files = merge_changes(std::mem::take(&mut out.files), worktree);
        }
        Ok(out)
    }

    fn missing_if_shallow(&self, base: &str, e: ScmError) -> ScmError {
        if self.is_shallow() {
            ScmError::MissingBase {
                rev: base.to_string(),
                depth: self.depth_description(),
            }
        } else {
            e
        }
    }

    fn merge_base(
        &self,
        base: &str,
        base_id: ObjectId,
        head: &str,
        head_id: ObjectId,
    ) -> Result<ObjectId, ScmError> {
        if base_id == head_id {
            return Ok(base_id);
        }
        match self.repo.merge_base(base_id, head_id) {
            Ok(Some(id)) => Ok(id.detach()),
            // In a shallow clone the boundary commits look parentless, so "no merge base" may only
            // mean "not fetched": never guess.
            Ok(None) if self.is_shallow() => Err(ScmError::MissingBase {
                rev: base.to_string(),
                depth: self.depth_description(),
            }),
            Ok(None) => Err(ScmError::NoMergeBase {
                base: base.to_string(),
                head: head.to_string(),
            }),
            Err(e) if self.is_shallow() || e.is_not_found() => {
                let _ = e;
                Err(ScmError::MissingBase {
                    rev: base.to_string(),
                    depth: self.depth_description(),
                })
            }
            Err(e) => Err(ScmError::git(
                format!("compute the merge base of `{base}` and `{head}`"),
                e,
            )),
        }
    }

    /// The full worktree scan made for `--uncommitted`, if one was made; hashing reuses it.
    pub fn take_full_index(&mut self) -> Option<RepoIndex> {
        self.full_index.take()
    }
}

/// The error for a repository at `git_dir` whose format shockwave cannot read: SHA-256 object ids
/// or the reftable ref storage. Reads the repository's own config file (the common one, for a
/// linked worktree), since gix may refuse to open such a repository at all.
fn unsupported_format(git_dir: &Path) -> Option<ScmError> {
    let common = match std::fs::read_to_string(git_dir.join("commondir")) {
        Ok(rel) => git_dir.join(rel.trim_end_matches(['\n', '\r'])),
        Err(_) => git_dir.to_path_buf(),
    };
    let config =
        gix::config::File::from_path_no_includes(common.join("config"), gix::config::Source::Local)
            .ok()?;
    let value = |key: &str| {
        config
            .string(key)
            .map(|v| v.to_str_lossy().to_ascii_lowercase())
    };
    let git_dir = std::fs::canonicalize(&common).unwrap_or(common);
    /// A repository extension of which shockwave reads one value only.
    struct Extension {
        key: &'static str,
        supported: &'static str,
        /// A value met in the wild, and how to name it.
        known: (&'static str, &'static str),
        /// What an unknown value is a value of.
        noun: &'static str,
        hint: &'static str,
    }
    const EXTENSIONS: [Extension; 2] = [
        Extension {
            key: "extensions.objectFormat",
            supported: "sha1",
            known: ("sha256", "SHA-256 object ids"),
            noun: "object format",
            hint: "only SHA-1 repositories (git's default object format) can be read",
        },
        Extension {
            key: "extensions.refStorage",
            supported: "files",
            known: ("reftable", "the reftable ref storage"),
            noun: "ref storage",
            hint: "convert it with `git refs migrate --ref-format=files` (git 2.46 or later)",
        },
    ];
    for ext in EXTENSIONS {
        if let Some(v) = value(ext.key).filter(|v| v != ext.supported) {
            let format = if v == ext.known.0 {
                ext.known.1.to_string()
            } else {
                format!("the `{v}` {}", ext.noun)
            };
            return Some(ScmError::UnsupportedFormat {
                git_dir,
                format,
                hint: ext.hint,
            });
        }
    }
    None
}

/// What to do about a revision that does not resolve: fetch it if it looks like a branch name.
fn fetch_hint(rev: &str) -> String {
    let plain = !rev.is_empty() && !rev.contains(['~', '^', '@', ':', ' ']);
    match rev.strip_prefix("origin/") {
        Some(branch) if plain => {
            format!("check the name, or fetch it first (`git fetch origin {branch}`)")
        }
        _ if plain => format!("check the name, or fetch it first (`git fetch origin {rev}`)"),
        _ => "check the name, and that the history it refers to is in this clone".to_string(),
    }
}

/// Union of committed and worktree changes, one entry per path (the committed entry wins; a
/// worktree change to a renamed file keeps the rename).
fn merge_changes(committed: Vec<ChangedFile>, worktree: Vec<ChangedFile>) -> Vec<ChangedFile> {
    if committed.is_empty() {
        return worktree;
    }
    let mut out = committed;
    let known: std::collections::HashSet<BString> = out.iter().map(|f| f.path.clone()).collect();
    out.extend(worktree.into_iter().filter(|f| !known.contains(&f.path)));
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}
