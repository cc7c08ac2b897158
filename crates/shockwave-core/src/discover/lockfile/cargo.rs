//! `Cargo.lock`, every version cargo has written, read with `toml` and serde: `[[package]]`
//! tables with `name`, `version`, `source` (absent for workspace and path crates) and
//! `dependencies`, each written `name`, `name version` or `name version (source)` — as much as
//! tells the packages apart. Dev, build and every target's dependencies are all recorded, so all
//! count.
//!
//! The versions differ in what this reading does not use (cargo's `ResolveVersion`): v1 (no
//! `version` key, checksums in a `[metadata]` table, every dependency written in full as
//! `name version (source)`, and before cargo 0.22 the root package in a `[root]` table rather
//! than among the `[[package]]`s); v2 (no `version` key, a `checksum` per package, dependencies
//! shortened); v3 (`version = 3`, a git `branch = "master"` written as `?branch=master` in
//! `source`); v4 (`version = 4`, `source` URLs percent-encoded). A git crate's `source` can so
//! read differently after cargo rewrites the file in a newer version: its users then count as
//! changed, once.

use std::collections::HashMap;

use serde::Deserialize;

use super::{offset_of, Graph, Resolved, Unreadable};
use crate::discover::LockUser;

/// The registry whose crates are labelled `name@version` alone.
const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

#[derive(Deserialize)]
struct Lock {
    version: Option<u32>,
    /// v1 before cargo 0.22: the root package, outside `[[package]]`.
    root: Option<Package>,
    #[serde(default)]
    package: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: String,
    source: Option<String>,
    #[serde(default)]
    dependencies: Vec<String>,
}

pub(super) fn resolve(text: &str, users: &[LockUser]) -> Result<Resolved, Unreadable> {
    let mut lock: Lock =
        toml::from_str(text).map_err(|e| toml_error(text, &e, "is not a Cargo lockfile"))?;
    // No `version` key: v1 or v2, which read alike here.
    if let Some(v) = lock.version.filter(|v| !(1..=4).contains(v)) {
        let message = format!(
            "version {v} is not supported (1 to 4 are): a newer cargo wrote it, or it was edited"
        );
        return Err(Unreadable::at(text, offset_of(text, "version"), message));
    }
    if let Some(root) = lock.root.take() {
        lock.package.push(root);
    }
    let mut graph = Graph::default();
    let mut index = Index::default();
    for (id, package) in lock.package.iter().enumerate() {
        graph.add(label(package))?;
        index.add(id, package);
    }
    for (id, package) in lock.package.iter().enumerate() {
        graph.edges[id] = package
            .dependencies
            .iter()
            .filter_map(|dep| index.find(dep))
            .collect();
    }
    let starts = users
        .iter()
        .map(|user| {
            let local = index.local.get(user.key.as_str())?;
            Some(graph.edges[*local].clone())
        })
        .collect();
    Ok(Resolved { graph, starts })
}

/// A TOML error at its line: `what` and toml's message without its excerpt of the text.
fn toml_error(text: &str, e: &toml::de::Error, what: &str) -> Unreadable {
    let offset = e.span().map_or(0, |s| s.start);
    Unreadable::at(text, offset, format!("{what}: {}", e.message().trim_end()))
}

/// `name@version` for a crates.io crate, `name@version (source)` for another registry or a git
/// revision (whose commit can change under the same version); `None` for a local crate.
fn label(package: &Package) -> Option<String> {
    let source = package.source.as_deref()?;
    Some(if source == CRATES_IO {
        format!("{}@{}", package.name, package.version)
    } else {
        format!("{}@{} ({source})", package.name, package.version)
    })
}

/// The packages by what a `dependencies` entry can name: `name`, `name version` or `name
/// version (source)`, each the first package in file order that matches, as one lookup.
#[derive(Default)]
struct Index<'a> {
    by_name: HashMap<&'a str, usize>,
    by_version: HashMap<(&'a str, &'a str), usize>,
    by_source: HashMap<(&'a str, &'a str, Option<&'a str>), usize>,
    /// The first package of each name without `source`: a workspace or path crate.
    local: HashMap<&'a str, usize>,
}

impl<'a> Index<'a> {
    fn add(&mut self, id: usize, package: &'a Package) {
        let (name, version) = (package.name.as_str(), package.version.as_str());
        let source = package.source.as_deref();
        self.by_name.entry(name).or_insert(id);
        self.by_version.entry((name, version)).or_insert(id);
        self.by_source.entry((name, version, source)).or_insert(id);
        if source.is_none() {
            self.local.entry(name).or_insert(id);
        }
    }

