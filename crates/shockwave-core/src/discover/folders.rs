//! Services found by the build manifest in their folder, for the parts of a repository no
//! workspace covers: a polyglot microservices repository keeps a Node service with its own
//! `package.json`, a Python one with `requirements.txt`, a Java one with `build.gradle`, a .NET one
//! with a `.sln`, and a Dockerfile-only one side by side, each built on its own. Each such folder
//! is a service named after it.
//!
//! The rules, so that what is found is a unit someone builds and never a test fixture:
//! - the folder holds one of [`MANIFESTS`] (or a `*.csproj`, `*.fsproj`, `*.sln`);
//! - it is not the workspace root (a root manifest is the repository's own tooling, or the
//!   repository is one service: declare it), and it lies outside every root other discovery
//!   found (an npm package, a Cargo crate, a Go module or service own their subfolders);
//! - the outermost such folder wins: its subfolders are not searched (a .NET service with
//!   `src/` and `tests/` projects is one service);
//! - in a repository whose root is an npm, pnpm or yarn workspace, a `package.json` outside the
//!   workspace's packages makes no service: the package manager does not install it (examples,
//!   fixtures). Its other manifests still count;
//! - the search never enters hidden folders, `_`-prefixed ones, what git ignores, installed or
//!   built copies (`node_modules`, `vendor`, `target`, `dist`, `build`) or test data (`testdata`,
//!   `fixtures`, `__fixtures__`, `__tests__`), and never follows a link.
//!
//! Only file names are read, except a standalone `package.json`, whose `scripts` become targets
//! run by the package manager its folder's lockfile names. Nothing here can fail a command: a
//! folder that cannot be listed is left out (logged at debug level) and an unreadable
//! `package.json` gives a service without scripts, with a warning.

use std::collections::BTreeMap;

use super::{DiscoveredService, Ecosystem};
use crate::confine::Root;
use crate::paths::WorkspaceDirs;

/// File names that make their folder a service, and what they say it is built with.
pub const MANIFESTS: &[(&str, Ecosystem)] = &[
    ("package.json", Ecosystem::Npm),
    ("pyproject.toml", Ecosystem::Python),
    ("setup.py", Ecosystem::Python),
    ("requirements.txt", Ecosystem::Python),
    ("Pipfile", Ecosystem::Python),
    ("pom.xml", Ecosystem::Java),
    ("build.gradle", Ecosystem::Java),
    ("build.gradle.kts", Ecosystem::Java),
    ("Dockerfile", Ecosystem::Docker),
];

/// Folders never searched, besides hidden and `_`-prefixed ones.
const SKIPPED: &[&str] = &[
    "node_modules",
    "vendor",
    "target",
    "dist",
    "build",
    "testdata",
    "fixtures",
    "__fixtures__",
    "__tests__",
];

/// The most folders searched; past it the search stops where it is (a repository that large
/// declares its services).
const MAX_DIRS: usize = 200_000;

