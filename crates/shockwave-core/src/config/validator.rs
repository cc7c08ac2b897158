//! The state one validation carries — where the workspace is, how its directories are seen, what
//! has been found wrong so far — with the values its steps pass along ([`Draft`], [`Found`]) and
//! the checks they share: where a root really is, a name that resolves to nothing, globs. Each step
//! (`validate`, `members`, `roots`' listings, `discovered`, `targets`, `turbo`) adds its methods to
//! [`Validator`] in a file of its own; this file imports none of them.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::raw::{RawTarget, SpannedStr};
use super::roots::{list_parents, parents_to_list, Listings};
use crate::diagnostic::{suggest, Diagnostic};
use crate::discover::{Ecosystem, Kind, PackageInput};
use crate::glob::{self, Globs};
use crate::paths::normalize_rel;
use crate::paths::WorkspaceDirs;

/// The state of one validation: where the workspace is, how its directories are seen, and what
/// has been found wrong so far.
pub(super) struct Validator<'a> {
    pub(super) root: &'a Path,
    /// `root` with every symlink resolved: a service root must resolve below it.
    pub(super) real_root: PathBuf,
    /// Parent folders of many roots, listed once (see `roots`).
    pub(super) listings: Listings,
    pub(super) dirs: &'a mut dyn WorkspaceDirs,
    pub(super) errors: Vec<Diagnostic>,
    glob_cache: FxHashMap<Vec<String>, Arc<Globs>>,
    pub(super) missing_command: MissingCommands,
    /// No pipeline.toml: everything comes from discovery, and the workspace-level manifests are
    /// global inputs.
    pub(super) zero_config: bool,
    /// turbo.json keys with no equivalent, for one warning.
    pub(super) turbo_ignored: Vec<String>,
}

/// Default targets without a command → their key's span and the services that inherit them.
pub(super) type MissingCommands = BTreeMap<String, (Range<usize>, Vec<String>)>;

/// A service as collected from `members`, discovery and `[services.*]`, before ids exist.
#[derive(Default)]
pub(super) struct Draft {
    pub(super) root: String,
    pub(super) name_span: Option<Range<usize>>,
    pub(super) deps: Vec<SpannedStr>,
    pub(super) paths: Vec<String>,
    pub(super) targets: BTreeMap<SpannedStr, RawTarget>,
    /// What discovery read from the service's manifest.
    pub(super) found: Option<Box<Found>>,
}

/// A discovered service's part of a [`Draft`].
pub(super) struct Found {
    pub(super) ecosystem: Ecosystem,
    /// The name its manifest gives it (a Cargo crate's package name, which `cargo -p` takes),
    /// whatever `members` named the service.
    pub(super) package: String,
    /// Names of the services it links (only services that exist among the drafts).
    pub(super) deps: Vec<String>,
    /// Names of the services it needs only for its tests.
    pub(super) dev_deps: Vec<String>,
    pub(super) scripts: Vec<String>,
    pub(super) packages: Vec<PackageInput>,
    pub(super) kind: Kind,
    /// Globs added to the service's `paths`.
    pub(super) paths: Vec<String>,
}

/// Where a service root really is.
pub(super) enum Resolved {
    /// Inside the workspace: its workspace-relative path with symlinks resolved.
    Inside(String),
    /// It leads out of the workspace, to this absolute path.
    Outside(PathBuf),
    /// Inside `.git` (workspace-relative path).
    InGitDir(String),
    /// No such directory.
    Missing,
}