    /// The package a `dependencies` entry names.
    fn find(&self, dep: &str) -> Option<usize> {
        let mut parts = dep.splitn(3, ' ');
        let name = parts.next()?;
        let Some(version) = parts.next() else {
            return self.by_name.get(name).copied();
        };
        match parts.next() {
            None => self.by_version.get(&(name, version)).copied(),
            Some(source) => {
                let source = source.trim_start_matches('(').trim_end_matches(')');
                self.by_source.get(&(name, version, Some(source))).copied()
            }
        }
    }
}

/// The selector, in a manifest user's `direct`, of the root package's own sections.
pub const ROOT_PACKAGE: &str = "<root package>";

/// A key of the root `Cargo.toml` written as TOML writes a dotted key: bare parts as they are,
/// others quoted (`target."cfg(unix)".dependencies.libc`).
pub fn manifest_key<S: AsRef<str>>(parts: &[S]) -> String {
    let mut out = String::new();
    for part in parts {
        let part = part.as_ref();
        if !out.is_empty() {
            out.push('.');
        }
        let bare = !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if bare {
            out.push_str(part);
        } else {
            out.push('"');
            for c in part.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
    }
    out
}

/// The key of a manifest closure entry (`workspace.package.rust-version = 1f3a…`).
pub fn manifest_entry_key(entry: &str) -> &str {
    entry.rsplit_once(" = ").map_or(entry, |(key, _)| key)
}

/// Each user's closure of the workspace's root `Cargo.toml`: a `key = digest` entry for every
/// value of it that reaches the user's build. `users[i].direct` selects what the user inherits
/// (`workspace.package.rust-version`, `workspace.dependencies.serde`, `workspace.lints`) and,
/// for the root package, [`ROOT_PACKAGE`]: its own sections. Every user gets what Cargo applies
/// to every member: `[profile.*]`, `[patch.*]`, `[replace]`, `cargo-features` and the
/// `[workspace]` keys other than `package`, `dependencies`, `lints` and `metadata` (which Cargo
/// ignores); in a virtual manifest also any other top-level key, which Cargo would refuse there.
pub(super) fn manifest_resolve(text: &str, users: &[LockUser]) -> Result<Resolved, Unreadable> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| toml_error(text, &e, "cannot be parsed as Cargo.toml"))?;
    let root_package = table.contains_key("package") || table.contains_key("project");
    let mut every = Vec::new();
    let mut own = Vec::new();
    let mut inherited = Vec::new();
    let mut path = Vec::new();
    for (section, value) in &table {
        path.push(section.as_str());
        match (section.as_str(), value.as_table()) {
            ("workspace", Some(workspace)) => {
                for (key, value) in workspace {
                    path.push(key.as_str());
                    match key.as_str() {
                        "package" | "dependencies" => flatten(&mut inherited, &mut path, value, 1),
                        "lints" => flatten(&mut inherited, &mut path, value, 2),
                        "metadata" => {}
                        _ => flatten(&mut every, &mut path, value, 0),
                    }
                    path.pop();
                }
            }
            ("profile" | "patch", _) => flatten(&mut every, &mut path, value, 2),
            ("replace", _) => flatten(&mut every, &mut path, value, 1),
            ("workspace" | "cargo-features", _) => flatten(&mut every, &mut path, value, 0),
            ("target", _) if root_package => flatten(&mut own, &mut path, value, 3),
            _ if root_package => flatten(&mut own, &mut path, value, 1),
            _ => flatten(&mut every, &mut path, value, 1),
        }
        path.pop();
    }
    drop(table);
    inherited.sort();
    // Entries shared by many members sit behind one unlabelled node each: what every member
    // gets, the root package's own sections, and each selector's keys. A member's closure is
    // then a walk from a few nodes, and the graph is the size of the manifest.
    let mut graph = Graph::default();
    let group = |graph: &mut Graph, entries: Vec<String>| -> Result<usize, Unreadable> {
        let group = graph.add(None)?;
        for entry in entries {
            let node = graph.add(Some(entry))?;
            graph.edges[group].push(node);
        }
        Ok(group)
    };
    let every = group(&mut graph, every)?;
    let own = group(&mut graph, own)?;
    let first_inherited = graph.labels.len();
    for entry in &inherited {
        graph.add(Some(entry.clone()))?;
    }
    let mut selected: HashMap<&str, usize> = HashMap::new();
    let mut starts = Vec::with_capacity(users.len());
    for user in users {
        let mut start = vec![every];
        for selector in &user.direct {
            if selector == ROOT_PACKAGE {
                start.push(own);
                continue;
            }
            if let Some(&node) = selected.get(selector.as_str()) {
                start.push(node);
                continue;
            }
            // The keys a selector takes, a range of the sorted entries: the sum of these ranges
            // over distinct selectors is at most the entries' total length.
            let from = inherited.partition_point(|e: &String| e.as_str() < selector.as_str());
            let node = graph.add(None)?;
            graph.edges[node] = inherited[from..]
                .iter()
                .take_while(|e| e.starts_with(selector.as_str()))
                .enumerate()
                .filter(|(_, e)| {
                    let rest = &e[selector.len()..];
                    rest.starts_with(" = ") || rest.starts_with('.')
                })
                .map(|(i, _)| first_inherited + from + i)
                .collect();
            selected.insert(selector, node);
            start.push(node);
        }
        starts.push(Some(start));
    }
    Ok(Resolved { graph, starts })
}