/// The folder services below `root`, outside every root in `claimed` (workspace-relative roots
/// of the services other discovery found). `npm_workspace`: the root is an npm-family workspace,
/// so a stray `package.json` is no service. Names are not made unique here (see `discover`).
pub fn discover(
    root: &Root,
    dirs: &mut dyn WorkspaceDirs,
    claimed: &[&str],
    npm_workspace: bool,
) -> Vec<DiscoveredService> {
    let mut claimed: Vec<&str> = claimed.to_vec();
    claimed.sort_unstable();
    claimed.dedup();
    let mut found = Vec::new();
    let mut stack = vec![String::new()];
    let mut seen = 0usize;
    while let Some(dir) = stack.pop() {
        seen += 1;
        if seen > MAX_DIRS {
            tracing::warn!("stopped looking for service folders after {MAX_DIRS} folders: folders past them are no services; declare them in pipeline.toml");
            break;
        }
        let entries = match std::fs::read_dir(root.path().join(&dir)) {
            Ok(e) => e,
            Err(e) => {
                tracing::debug!("cannot list `{dir}` while looking for service folders: {e}");
                continue;
            }
        };
        let mut kind: Option<(Ecosystem, String)> = None;
        let mut subdirs = Vec::new();
        for entry in entries.flatten() {
            let (Ok(name), Ok(ft)) = (entry.file_name().into_string(), entry.file_type()) else {
                continue;
            };
            if ft.is_dir() {
                if !name.starts_with(['.', '_']) && !SKIPPED.contains(&name.as_str()) {
                    subdirs.push(name);
                }
                continue;
            }
            if !ft.is_file() || dir.is_empty() {
                continue;
            }
            let Some(ecosystem) = manifest_kind(&name) else {
                continue;
            };
            if ecosystem == Ecosystem::Npm && npm_workspace {
                continue;
            }
            // Of two manifests, the one earlier in `MANIFESTS` (a language's own before a
            // Dockerfile), then the smaller name: never the order the directory lists them in.
            let better = match &kind {
                None => true,
                Some((_, first)) => (rank(&name), name.as_str()) < (rank(first), first.as_str()),
            };
            if better {
                kind = Some((ecosystem, name));
            }
        }
        if let Some((ecosystem, manifest)) = kind {
            found.push(service(root, &dir, ecosystem, &manifest));
            continue;
        }
        subdirs.sort_unstable();
        for name in subdirs.into_iter().rev() {
            let child = crate::paths::join(&dir, &name);
            if is_claimed(&claimed, &child) || dirs.is_excluded(&child) {
                continue;
            }
            stack.push(child);
        }
    }
    found.sort_by(|a, b| a.root.cmp(&b.root));
    found
}

/// Where `name` stands among the manifests: `MANIFESTS` order, .NET projects before the
/// Dockerfile.
fn rank(name: &str) -> usize {
    match MANIFESTS.iter().position(|(m, _)| *m == name) {
        Some(i) if name == "Dockerfile" => i + 1,
        Some(i) => i,
        None => MANIFESTS.len() - 1,
    }
}

/// What file `name` says its folder is built with, if it is a build manifest.
fn manifest_kind(name: &str) -> Option<Ecosystem> {
    if let Some(&(_, e)) = MANIFESTS.iter().find(|(m, _)| *m == name) {
        return Some(e);
    }
    [".csproj", ".fsproj", ".sln"]
        .iter()
        .any(|ext| name.len() > ext.len() && name.ends_with(ext))
        .then_some(Ecosystem::Dotnet)
}

/// Whether `dir` is, or lies below, a root other discovery found (the workspace root itself
/// claims nothing here: a folder service below it is the more exact owner).
fn is_claimed(claimed: &[&str], dir: &str) -> bool {
    let mut at = dir;
    loop {
        if claimed.binary_search(&at).is_ok() {
            return true;
        }
        match at.rfind('/') {
            Some(i) => at = &at[..i],
            None => return false,
        }
    }
}

/// The service for folder `dir`, named after it; a standalone `package.json` lends its scripts,
/// run by the package manager whose lockfile the folder holds.
fn service(root: &Root, dir: &str, ecosystem: Ecosystem, manifest: &str) -> DiscoveredService {
    let manifest = format!("{dir}/{manifest}");
    let (ecosystem, scripts) = if ecosystem == Ecosystem::Npm {
        node_scripts(root, dir, &manifest)
    } else {
        (ecosystem, Vec::new())
    };
    DiscoveredService {
        name: dir.rsplit('/').next().unwrap_or(dir).to_string(),
        root: dir.to_string(),
        ecosystem,
        manifest,
        name_line: None,
        deps: Vec::new(),
        dev_deps: Vec::new(),
        kind: super::Kind::Service,
        scripts,
        paths: Vec::new(),
        packages: Vec::new(),
    }
}

