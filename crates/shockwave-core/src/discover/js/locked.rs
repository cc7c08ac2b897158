//! The links a lockfile records: for each workspace folder and each dependency name, whether the
//! package manager installed a workspace folder (and which) or a fetched package. This is what
//! the package manager actually did, whatever the specifier says (`npm:` aliases, ranges and tags
//! can all end up linked), so where it is recorded it decides the edge.
//!
//! - pnpm: an importer's dependency whose `version` is `link:../rel` (relative to the importer)
//!   or `file:rel` (an injected workspace package, relative to the lockfile).
//! - npm (`package-lock.json` v2 / v3): the dependency as Node resolves it from the folder,
//!   `folder/node_modules/NAME` upwards to `node_modules/NAME`; an entry with `"link": true`
//!   names the folder in `resolved`. Only dependencies the folder's own entry lists count.
//! - yarn berry: a workspace entry's dependency descriptor resolves to an entry whose
//!   `resolution` is `NAME@workspace:rel`. yarn 1 records no workspace, so nothing here.
//!
//! Pure functions of the lockfile text; linear in its size (npm's resolution of every folder's
//! dependencies is one pass, [`Locations`]). Paths are confined to the workspace
//! by the caller (a target that is not a discovered package is simply no edge).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::discover::files::join;
use crate::discover::lockfile::node_modules::Locations;
use crate::discover::lockfile::with_final_newline;
use crate::discover::Ecosystem;

/// Per workspace folder (`""` for the root), per dependency name: `Some(folder)` when the
/// lockfile links that workspace folder, `None` when it installs a fetched package.
#[derive(Debug, Default)]
pub(super) struct LockLinks {
    folders: HashMap<String, HashMap<String, Option<String>>>,
}

impl LockLinks {
    /// What the lockfile records for `name` as a dependency of folder `dir`: `None` when it
    /// does not record it (a stale lockfile, or a folder it does not know), else the linked
    /// folder or `Some(None)` for a fetched package.
    pub(super) fn get(&self, dir: &str, name: &str) -> Option<Option<&str>> {
        self.folders
            .get(dir)?
            .get(name)
            .map(|target| target.as_deref())
    }

    fn record(&mut self, dir: String, name: String, target: Option<String>) {
        self.folders.entry(dir).or_default().insert(name, target);
    }
}

/// Why a lockfile's links cannot be read: its format's parser refused the text.
#[derive(Debug, thiserror::Error)]
pub(super) enum LinksError {
    #[error("{0}")]
    Yaml(serde_saphyr::Error),
    #[error("{0}")]
    Json(serde_json::Error),
    #[error("{0}")]
    Yarn(yarn_lock_parser::YarnLockError),
}

/// The links in lockfile `text` of package manager `pm`, or why it cannot be read. `Ok(None)`
/// for a lockfile that records no links (yarn 1, npm v1, a pnpm lockfile without importers).
pub(super) fn read(pm: Ecosystem, text: &str) -> Result<Option<LockLinks>, LinksError> {
    match pm {
        Ecosystem::Pnpm => pnpm(text),
        Ecosystem::Npm => npm(text),
        Ecosystem::Yarn => yarn(text),
        _ => Ok(None),
    }
}

/// A folder as the lockfiles write it (`.` for the root) in discovery's form (`""`).
fn folder(path: &str) -> String {
    match path.trim_end_matches('/') {
        "." | "" => String::new(),
        p => p.strip_prefix("./").unwrap_or(p).to_owned(),
    }
}