/// The entries of `value` at `path`: one per value `depth` tables down (an empty table gives
/// none, as Cargo reads it like a missing one), or the value itself when it is no table.
fn flatten<'a>(out: &mut Vec<String>, path: &mut Vec<&'a str>, value: &'a toml::Value, depth: u32) {
    match value {
        toml::Value::Table(table) if depth > 0 => {
            for (key, value) in table {
                path.push(key);
                flatten(out, path, value, depth - 1);
                path.pop();
            }
        }
        _ => {
            let mut h = blake3::Hasher::new_derive_key("shockwave 2027-01 cargo manifest value v1");
            digest_value(&mut h, value);
            let hex = h.finalize().to_hex();
            out.push(format!("{} = {}", manifest_key(path), &hex[..16]));
        }
    }
}

/// Feeds `value` to `h` unambiguously (type tags, lengths, table keys sorted): two values digest
/// alike exactly when Cargo reads them alike, whatever their layout, order or comments.
fn digest_value(h: &mut blake3::Hasher, value: &toml::Value) {
    let bytes = |h: &mut blake3::Hasher, tag: u8, b: &[u8]| {
        h.update(&[tag]);
        h.update(&(b.len() as u64).to_le_bytes());
        h.update(b);
    };
    match value {
        toml::Value::String(s) => bytes(h, b's', s.as_bytes()),
        toml::Value::Integer(i) => bytes(h, b'i', &i.to_le_bytes()),
        toml::Value::Float(f) => bytes(h, b'f', &f.to_bits().to_le_bytes()),
        toml::Value::Boolean(b) => bytes(h, b'b', &[u8::from(*b)]),
        toml::Value::Datetime(d) => bytes(h, b'd', d.to_string().as_bytes()),
        toml::Value::Array(items) => {
            bytes(h, b'a', &(items.len() as u64).to_le_bytes());
            for item in items {
                digest_value(h, item);
            }
        }
        toml::Value::Table(table) => {
            bytes(h, b't', &(table.len() as u64).to_le_bytes());
            let mut keys: Vec<&String> = table.keys().collect();
            keys.sort();
            for key in keys {
                bytes(h, b'k', key.as_bytes());
                digest_value(h, &table[key.as_str()]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{manifest_entry_key, manifest_key, ROOT_PACKAGE};
    use crate::discover::lockfile::closures;
    use crate::discover::{Closure, DiscoverError, LockFormat, LockUser};

    fn manifest_closures(text: &str, users: &[LockUser]) -> Result<Vec<Closure>, DiscoverError> {
        closures(LockFormat::CargoManifest, text.as_bytes(), users)
    }

    fn users(selectors: &[&[&str]]) -> Vec<LockUser> {
        selectors
            .iter()
            .enumerate()
            .map(|(i, sel)| LockUser {
                service: format!("s{i}"),
                key: format!("s{i}/Cargo.toml"),
                direct: sel.iter().map(|s| s.to_string()).collect(),
            })
            .collect()
    }

    fn keys(closure: &crate::discover::Closure) -> Vec<&str> {
        closure.iter().map(|e| manifest_entry_key(e)).collect()
    }

    #[test]
    fn keys_are_written_as_toml_writes_them() {
        assert_eq!(
            manifest_key(&["target", "cfg(unix)", "dependencies", "libc"]),
            "target.\"cfg(unix)\".dependencies.libc"
        );
        assert_eq!(manifest_key(&["a\"b", ""]), "\"a\\\"b\".\"\"");
        assert_eq!(
            manifest_entry_key("patch.\"x = y\".z = 0123456789abcdef"),
            "patch.\"x = y\".z"
        );
    }

    /// A selector takes its key and the keys below it, never a key it is only a prefix of.
    #[test]
    fn selectors_take_whole_keys() {
        let text = r#"
[workspace.dependencies]
serde = "1"
serde-json = "1"
[workspace.lints.rust]
unsafe_code = "forbid"
[workspace.lints.clippy]
pedantic = "warn"
[workspace.metadata.release]
x = 1
[profile.dev]
[profile.release]
lto = true
"#;
        let got = manifest_closures(
            text,
            &users(&[&["workspace.dependencies.serde"], &["workspace.lints"], &[]]),
        )
        .unwrap();
        assert_eq!(
            keys(&got[0]),
            ["profile.release.lto", "workspace.dependencies.serde"]
        );
        assert_eq!(
            keys(&got[1]),
            [
                "profile.release.lto",
                "workspace.lints.clippy.pedantic",
                "workspace.lints.rust.unsafe_code"
            ]
        );
        assert_eq!(
            keys(&got[2]),
            ["profile.release.lto"],
            "an empty table is no entry"
        );
    }

    /// The root package's own sections go to the root package only; in a virtual manifest an
    /// unexpected table goes to every member.
    #[test]
    fn own_sections_and_virtual_manifests() {
        let root = "[package]\nname = \"app\"\n[dependencies]\nx = \"1\"\n[workspace]\nmembers = [\"a\"]\n";
        let got = manifest_closures(root, &users(&[&[ROOT_PACKAGE], &[]])).unwrap();
        assert_eq!(
            keys(&got[0]),
            ["dependencies.x", "package.name", "workspace.members"]
        );
        assert_eq!(keys(&got[1]), ["workspace.members"]);
        let virt = "[workspace]\nmembers = [\"a\"]\n[dependencies]\nx = \"1\"\n";
        let got = manifest_closures(virt, &users(&[&[]])).unwrap();
        assert_eq!(keys(&got[0]), ["dependencies.x", "workspace.members"]);
    }

    /// Layout, order, comments and inline-or-dotted tables digest alike; a value does not.
    #[test]
    fn digests_follow_what_cargo_reads() {
        let sel: &[&[&str]] = &[&["workspace.dependencies.serde"]];
        let a = manifest_closures(
            "[workspace.dependencies]\nserde = { version = \"1\", features = [\"derive\"] }\n",
            &users(sel),
        )
        .unwrap();
        let b = manifest_closures(
            "# deps\n[workspace.dependencies.serde]\nfeatures = ['derive']\nversion = '1'\n",
            &users(sel),
        )
        .unwrap();
        let c = manifest_closures(
            "[workspace.dependencies]\nserde = { version = \"1\", features = [\"std\"] }\n",
            &users(sel),
        )
        .unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(manifest_closures("[workspace\n", &users(sel))
            .unwrap_err()
            .message
            .contains("cannot be parsed as Cargo.toml"));
    }

    /// The shape cargo before 0.22 wrote (as in 2016 lockfiles of real projects): the root package in
    /// `[root]`, every dependency in full, checksums in `[metadata]`.
    #[test]
    fn v1_root_table_is_a_package() {
        let lock = r#"[root]
name = "app"
version = "0.1.0"
dependencies = [
 "memchr 0.1.11 (registry+https://github.com/rust-lang/crates.io-index)",
 "lib 0.1.0",
]

[[package]]
name = "lib"
version = "0.1.0"
dependencies = [
 "libc 0.2.15 (registry+https://github.com/rust-lang/crates.io-index)",
]

[[package]]
name = "libc"
version = "0.2.15"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "memchr"
version = "0.1.11"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = [
 "libc 0.2.15 (registry+https://github.com/rust-lang/crates.io-index)",
]

[metadata]
"checksum libc 0.2.15 (registry+https://github.com/rust-lang/crates.io-index)" = "23e3757828fa702a20072c37ff47938e9dd331b92fac6e223d26d4b7a55f7ee2"
"checksum memchr 0.1.11 (registry+https://github.com/rust-lang/crates.io-index)" = "d8b629fb514376c675b98c1421e80b151d3817ac42d7c667717d282761418d20"
"#;
        let users = ["app", "lib", "gone"].map(|k| LockUser {
            service: k.to_owned(),
            key: k.to_owned(),
            direct: Vec::new(),
        });
        let got = closures(LockFormat::CargoLock, lock.as_bytes(), &users).unwrap();
        let set = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        assert_eq!(got[0], set(&["libc@0.2.15", "memchr@0.1.11"]));
        assert_eq!(got[1], set(&["libc@0.2.15"]));
        assert_eq!(got[2], set(&["<gone not in lockfile>"]));
    }
}