/// The package manager of a standalone Node folder (from its lockfile, npm without one) and its
/// `scripts` names, sorted.
fn node_scripts(root: &Root, dir: &str, manifest: &str) -> (Ecosystem, Vec<String>) {
    // A lockfile that cannot be read (a link leaving the repository) chooses nothing.
    let has = |file: &str| super::files::is_file(root, &format!("{dir}/{file}")).unwrap_or(false);
    let pm = if has("pnpm-lock.yaml") {
        Ecosystem::Pnpm
    } else if has("yarn.lock") {
        Ecosystem::Yarn
    } else {
        Ecosystem::Npm
    };
    #[derive(serde::Deserialize)]
    struct Manifest {
        #[serde(default)]
        scripts: BTreeMap<String, serde_json::Value>,
    }
    let scripts = match super::files::read(root, manifest) {
        Ok(Some(text)) => match serde_json::from_str::<Manifest>(&text) {
            Ok(m) => m.scripts.into_keys().collect(),
            Err(e) => {
                tracing::warn!("{manifest}:{}: cannot be parsed as package.json ({e}); the service `{dir}` has no scripts as targets", e.line());
                Vec::new()
            }
        },
        Ok(None) => Vec::new(),
        Err(e) => {
            tracing::warn!("{e}; the service `{dir}` has no scripts as targets");
            Vec::new()
        }
    };
    (pm, scripts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::FsDirs;

    fn write(root: &std::path::Path, files: &[&str]) {
        for f in files {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "{}").unwrap();
        }
    }

    fn found(root: &std::path::Path, claimed: &[&str], npm: bool) -> Vec<(String, Ecosystem)> {
        let at = Root::open(root, root).unwrap();
        discover(&at, &mut FsDirs::new(root), claimed, npm)
            .into_iter()
            .map(|s| (s.root, s.ecosystem))
            .collect()
    }

    #[test]
    fn each_kind_of_folder_is_found_and_the_outermost_wins() {
        let t = tempfile::tempdir().unwrap();
        write(
            t.path(),
            &[
                "package.json",
                "Dockerfile",
                "src/ad/build.gradle",
                "src/ad/Dockerfile",
                "src/cart/cart.sln",
                "src/cart/src/cart.csproj",
                "src/cart/tests/cart.tests.csproj",
                "src/currency/package.json",
                "src/currency/yarn.lock",
                "src/email/requirements.txt",
                "src/edge/Dockerfile",
                "src/go/main.go",
                "src/go/sub/requirements.txt",
                "src/email/testdata/x/pom.xml",
                "src/.hidden/pom.xml",
                "tools/node_modules/x/package.json",
                "examples/fixtures/a/package.json",
            ],
        );
        assert_eq!(
            found(t.path(), &["src/go"], false),
            [
                ("src/ad".to_string(), Ecosystem::Java),
                ("src/cart".to_string(), Ecosystem::Dotnet),
                ("src/currency".to_string(), Ecosystem::Yarn),
                ("src/edge".to_string(), Ecosystem::Docker),
                ("src/email".to_string(), Ecosystem::Python),
            ]
        );
        // In an npm workspace, a stray package.json is no service; other manifests still are.
        let roots: Vec<String> = found(t.path(), &["src/go"], true)
            .into_iter()
            .map(|(r, _)| r)
            .collect();
        assert_eq!(roots, ["src/ad", "src/cart", "src/edge", "src/email"]);
    }

    #[test]
    fn of_two_manifests_the_first_in_the_table_wins_in_any_listing_order() {
        let t = tempfile::tempdir().unwrap();
        write(
            t.path(),
            &[
                "a/requirements.txt",
                "a/package.json",
                "b/Dockerfile",
                "b/b.csproj",
                "c/pom.xml",
                "c/build.gradle",
            ],
        );
        assert_eq!(
            found(t.path(), &[], false),
            [
                ("a".to_string(), Ecosystem::Npm),
                ("b".to_string(), Ecosystem::Dotnet),
                ("c".to_string(), Ecosystem::Java),
            ]
        );
        let root = Root::open(t.path(), t.path()).unwrap();
        let manifests: Vec<String> = discover(&root, &mut FsDirs::new(t.path()), &[], false)
            .into_iter()
            .map(|s| s.manifest)
            .collect();
        assert_eq!(manifests, ["a/package.json", "b/b.csproj", "c/pom.xml"]);
    }

    #[test]
    fn claimed_roots_hide_their_subfolders() {
        assert!(is_claimed(&["a/b", "c"], "a/b/x/y"));
        assert!(is_claimed(&["a/b", "c"], "c"));
        assert!(!is_claimed(&["a/b", "c"], "a/bx"));
        assert!(!is_claimed(&["a/b"], "a"));
    }
}