#[derive(Deserialize)]
struct PnpmImporters {
    #[serde(default)]
    importers: BTreeMap<String, PnpmImporter>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PnpmImporter {
    #[serde(default)]
    dependencies: BTreeMap<String, PnpmDep>,
    #[serde(default)]
    dev_dependencies: BTreeMap<String, PnpmDep>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, PnpmDep>,
}

/// `{specifier, version}` (v6 and later), or a bare version (v5).
#[derive(Deserialize)]
#[serde(untagged)]
enum PnpmDep {
    Full { version: String },
    Bare(String),
}

/// Only the top-level `importers:` block is read: the package graph after it, most of a large
/// lockfile, says nothing about links. The block pnpm writes has one fixed layout, which
/// [`pnpm_canonical`] reads line by line (a YAML parse of it costs about 10 ms for 50
/// importers, on every command); anything else in it goes to the YAML parser.
fn pnpm(text: &str) -> Result<Option<LockLinks>, LinksError> {
    let Some(block) = top_level_block(text, "importers:") else {
        return Ok(None);
    };
    let mut links = LockLinks::default();
    if let Some(entries) = pnpm_canonical(block) {
        for (path, name, version) in entries {
            let dir = folder(path);
            let target = pnpm_target(&dir, version);
            links.record(dir, name.into_owned(), target);
        }
        return Ok(Some(links));
    }
    let lock: PnpmImporters = crate::discover::yaml::from_str(block).map_err(LinksError::Yaml)?;
    for (path, importer) in lock.importers {
        let dir = folder(&path);
        let deps = importer
            .dependencies
            .into_iter()
            .chain(importer.dev_dependencies)
            .chain(importer.optional_dependencies);
        for (name, dep) in deps {
            let version = match &dep {
                PnpmDep::Full { version } | PnpmDep::Bare(version) => version,
            };
            let target = pnpm_target(&dir, version);
            links.record(dir.clone(), name, target);
        }
    }
    Ok(Some(links))
}

/// The workspace folder an importer's dependency `version` names: `link:../rel` (relative to
/// the importer) or an injected package's `file:packages/a(peer@1.0.0)` (relative to the root).
fn pnpm_target(dir: &str, version: &str) -> Option<String> {
    if let Some(rel) = version.strip_prefix("link:") {
        join(dir, rel)
    } else if let Some(rel) = version.strip_prefix("file:") {
        let rel = rel.split_once('(').map_or(rel, |(path, _)| path);
        join("", rel)
    } else {
        None
    }
}

/// `(importer, dependency, version)` of every dependency in an `importers:` block as pnpm
/// writes it — two spaces per level, `'quoted'` keys, `{}` for an empty importer; v6+ with
/// `specifier`/`version` under each dependency, v5 with the version inline — or `None` at the
/// first line that is not in that layout.
fn pnpm_canonical(block: &str) -> Option<Vec<(&str, Cow<'_, str>, &str)>> {
    let mut out = Vec::new();
    let mut importer: Option<&str> = None;
    let mut in_deps = false;
    let mut dep: Option<Cow<'_, str>> = None;
    for line in block.lines().skip(1) {
        let content = line.trim_start_matches(' ');
        if content.is_empty() {
            continue;
        }
        let indent = line.len() - content.len();
        let (key, value) = content.split_once(':').map(|(k, v)| (k, v.trim()))?;
        // A quoted key may hold `:`; read it whole.
        let (key, value) = if key.starts_with('\'') {
            let end = content[1..].find("':")? + 1;
            (&content[..=end], content[end + 2..].trim())
        } else {
            (key, value)
        };
        match indent {
            2 => {
                if !(value.is_empty() || value == "{}") {
                    return None;
                }
                importer = Some(unquote_plain(key)?);
                in_deps = false;
                dep = None;
            }
            4 => {
                in_deps = matches!(
                    key,
                    "dependencies" | "devDependencies" | "optionalDependencies"
                );
                if in_deps && !value.is_empty() {
                    return None;
                }
                dep = None;
            }
            6 if in_deps => {
                let name = unquote(key)?;
                if value.is_empty() {
                    dep = Some(name);
                } else {
                    // v5: `name: version`.
                    out.push((importer?, name, plain_value(value)?));
                    dep = None;
                }
            }
            8 if in_deps && key == "version" => {
                out.push((importer?, dep.take()?, plain_value(value)?));
            }
            6 | 8 if !in_deps => {}
            8 if key == "specifier" => {}
            _ => return None,
        }
    }
    Some(out)
}

/// A key as pnpm writes it: plain, or in single quotes with `''` for a quote.
fn unquote(key: &str) -> Option<Cow<'_, str>> {
    match key.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')) {
        Some(inner) if inner.contains("''") => Some(Cow::Owned(inner.replace("''", "'"))),
        Some(inner) => Some(Cow::Borrowed(inner)),
        None if key.starts_with(['"', '{', '[', '&', '*', '!', '|', '>', '%', '@', '`']) => None,
        None => Some(Cow::Borrowed(key)),
    }
}