impl<'a> Validator<'a> {
    pub(super) fn new(root: &'a Path, dirs: &'a mut dyn WorkspaceDirs) -> Self {
        Validator {
            root,
            real_root: std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf()),
            dirs,
            listings: Listings::default(),
            errors: Vec::new(),
            glob_cache: FxHashMap::default(),
            missing_command: BTreeMap::new(),
            zero_config: false,
            turbo_ignored: Vec::new(),
        }
    }

    /// Lists, once each, the parent folders that hold several of `roots` (as written in the
    /// config), so that [`Validator::resolve`] finds those roots without a system call. Nothing
    /// to do when the listings were made beforehand ([`Validator::preset_listings`]).
    pub(super) fn list_root_parents<'r>(&mut self, roots: impl Iterator<Item = &'r str>) {
        if self.listings.is_preset() {
            return;
        }
        self.listings = list_parents(self.root, &parents_to_list(roots));
    }

    /// Uses `listings`, made from the same text while it was being decoded, instead of listing.
    pub(super) fn preset_listings(&mut self, listings: Listings) {
        self.listings = listings.preset();
    }

    /// Validates a `root` value: relative, an existing directory, inside the workspace once
    /// symlinks are followed, and not inside `.git`. Returns where it really is.
    pub(super) fn root_path(&mut self, root: &SpannedStr) -> Option<String> {
        let value = root.get_ref();
        let normalized = match normalize_rel(value) {
            Some(n) => n,
            None => {
                self.errors.push(
                    Diagnostic::new(format!("root `{value}` is outside the repository"))
                        .at(root.span())
                        .help("use a path relative to the directory holding pipeline.toml, without `..` above it"),
                );
                return None;
            }
        };
        match self.resolve(&normalized) {
            Resolved::Inside(real) => Some(real),
            Resolved::Outside(target) => {
                self.errors.push(
                    Diagnostic::new(format!(
                        "root `{value}` leads outside the repository (to {}) through a symlink",
                        target.display()
                    ))
                    .at(root.span())
                    .help("a service's root must stay inside the repository: point the symlink inside it, or name the directory itself"),
                );
                None
            }
            Resolved::InGitDir(real) => {
                self.errors.push(
                    Diagnostic::new(format!(
                        "root `{value}` is inside git's own directory (`{real}`)"
                    ))
                    .at(root.span())
                    .help("a service's root must be part of the worktree, not of `.git`"),
                );
                None
            }
            Resolved::Missing => {
                self.errors.push(
                    Diagnostic::new(format!("root `{value}` does not exist or is not a directory"))
                        .at(root.span())
                        .help("create the directory or fix the path (it is relative to the directory holding pipeline.toml)"),
                );
                None
            }
        }
    }

    /// Where the workspace-relative directory `rel` really is, symlinks followed. A directory
    /// that only the repository knows (outside a sparse checkout's cone) is taken as written:
    /// git records it as a tree, so it holds no symlink.
    pub(super) fn resolve(&mut self, rel: &str) -> Resolved {
        let inside = |real: String| {
            if real.split('/').any(|c| c == ".git") {
                Resolved::InGitDir(real)
            } else {
                Resolved::Inside(real)
            }
        };
        if let Some(real) = self.listings.lookup(rel) {
            return inside(real);
        }
        let full = self.root.join(rel);
        match std::fs::canonicalize(&full) {
            Ok(real) => {
                let Ok(below) = real.strip_prefix(&self.real_root) else {
                    return Resolved::Outside(real);
                };
                if !real.is_dir() {
                    return Resolved::Missing;
                }
                match below.to_str() {
                    Some(r) => inside(r.to_string()),
                    // A non-UTF-8 target: keep the written (UTF-8) path.
                    None => inside(rel.to_string()),
                }
            }
            Err(_) if self.dirs.is_dir(rel) => inside(rel.to_string()),
            Err(_) => Resolved::Missing,
        }
    }

    /// Reports `written` for naming `name`, which is none of `known`: `message`, with `otherwise`
    /// as the help, led by the closest known name when `name` looks like a typo of it.
    pub(super) fn unknown_name<'k>(
        &mut self,
        written: &SpannedStr,
        name: &str,
        known: impl IntoIterator<Item = &'k String>,
        message: String,
        otherwise: &str,
    ) {
        let help = match suggest(name, known.into_iter().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`? Otherwise {otherwise}"),
            None => otherwise.to_string(),
        };
        self.errors
            .push(Diagnostic::new(message).at(written.span()).help(help));
    }

    /// The patterns that compile, as written; each one that does not is reported.
    pub(super) fn valid_patterns(&mut self, patterns: &[SpannedStr], field: &str) -> Vec<String> {
        patterns
            .iter()
            .filter(|p| self.check_glob(p, field))
            .map(|p| p.get_ref().clone())
            .collect()
    }

    fn check_glob(&mut self, pattern: &SpannedStr, field: &str) -> bool {
        match glob::compile(pattern.get_ref()) {
            Ok(_) => true,
            Err(e) => {
                self.errors.push(
                    Diagnostic::new(format!("invalid glob `{}` in {field}: {e}", pattern.get_ref()))
                        .at(pattern.span())
                        .help("fix the pattern; `*` matches within one folder, `**` across folders, `{a,b}` alternatives"),
                );
                false
            }
        }
    }

    pub(super) fn globs(&mut self, patterns: &[SpannedStr], field: &str) -> Globs {
        let ok = self.valid_patterns(patterns, field);
        Globs::new(ok).unwrap_or_else(|_| Globs::empty())
    }

    /// The compiled valid `patterns`, or `default` when the field is not written.
    pub(super) fn shared_globs(
        &mut self,
        patterns: Option<&Vec<SpannedStr>>,
        default: &[&str],
        field: &str,
    ) -> Arc<Globs> {
        let list: Vec<String> = match patterns {
            Some(ps) => self.valid_patterns(ps, field),
            None => default.iter().map(|s| s.to_string()).collect(),
        };
        self.globs_for(&list)
    }

    /// Compiled globs for a list of already validated patterns, shared between equal lists (with
    /// thousands of services, most lists are the same few).
    pub(super) fn globs_for(&mut self, list: &[String]) -> Arc<Globs> {
        if let Some(g) = self.glob_cache.get(list) {
            return g.clone();
        }
        let g = Arc::new(Globs::new(list.to_vec()).unwrap_or_else(|_| Globs::empty()));
        self.glob_cache.insert(list.to_vec(), g.clone());
        g
    }
}
