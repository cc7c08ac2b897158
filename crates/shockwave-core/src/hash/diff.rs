//! Why did a task's hash change between two runs? Compares two task listings — `hash --json`
//! outputs or run summaries, which both list tasks with their fingerprints — and says, as typed
//! differences, which tasks and which of their inputs differ. Wording them is `report`'s work;
//! nothing here reads files or prints.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::FingerprintRecord;

/// The tasks of one listing, by label: each one's hash and fingerprint (`None` when the listing
/// recorded none).
#[derive(Debug, Default)]
pub struct Listing {
    tasks: BTreeMap<String, (String, Option<FingerprintRecord<'static>>)>,
}

/// Why a text is not a task listing.
#[derive(Debug, thiserror::Error)]
pub enum ListingError {
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("no `tasks` list")]
    NoTasks,
    #[error("a task without `task`")]
    Unnamed,
}

/// What a listing is read as: the part `hash --json` outputs and run summaries share (their
/// other fields are skipped unread).
#[derive(Deserialize)]
struct ListingDoc {
    tasks: Option<Vec<ListedTask>>,
}

/// One task of either listing: `task` and `hash` as both write them, and the fingerprint as
/// [`FingerprintRecord`] writes it.
#[derive(Deserialize)]
struct ListedTask {
    task: Option<String>,
    #[serde(default)]
    hash: String,
    #[serde(default)]
    fingerprint: Option<FingerprintRecord<'static>>,
}

impl Listing {
    pub fn parse(text: &str) -> Result<Listing, ListingError> {
        let doc: ListingDoc = serde_json::from_str(text)?;
        let mut out = BTreeMap::new();
        for t in doc.tasks.ok_or(ListingError::NoTasks)? {
            let label = t.task.ok_or(ListingError::Unnamed)?;
            out.insert(label, (t.hash, t.fingerprint));
        }
        Ok(Listing { tasks: out })
    }
}

/// How listing B differs from listing A.
#[derive(Debug, PartialEq, Eq)]
pub struct ListingDiff {
    /// Tasks only in A or with another hash (by label), then tasks only in B.
    pub tasks: Vec<TaskDiff>,
    /// Tasks in both with the same hash.
    pub same: usize,
}

#[derive(Debug, PartialEq, Eq)]
pub enum TaskDiff {
    OnlyInA(String),
    OnlyInB(String),
    /// The hash changed; `inputs` is empty when neither listing says why (no fingerprints).
    Changed {
        label: String,
        from: String,
        to: String,
        inputs: Vec<InputDiff>,
    },
}