/// A key that must not need unescaping (an importer path).
fn unquote_plain(key: &str) -> Option<&str> {
    match unquote(key)? {
        Cow::Borrowed(k) => Some(k),
        Cow::Owned(_) => None,
    }
}

/// A scalar value as pnpm writes it: plain, or single-quoted without escapes.
fn plain_value(value: &str) -> Option<&str> {
    let v = match value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        Some(inner) if !inner.contains('\'') => inner,
        Some(_) => return None,
        None => value,
    };
    (!v.is_empty() && !v.starts_with(['"', '{', '[', '&', '*', '!', '|', '>', '#'])).then_some(v)
}

/// The lines of top-level YAML key `key` (written at the start of a line) up to the next
/// top-level key: a document holding just that key.
fn top_level_block<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let mut start = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let top = line
            .chars()
            .next()
            .is_some_and(|c| !c.is_whitespace() && c != '#');
        match start {
            None if top && line.starts_with(key) => start = Some(offset),
            Some(s) if top => return Some(&text[s..offset]),
            _ => {}
        }
        offset += line.len();
    }
    start.map(|s| &text[s..])
}

/// `package-lock.json`, borrowed from its text: only the workspace folders' entries are used,
/// and their dependency names are all that is kept of them.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NpmLock<'a> {
    lockfile_version: Option<u64>,
    #[serde(default, borrow)]
    packages: HashMap<Cow<'a, str>, NpmEntry<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NpmEntry<'a> {
    #[serde(borrow)]
    resolved: Option<Cow<'a, str>>,
    #[serde(default)]
    link: bool,
    #[serde(default, borrow)]
    dependencies: BTreeMap<Cow<'a, str>, IgnoredAny>,
    #[serde(default, borrow)]
    dev_dependencies: BTreeMap<Cow<'a, str>, IgnoredAny>,
    #[serde(default, borrow)]
    optional_dependencies: BTreeMap<Cow<'a, str>, IgnoredAny>,
    #[serde(default, borrow)]
    peer_dependencies: BTreeMap<Cow<'a, str>, IgnoredAny>,
}

fn npm(text: &str) -> Result<Option<LockLinks>, LinksError> {
    let lock: NpmLock = serde_json::from_str(text).map_err(LinksError::Json)?;
    if !matches!(lock.lockfile_version, Some(2 | 3)) {
        return Ok(None);
    }
    // The folders: the root and every workspace folder a link points at (`node_modules/a` →
    // `packages/a`), whose own entries list what they ask for.
    let mut folders: Vec<&str> = vec![""];
    folders.extend(
        lock.packages
            .values()
            .filter(|e| e.link)
            .filter_map(|e| e.resolved.as_deref()),
    );
    folders.sort_unstable();
    folders.dedup();
    let mut questions: Vec<(&str, &str)> = Vec::new();
    for dir in folders {
        let Some(entry) = lock.packages.get(dir) else {
            continue;
        };
        let names = entry
            .dependencies
            .keys()
            .chain(entry.dev_dependencies.keys())
            .chain(entry.optional_dependencies.keys())
            .chain(entry.peer_dependencies.keys());
        questions.extend(names.map(|name| (dir, name.as_ref())));
    }
    let locations: Vec<&str> = lock.packages.keys().map(|k| k.as_ref()).collect();
    let found = Locations::new(locations.iter().copied()).resolve(&questions);
    let mut links = LockLinks::default();
    for (&(dir, name), found) in questions.iter().zip(found) {
        let Some(found) = found.map(|i| &lock.packages[locations[i]]) else {
            continue;
        };
        let target = found
            .link
            .then(|| found.resolved.as_deref().and_then(|r| join("", r)))
            .flatten();
        links.record(folder(dir), name.to_owned(), target);
    }
    Ok(Some(links))
}

