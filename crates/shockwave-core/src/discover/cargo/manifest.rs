//! One `Cargo.toml` as discovery reads it: the serde shape of the parts it needs (spans kept for
//! errors), a workspace member read and checked as Cargo checks it, the keys it inherits from the
//! root manifest, and its path dependencies resolved to workspace folders.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use toml::Spanned;

use crate::discover::files;
use crate::discover::lockfile::manifest_key;
use crate::discover::DiscoverError;

pub(super) type DepTable = BTreeMap<String, Spanned<toml::Value>>;

/// The parts of a `Cargo.toml` discovery reads.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Manifest {
    /// Every key, for the name and for the ones inherited from the workspace. `[project]` is
    /// the old name Cargo still reads.
    #[serde(alias = "project")]
    pub(super) package: Option<Spanned<BTreeMap<String, Spanned<toml::Value>>>>,
    pub(super) workspace: Option<WorkspaceTable>,
    pub(super) lints: Option<toml::Value>,
    // The top-level tables are written out rather than flattened: serde's `flatten` buffers
    // values, which loses the spans errors point at.
    #[serde(default)]
    pub(super) dependencies: DepTable,
    #[serde(default, rename = "dev-dependencies", alias = "dev_dependencies")]
    pub(super) dev: DepTable,
    #[serde(default, rename = "build-dependencies", alias = "build_dependencies")]
    pub(super) build: DepTable,
    #[serde(default)]
    pub(super) target: BTreeMap<String, DepTables>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct DepTables {
    #[serde(default)]
    pub(super) dependencies: DepTable,
    #[serde(default, rename = "dev-dependencies", alias = "dev_dependencies")]
    pub(super) dev: DepTable,
    #[serde(default, rename = "build-dependencies", alias = "build_dependencies")]
    pub(super) build: DepTable,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WorkspaceTable {
    #[serde(default)]
    pub(super) members: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) exclude: Vec<String>,
    #[serde(default)]
    pub(super) dependencies: DepTable,
}

/// One member, read.
pub(super) struct Member {
    pub(super) dir: String,
    pub(super) manifest: String,
    pub(super) text: String,
    pub(super) parsed: Manifest,
}

impl Member {
    /// The package name; `""` before [`check_package`] has refused a member without one.
    pub(super) fn name(&self) -> &str {
        self.name_value()
            .and_then(|v| v.get_ref().as_str())
            .unwrap_or_default()
    }

    pub(super) fn name_value(&self) -> Option<&Spanned<toml::Value>> {
        self.parsed.package.as_ref()?.get_ref().get("name")
    }

    /// Every dependency table: `(table, whether it holds dev-dependencies)`.
    pub(super) fn dep_tables(&self) -> impl Iterator<Item = (&DepTable, bool)> {
        let p = &self.parsed;
        [(&p.dependencies, false), (&p.dev, true), (&p.build, false)]
            .into_iter()
            .chain(
                p.target
                    .values()
                    .flat_map(|t| [(&t.dependencies, false), (&t.dev, true), (&t.build, false)]),
            )
    }

    /// The keys of the root manifest this member inherits (`workspace.package.rust-version`,
    /// `workspace.dependencies.serde`, `workspace.lints`), sorted: the `key.workspace = true`
    /// of its `[package]`, of every dependency table and `[lints]`.
    pub(super) fn inherited(&self) -> Vec<String> {
        let mut out = BTreeSet::new();
        if let Some(package) = &self.parsed.package {
            for (key, value) in package.get_ref() {
                if inherits(value.get_ref()) {
                    out.insert(manifest_key(&["workspace", "package", key]));
                }
            }
        }
        for (table, _) in self.dep_tables() {
            for (key, value) in table {
                if inherits(value.get_ref()) {
                    out.insert(manifest_key(&["workspace", "dependencies", key]));
                }
            }
        }
        if self.parsed.lints.as_ref().is_some_and(inherits) {
            out.insert("workspace.lints".to_owned());
        }
        out.into_iter().collect()
    }
}

/// `{ workspace = true }`, however it is written.
fn inherits(value: &toml::Value) -> bool {
    value.get("workspace").and_then(toml::Value::as_bool) == Some(true)
}