/// One input of a task that differs, in the order the fingerprint lists them.
#[derive(Debug, PartialEq, Eq)]
pub enum InputDiff {
    /// `version`, `command`, `root` or `outputs`; `None` where a listing lacks the field.
    Field {
        name: &'static str,
        from: Option<Value>,
        to: Option<Value>,
    },
    /// A declared variable. Values are never compared in clear, only their digests.
    Env {
        name: String,
        from: EnvState,
        to: EnvState,
    },
    /// The global inputs (files matching `workspace.global_inputs`).
    Global,
    Need {
        label: String,
        change: Change,
    },
    File {
        path: String,
        change: FileChange,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvState {
    NotDeclared,
    Unset,
    Set,
}

/// What happened to a needed task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Removed,
    /// Its hash changed (its own entry says why).
    Changed,
}

#[derive(Debug, PartialEq, Eq)]
pub enum FileChange {
    Added,
    Removed,
    Changed { from: FileEntry, to: FileEntry },
}

/// A file's entry in a fingerprint: `"<mode> <content id>"`, or just the id in older listings
/// (then `mode` is empty).
#[derive(Debug, PartialEq, Eq)]
pub struct FileEntry {
    pub mode: String,
    pub id: String,
}

impl FileEntry {
    fn of(s: &str) -> FileEntry {
        match s.split_once(' ') {
            Some((mode, id)) => FileEntry {
                mode: mode.to_string(),
                id: id.to_string(),
            },
            None => FileEntry {
                mode: String::new(),
                id: s.to_string(),
            },
        }
    }
}

/// Compares every task of `a` with the task of the same label in `b`.
pub fn diff(a: &Listing, b: &Listing) -> ListingDiff {
    let mut tasks = Vec::new();
    let mut same = 0;
    for (label, (ha, fa)) in &a.tasks {
        match b.tasks.get(label) {
            None => tasks.push(TaskDiff::OnlyInA(label.clone())),
            Some((hb, _)) if hb == ha => same += 1,
            Some((hb, fb)) => tasks.push(TaskDiff::Changed {
                label: label.clone(),
                from: ha.clone(),
                to: hb.clone(),
                inputs: diff_fingerprints(fa, fb),
            }),
        }
    }
    for label in b.tasks.keys().filter(|l| !a.tasks.contains_key(*l)) {
        tasks.push(TaskDiff::OnlyInB(label.clone()));
    }
    ListingDiff { tasks, same }
}

/// The inputs that differ between two fingerprints; a listing without one counts as one with no
/// fields. Every field is named here (no `..`), so a field added to the record does not compile
/// until it is compared.
fn diff_fingerprints(
    a: &Option<FingerprintRecord<'_>>,
    b: &Option<FingerprintRecord<'_>>,
) -> Vec<InputDiff> {
    let none = FingerprintRecord::default();
    let FingerprintRecord {
        command: command_a,
        env: env_a,
        files: files_a,
        global: global_a,
        lockfiles: lockfiles_a,
        needs: needs_a,
        outputs: outputs_a,
        root: root_a,
        version: version_a,
    } = a.as_ref().unwrap_or(&none);
    let FingerprintRecord {
        command: command_b,
        env: env_b,
        files: files_b,
        global: global_b,
        lockfiles: lockfiles_b,
        needs: needs_b,
        outputs: outputs_b,
        root: root_b,
        version: version_b,
    } = b.as_ref().unwrap_or(&none);
    let mut out = Vec::new();
    let mut field = |name: &'static str, from: Option<Value>, to: Option<Value>| {
        if from != to {
            out.push(InputDiff::Field { name, from, to });
        }
    };
    field("version", json(version_a), json(version_b));
    field("command", json(command_a), json(command_b));
    field("root", json(root_a), json(root_b));
    field("outputs", json(outputs_a), json(outputs_b));
    field("lockfiles", json(lockfiles_a), json(lockfiles_b));
    let env_state = |v: Option<&Option<_>>| match v {
        None => EnvState::NotDeclared,
        Some(None) => EnvState::Unset,
        Some(Some(_)) => EnvState::Set,
    };
    for (name, x, y) in changed_keys(env_a, env_b) {
        out.push(InputDiff::Env {
            name,
            from: env_state(x),
            to: env_state(y),
        });
    }
    if global_a != global_b {
        out.push(InputDiff::Global);
    }
    for (label, x, y) in changed_keys(needs_a, needs_b) {
        if let Some(change) = change(x, y) {
            out.push(InputDiff::Need { label, change });
        }
    }
    for (path, x, y) in changed_keys(files_a, files_b) {
        let change = match (x, y) {
            (Some(x), Some(y)) => FileChange::Changed {
                from: FileEntry::of(x),
                to: FileEntry::of(y),
            },
            (None, _) => FileChange::Added,
            (_, None) => FileChange::Removed,
        };
        out.push(InputDiff::File { path, change });
    }
    out
}

/// A field's value as the JSON it was read from, for [`InputDiff::Field`].
fn json<T: serde::Serialize>(v: &Option<T>) -> Option<Value> {
    v.as_ref().and_then(|v| serde_json::to_value(v).ok())
}

fn change<T>(a: Option<T>, b: Option<T>) -> Option<Change> {
    match (a, b) {
        (Some(_), Some(_)) => Some(Change::Changed),
        (None, Some(_)) => Some(Change::Added),
        (Some(_), None) => Some(Change::Removed),
        (None, None) => None,
    }
}

