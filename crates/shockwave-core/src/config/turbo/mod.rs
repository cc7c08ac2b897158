//! Turborepo's `turbo.json` as a source of targets: with no targets written in pipeline.toml, a
//! repository's root `turbo.json` (or `turbo.jsonc`) and the package-level ones that `extends`
//! it say what each task needs, reads, writes and depends on, exactly as `turbo run` would use
//! them. Every key becomes the pipeline.toml setting with the same meaning (`init` writes those
//! settings out), so shockwave behaves the same with the converted file as with turbo.json alone.
//! A key with no equivalent is kept for one warning; a malformed file is an error with its
//! position. Reading is bounded and never follows a link out of the repository.
//!
//! `read` turns a file into a [`Turbo`] (or a [`TurboError`]); `apply` lays it over the drafts
//! of validation; `convert` writes it out as pipeline.toml tables for `init`.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::Arc;

use super::raw::{RawTarget, SpannedStr};
use crate::diagnostic::{Diagnostic, SourceFile};

mod apply;
pub(super) mod convert;
pub(super) mod read;

/// The names Turborepo reads, in its order of preference.
pub const TURBO_FILES: [&str; 2] = ["turbo.json", "turbo.jsonc"];

/// The largest turbo.json read: real ones are a few KB.
const MAX_TURBO_BYTES: u64 = 4 << 20;

/// The root package's name in `dependsOn` and task keys (`//#lint`).
pub const ROOT_PACKAGE: &str = "//";

/// What a turbo.json says, as pipeline.toml settings.
#[derive(Debug)]
pub struct Turbo {
    pub file: Arc<SourceFile>,
    /// `tasks.NAME`: `[targets.NAME]`.
    pub targets: BTreeMap<SpannedStr, RawTarget>,
    /// `tasks."pkg#NAME"`: `[services.pkg.targets.NAME]`, complete (such an entry replaces the
    /// generic task for that package rather than refining it).
    pub packages: BTreeMap<String, BTreeMap<SpannedStr, RawTarget>>,
    /// `tasks."//#NAME"`: the root package's own tasks.
    pub root_tasks: BTreeMap<SpannedStr, RawTarget>,
    /// `globalDependencies` (and 1.x `globalDotEnv`), and task `inputs` written from the
    /// repository root (`$TURBO_ROOT$/…`), which are global here.
    pub global_inputs: Vec<SpannedStr>,
    pub global_env: Vec<SpannedStr>,
    /// Keys with no equivalent: `key (file:line)`.
    pub ignored: Vec<String>,
    /// Packages named in task keys or `dependsOn`, with where, to be checked against the
    /// workspace's packages.
    pub package_refs: Vec<(String, Range<usize>)>,
}

impl Turbo {
    /// Every task name the root turbo.json defines: generic, the root package's and
    /// package-specific ones (`known` for the packages' own turbo.json).
    fn task_names(&self) -> BTreeSet<String> {
        let mut known: BTreeSet<String> =
            self.targets.keys().map(|k| k.get_ref().clone()).collect();
        known.extend(self.root_tasks.keys().map(|k| k.get_ref().clone()));
        known.extend(
            self.packages
                .values()
                .flat_map(|t| t.keys().map(|k| k.get_ref().clone())),
        );
        known
    }
}

/// Why a turbo.json could not be used: the file and its problems, at their positions.
#[derive(Debug)]
pub struct TurboError {
    pub path: std::path::PathBuf,
    pub text: String,
    pub diagnostics: Vec<Diagnostic>,
}

/// A package turbo.json's tasks and its keys with no equivalent.
pub type PackageTasks = (BTreeMap<SpannedStr, RawTarget>, Vec<String>);

/// A package-level setting laid over the root's: each key it writes replaces the root's.
fn overlay(base: &mut RawTarget, over: RawTarget) {
    base.needs = over.needs.or(base.needs.take());
    base.inputs = over.inputs.or(base.inputs.take());
    base.outputs = over.outputs.or(base.outputs.take());
    base.env = over.env.or(base.env.take());
    base.cache = over.cache.or(base.cache);
    base.persistent = over.persistent.or(base.persistent);
    base.interactive = over.interactive.or(base.interactive);
}