fn yarn(text: &str) -> Result<Option<LockLinks>, LinksError> {
    let text = with_final_newline(text);
    let lock = yarn_lock_parser::parse_str(&text).map_err(LinksError::Yarn)?;
    if lock.version == 1 {
        return Ok(None);
    }
    // `name@workspace:packages/a` → `packages/a`.
    let workspace_of = |resolved: &str| -> Option<String> {
        let (_, range) = resolved.get(1..)?.split_once('@')?;
        range.strip_prefix("workspace:").map(folder)
    };
    let mut by_descriptor: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, entry) in lock.entries.iter().enumerate() {
        for &descriptor in &entry.descriptors {
            by_descriptor.insert(descriptor, i);
        }
    }
    let mut links = LockLinks::default();
    for entry in &lock.entries {
        let Some(dir) = workspace_of(entry.resolved) else {
            continue;
        };
        for &(name, range) in entry
            .dependencies
            .iter()
            .chain(&entry.optional_dependencies)
        {
            let Some(&target) = by_descriptor.get(&(name, range)) else {
                continue;
            };
            let target = workspace_of(lock.entries[target].resolved);
            links.record(dir.clone(), name.to_owned(), target);
        }
    }
    Ok(Some(links))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pnpm_links_whatever_the_specifier() {
        let text = "lockfileVersion: '9.0'\n\nsettings:\n  autoInstallPeers: true\n\nimporters:\n\n  .: {}\n\n  examples/ex:\n    dependencies:\n      is-odd:\n        specifier: npm:is-odd@^3.0.0\n        version: link:../../packages/client\n      zod:\n        specifier: ^3.0.0\n        version: 3.25.76\n    devDependencies:\n      b:\n        specifier: workspace:*\n        version: file:packages/b(react@18.0.0)\n\n  packages/client: {}\n\npackages:\n\n  zod@3.25.76:\n    resolution: {integrity: sha512-x}\n";
        let links = read(Ecosystem::Pnpm, text).unwrap().unwrap();
        assert_eq!(
            links.get("examples/ex", "is-odd"),
            Some(Some("packages/client"))
        );
        assert_eq!(links.get("examples/ex", "zod"), Some(None));
        assert_eq!(links.get("examples/ex", "b"), Some(Some("packages/b")));
        assert_eq!(links.get("examples/ex", "other"), None);
        assert_eq!(links.get("packages/client", "zod"), None);
    }

    #[test]
    fn npm_resolves_as_node_does() {
        let text = r#"{"lockfileVersion": 3, "packages": {
            "": {"name": "root"},
            "examples/ex": {"dependencies": {"is-odd": "npm:is-odd@^3.0.0"}},
            "examples/ex2": {"dependencies": {"is-odd": "latest"}},
            "examples/ex2/node_modules/is-odd": {"version": "3.0.1"},
            "node_modules/ex": {"resolved": "examples/ex", "link": true},
            "node_modules/ex2": {"resolved": "examples/ex2", "link": true},
            "node_modules/is-odd": {"resolved": "packages/client", "link": true},
            "packages/client": {"name": "is-odd", "version": "3.0.1"}
        }}"#;
        let links = read(Ecosystem::Npm, text).unwrap().unwrap();
        assert_eq!(
            links.get("examples/ex", "is-odd"),
            Some(Some("packages/client"))
        );
        assert_eq!(links.get("examples/ex2", "is-odd"), Some(None));
        assert!(read(Ecosystem::Npm, r#"{"lockfileVersion": 1}"#)
            .unwrap()
            .is_none());
    }

    #[test]
    fn berry_workspace_resolutions() {
        let text = "# This file is generated by running \"yarn install\" inside your project.\n# Manual changes might be lost - proceed with caution!\n\n__metadata:\n  version: 8\n  cacheKey: 10c0\n\n\"ex@workspace:examples/ex\":\n  version: 0.0.0-use.local\n  resolution: \"ex@workspace:examples/ex\"\n  dependencies:\n    is-odd: \"npm:is-odd@^3.0.0\"\n    ms: \"npm:^2.0.0\"\n  languageName: unknown\n  linkType: soft\n\n\"is-odd@npm:is-odd@^3.0.0, is-odd@workspace:packages/client\":\n  version: 0.0.0-use.local\n  resolution: \"is-odd@workspace:packages/client\"\n  languageName: unknown\n  linkType: soft\n\n\"ms@npm:^2.0.0\":\n  version: 2.1.3\n  resolution: \"ms@npm:2.1.3\"\n  checksum: 10c0/abc\n  languageName: node\n  linkType: hard\n";
        let links = read(Ecosystem::Yarn, text).unwrap().unwrap();
        assert_eq!(
            links.get("examples/ex", "is-odd"),
            Some(Some("packages/client"))
        );
        assert_eq!(links.get("examples/ex", "ms"), Some(None));
        let v1 = "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\nms@^2.0.0:\n  version \"2.1.3\"\n  resolved \"https://registry.yarnpkg.com/ms/-/ms-2.1.3.tgz\"\n";
        assert!(read(Ecosystem::Yarn, v1).unwrap().is_none());
    }

    #[test]
    fn the_canonical_pnpm_reader_agrees_with_the_yaml_parser() {
        let block = "importers:\n\n  .:\n    devDependencies:\n      '@x/a':\n        specifier: workspace:*\n        version: link:packages/a\n\n  packages/a: {}\n\n  'packages/b':\n    dependencies:\n      '@x/a':\n        specifier: npm:@x/a\n        version: link:../a\n      zod:\n        specifier: ^3\n        version: 3.25.76(typescript@5.9.2)\n    dependenciesMeta:\n      zod:\n        injected: true\n    publishDirectory: dist\n";
        let fast = pnpm_canonical(block).unwrap();
        assert_eq!(
            fast,
            vec![
                (".", Cow::Borrowed("@x/a"), "link:packages/a"),
                ("packages/b", Cow::Borrowed("@x/a"), "link:../a"),
                (
                    "packages/b",
                    Cow::Borrowed("zod"),
                    "3.25.76(typescript@5.9.2)"
                ),
            ]
        );
        let text = format!("lockfileVersion: '9.0'\n\n{block}");
        let links = pnpm(&text).unwrap().unwrap();
        let parsed: PnpmImporters = serde_saphyr::from_str(block).unwrap();
        assert_eq!(parsed.importers.len(), 3);
        assert_eq!(links.get("", "@x/a"), Some(Some("packages/a")));
        assert_eq!(links.get("packages/b", "@x/a"), Some(Some("packages/a")));
        assert_eq!(links.get("packages/b", "zod"), Some(None));
        // v5 writes versions inline; a flow mapping is left to the YAML parser.
        let v5 = "importers:\n  packages/b:\n    specifiers:\n      a: link:../a\n    dependencies:\n      a: link:../a\n";
        assert_eq!(
            pnpm_canonical(v5).unwrap(),
            vec![("packages/b", Cow::Borrowed("a"), "link:../a")]
        );
        let flow = "importers:\n  packages/b:\n    dependencies: {a: {specifier: x, version: 'link:../a'}}\n";
        assert!(pnpm_canonical(flow).is_none());
        let links = pnpm(&format!("lockfileVersion: '9.0'\n{flow}"))
            .unwrap()
            .unwrap();
        assert_eq!(links.get("packages/b", "a"), Some(Some("packages/a")));
    }

    #[test]
    fn top_level_block_stops_at_the_next_key() {
        let text = "a: 1\nimporters:\n  x: {}\n# comment\n  y: {}\npackages:\n  z: 1\n";
        assert_eq!(
            top_level_block(text, "importers:"),
            Some("importers:\n  x: {}\n# comment\n  y: {}\n")
        );
        assert_eq!(top_level_block(text, "missing:"), None);
    }
}