/// The keys whose values differ between `a` and `b`, sorted, with both values.
fn changed_keys<'m, K: Ord + ToString, V: PartialEq>(
    a: &'m BTreeMap<K, V>,
    b: &'m BTreeMap<K, V>,
) -> Vec<(String, Option<&'m V>, Option<&'m V>)> {
    let mut keys: Vec<&K> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (x, y) = (a.get(k), b.get(k));
            (x != y).then(|| (k.to_string(), x, y))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(text: &str) -> Listing {
        Listing::parse(text).unwrap()
    }

    #[test]
    fn names_each_input_that_differs() {
        let a = listing(
            r#"{"tasks": [{"task": "a:build", "hash": "1", "fingerprint": {"command": "make",
            "env": {"TOKEN": "set, blake3:1", "MODE": null}, "needs": {"b:build": "x"},
            "files": {"src/a.c": "100644 aaa", "old.c": "100644 bbb"}, "global": "g"}},
            {"task": "gone:build", "hash": "2"}]}"#,
        );
        let b = listing(
            r#"{"tasks": [{"task": "a:build", "hash": "3", "fingerprint": {"command": "make -j",
            "env": {"TOKEN": "set, blake3:2", "MODE": "set, blake3:3"}, "needs": {"b:build": "y",
            "c:build": "z"}, "files": {"src/a.c": "100755 aaa", "new.c": "100644 ccc"},
            "global": "g"}}, {"task": "new:build", "hash": "4"}]}"#,
        );
        let d = diff(&a, &b);
        assert_eq!(d.same, 0);
        let [TaskDiff::Changed { inputs, .. }, TaskDiff::OnlyInA(gone), TaskDiff::OnlyInB(new)] =
            &d.tasks[..]
        else {
            panic!("{:?}", d.tasks);
        };
        assert_eq!((gone.as_str(), new.as_str()), ("gone:build", "new:build"));
        let entry = |mode: &str, id: &str| FileEntry {
            mode: mode.into(),
            id: id.into(),
        };
        assert_eq!(
            inputs,
            &[
                InputDiff::Field {
                    name: "command",
                    from: Some("make".into()),
                    to: Some("make -j".into()),
                },
                InputDiff::Env {
                    name: "MODE".into(),
                    from: EnvState::Unset,
                    to: EnvState::Set,
                },
                InputDiff::Env {
                    name: "TOKEN".into(),
                    from: EnvState::Set,
                    to: EnvState::Set,
                },
                InputDiff::Need {
                    label: "b:build".into(),
                    change: Change::Changed,
                },
                InputDiff::Need {
                    label: "c:build".into(),
                    change: Change::Added,
                },
                InputDiff::File {
                    path: "new.c".into(),
                    change: FileChange::Added,
                },
                InputDiff::File {
                    path: "old.c".into(),
                    change: FileChange::Removed,
                },
                InputDiff::File {
                    path: "src/a.c".into(),
                    change: FileChange::Changed {
                        from: entry("100644", "aaa"),
                        to: entry("100755", "aaa"),
                    },
                },
            ]
        );
    }

    #[test]
    fn equal_hashes_are_counted_not_listed() {
        let a = listing(r#"{"tasks": [{"task": "a:build", "hash": "1"}]}"#);
        assert_eq!(
            diff(&a, &a),
            ListingDiff {
                tasks: Vec::new(),
                same: 1
            }
        );
    }

    #[test]
    fn other_documents_are_refused() {
        assert!(matches!(Listing::parse("{}"), Err(ListingError::NoTasks)));
        assert!(matches!(
            Listing::parse(r#"{"tasks": [{"hash": "1"}]}"#),
            Err(ListingError::Unnamed)
        ));
        assert!(matches!(Listing::parse("["), Err(ListingError::Json(_))));
    }
}