/// A member's `[package]` with a `name` string, or the error Cargo gives too.
pub(super) fn check_package(member: &Member) -> Result<(), DiscoverError> {
    let Some(package) = &member.parsed.package else {
        return Err(DiscoverError::new(
            &member.manifest,
            Some(1),
            "this workspace member has no [package]; add one or leave the folder out of `members`",
        ));
    };
    match member.name_value() {
        Some(name) if name.get_ref().is_str() => Ok(()),
        Some(name) => Err(DiscoverError::new(
            &member.manifest,
            Some(files::line_at(&member.text, name.span().start)),
            "`package.name` must be a string",
        )),
        None => Err(DiscoverError::new(
            &member.manifest,
            Some(files::line_at(&member.text, package.span().start)),
            "this [package] has no `name`; Cargo needs one",
        )),
    }
}

/// A path dependency, resolved.
pub(super) struct PathDep {
    pub(super) key: String,
    /// Workspace-relative folder.
    pub(super) target: String,
    /// Written in `[dev-dependencies]` (of any target).
    pub(super) dev: bool,
    /// Where it is written (the member's manifest, or the root's `[workspace.dependencies]`),
    /// the 1-based line and the path as written: for the error when the folder has no manifest.
    pub(super) file: String,
    pub(super) line: usize,
    pub(super) path: String,
    /// The line of the entry in the member's own manifest (`b.workspace = true` when inherited):
    /// where the edge is declared, for a cycle.
    pub(super) entry_line: usize,
}

impl PathDep {
    /// A path dependency whose `Cargo.toml` cannot be read (`e`), at the line declaring it.
    pub(super) fn unreadable(&self, e: &DiscoverError) -> DiscoverError {
        DiscoverError::new(
            &self.file,
            Some(self.line),
            format!(
                "dependency `{}` has path `{}`, whose Cargo.toml cannot be read ({}: {}); fix the path",
                self.key, self.path, e.file, e.message
            ),
        )
    }

    /// Cargo's refusal of a path dependency whose folder holds no `Cargo.toml`.
    pub(super) fn missing(&self) -> DiscoverError {
        DiscoverError::new(
            &self.file,
            Some(self.line),
            format!(
                "dependency `{}` has path `{}`, where there is no Cargo.toml; fix the path or add the crate",
                self.key, self.path
            ),
        )
    }
}

/// Every path dependency of `m` in every table, directly or through `workspace = true`. A path
/// that leaves the workspace (a crate beside the repository) is no edge: Cargo builds it, but
/// its files are out of shockwave's sight.
pub(super) fn path_deps(
    m: &Member,
    workspace_deps: Option<&DepTable>,
    root_text: &str,
) -> Vec<PathDep> {
    let mut out = Vec::new();
    for (table, dev) in m.dep_tables() {
        for (key, value) in table {
            let (path, base, file, text, span) = if inherits(value.get_ref()) {
                let Some(w) = workspace_deps.and_then(|w| w.get(key)) else {
                    continue;
                };
                let path = w.get_ref().get("path");
                (path, "", "Cargo.toml", root_text, w.span())
            } else {
                let path = value.get_ref().get("path");
                (
                    path,
                    m.dir.as_str(),
                    m.manifest.as_str(),
                    m.text.as_str(),
                    value.span(),
                )
            };
            let Some(path) = path.and_then(toml::Value::as_str) else {
                continue;
            };
            if let Some(target) = files::join(base, path) {
                out.push(PathDep {
                    key: key.clone(),
                    target,
                    dev,
                    file: file.to_owned(),
                    line: files::line_at(text, span.start),
                    path: path.to_owned(),
                    entry_line: files::line_at(&m.text, value.span().start),
                });
            }
        }
    }
    out
}

pub(super) fn manifest_of(dir: &str) -> String {
    if dir.is_empty() {
        "Cargo.toml".to_string()
    } else {
        format!("{dir}/Cargo.toml")
    }
}

pub(super) fn parse(dir: &str, manifest: &str, text: String) -> Result<Member, DiscoverError> {
    match toml::from_str::<Manifest>(&text) {
        Ok(parsed) => Ok(Member {
            dir: dir.to_string(),
            manifest: manifest.to_string(),
            text,
            parsed,
        }),
        Err(e) => Err(DiscoverError::new(
            manifest,
            e.span().map(|s| files::line_at(&text, s.start)),
            format!("cannot be parsed as Cargo.toml: {}", e.message().trim_end()),
        )),
    }
}
