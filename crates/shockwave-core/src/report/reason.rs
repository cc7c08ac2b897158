//! Why a service is in an affected set or a run, as JSON: the record `affected --format json`,
//! the dry-run plan and run summaries write for each reason, and the Markdown report reads back
//! from a summary. Built from the engine's typed [`Reason`]; nothing here prints.

use std::borrow::Cow;

use bstr::{BString, ByteSlice};
use serde::{Deserialize, Serialize};

use crate::affected::Reason;
use crate::config::Workspace;

/// One reason, whatever its kind: `kind` says which of the other fields are set, and the others
/// are left out. One flat record rather than an enum, so that a summary holding a kind this
/// version does not know (written by a later one) is still read, and reported by its kind.
///
/// The fields are declared in alphabetical order because serde writes them in declaration order
/// and earlier versions wrote each reason with sorted keys: the outputs keep their bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReasonRecord<'a> {
    /// `lockfile`: `name@version` entries of its closure at head that were not at base (the
    /// first ones; `more_added` counts the rest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added: Option<Vec<Cow<'a, str>>>,
    /// `selected`: the flags that selected it (`--all`, `--filter web`, `--service`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<Cow<'a, str>>,
    /// `package`: from the service through the packages that import one another down to the one
    /// holding `path`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<Vec<Cow<'a, str>>>,
    /// `missing_base`, `lockfile_unreadable`, `manifest_unreadable`: what went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Cow<'a, str>>,
    /// `dependency`: `true` when the first edge is a dev-only one (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<bool>,
    /// `lockfile`, `lockfile_unreadable`, `manifest`, `manifest_unreadable`: the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<Cow<'a, str>>,
    /// `manifest`: the dotted key whose value changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Cow<'a, str>>,
    /// `file`, `dependency`, `global`, `unowned`, `missing_base`, `package`, `lockfile`,
    /// `lockfile_unreadable`, `manifest`, `manifest_unreadable` or `selected`.
    pub kind: Cow<'a, str>,
    /// `lockfile`: how many added entries are not listed (absent when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub more_added: Option<u64>,
    /// `lockfile`: how many removed entries are not listed (absent when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub more_removed: Option<u64>,
    /// `file`, `global`, `unowned`, `package`: the changed path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Cow<'a, str>>,
    /// `lockfile`: entries at base that are not at head (see `added`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<Vec<Cow<'a, str>>>,
    /// `lockfile`: `true` when the closure is the root package's (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root: Option<bool>,
    /// `dependency`: the services from the direct dependency to the one that owns a change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Vec<Cow<'a, str>>>,
}

impl<'a> ReasonRecord<'a> {
    /// The record of `r`, borrowing its text and the names of the services it names from `ws`.
    pub fn of(ws: &'a Workspace, r: &'a Reason) -> ReasonRecord<'a> {
        let path = |p: &'a BString| Some(p.to_str_lossy());
        let text = |s: &'a String| Some(Cow::from(s.as_str()));
        let list = |l: &'a [String]| Some(l.iter().map(|s| Cow::from(s.as_str())).collect());
        let count = |n: usize| (n > 0).then_some(n as u64);
        let base = ReasonRecord {
            kind: Cow::from(r.kind()),
            ..ReasonRecord::default()
        };
        match r {
            Reason::File { path: p } | Reason::Global { path: p } | Reason::Unowned { path: p } => {
                ReasonRecord {
                    path: path(p),
                    ..base
                }
            }
            Reason::Dependency { via, dev } => ReasonRecord {
                via: Some(
                    via.iter()
                        .map(|&i| Cow::from(ws.service(i).name.as_str()))
                        .collect(),
                ),
                dev: dev.then_some(true),
                ..base
            },
            Reason::MissingBase { detail } => ReasonRecord {
                detail: text(detail),
                ..base
            },
            Reason::Package { path: p, chain } => ReasonRecord {
                path: path(p),
                chain: list(chain),
                ..base
            },
            Reason::Lockfile {
                file,
                added,
                removed,
                root,
                more_added,
                more_removed,
            } => ReasonRecord {
                added: list(added),
                file: path(file),
                more_added: count(*more_added),
                more_removed: count(*more_removed),
                removed: list(removed),
                root: root.then_some(true),
                ..base
            },
            Reason::LockfileUnreadable { file, detail }
            | Reason::ManifestUnreadable { file, detail } => ReasonRecord {
                detail: text(detail),
                file: path(file),
                ..base
            },
            Reason::Manifest { file, key } => ReasonRecord {
                file: path(file),
                key: text(key),
                ..base
            },
        }
    }

    /// A service selected by name rather than by a change: `by` gives the flags.
    pub fn selected(by: String) -> ReasonRecord<'static> {
        ReasonRecord {
            kind: Cow::from("selected"),
            by: Some(Cow::Owned(by)),
            ..ReasonRecord::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn every_reason() -> (tempfile::TempDir, Workspace, Vec<Reason>) {
        let t = tempfile::tempdir().unwrap();
        for d in ["s/web", "l/auth"] {
            std::fs::create_dir_all(t.path().join(d)).unwrap();
        }
        let text = "[workspace]\nmembers = [\"s/*\", \"l/*\"]\n[services.web]\ndeps = [\"auth\"]\n";
        let ws = crate::config::parse(text, Path::new("pipeline.toml"), t.path()).unwrap();
        let auth = ws.service_id("auth").unwrap();
        let list = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let reasons = vec![
            Reason::File {
                path: "s/web/main.go".into(),
            },
            Reason::Dependency {
                via: vec![auth],
                dev: false,
            },
            Reason::Dependency {
                via: vec![auth],
                dev: true,
            },
            Reason::Global {
                path: "go.work".into(),
            },
            Reason::MissingBase {
                detail: "base `x` is not in this clone".into(),
            },
            Reason::Unowned {
                path: "proto/a.proto".into(),
            },
            Reason::Package {
                path: "l/auth/x/x.go".into(),
                chain: list(&["web", "auth/x"]),
            },
            Reason::Lockfile {
                file: "pnpm-lock.yaml".into(),
                added: list(&["ms@2.1.3"]),
                removed: Vec::new(),
                root: false,
                more_added: 0,
                more_removed: 0,
            },
            Reason::Lockfile {
                file: "pnpm-lock.yaml".into(),
                added: Vec::new(),
                removed: list(&["a@1"]),
                root: true,
                more_added: 3,
                more_removed: 2,
            },
            Reason::LockfileUnreadable {
                file: "yarn.lock".into(),
                detail: "not yarn".into(),
            },
            Reason::Manifest {
                file: "Cargo.toml".into(),
                key: "profile.release.lto".into(),
            },
            Reason::ManifestUnreadable {
                file: "Cargo.toml".into(),
                detail: "line 3".into(),
            },
        ];
        (t, ws, reasons)
    }

    /// Every kind of reason as it is written, pinned to the bytes earlier versions wrote (keys in
    /// sorted order), and read back as the same record.
    #[test]
    fn every_kind_is_written_as_before_and_reads_back() {
        let (_t, ws, reasons) = every_reason();
        let expected = [
            r#"{"kind":"file","path":"s/web/main.go"}"#,
            r#"{"kind":"dependency","via":["auth"]}"#,
            r#"{"dev":true,"kind":"dependency","via":["auth"]}"#,
            r#"{"kind":"global","path":"go.work"}"#,
            r#"{"detail":"base `x` is not in this clone","kind":"missing_base"}"#,
            r#"{"kind":"unowned","path":"proto/a.proto"}"#,
            r#"{"chain":["web","auth/x"],"kind":"package","path":"l/auth/x/x.go"}"#,
            r#"{"added":["ms@2.1.3"],"file":"pnpm-lock.yaml","kind":"lockfile","removed":[]}"#,
            r#"{"added":[],"file":"pnpm-lock.yaml","kind":"lockfile","more_added":3,"more_removed":2,"removed":["a@1"],"root":true}"#,
            r#"{"detail":"not yarn","file":"yarn.lock","kind":"lockfile_unreadable"}"#,
            r#"{"file":"Cargo.toml","key":"profile.release.lto","kind":"manifest"}"#,
            r#"{"detail":"line 3","file":"Cargo.toml","kind":"manifest_unreadable"}"#,
        ];
        assert_eq!(reasons.len(), expected.len());
        let records = reasons
            .iter()
            .map(|r| ReasonRecord::of(&ws, r))
            .chain([ReasonRecord::selected("--all".into())]);
        for (record, want) in records.zip(
            expected
                .iter()
                .chain([&r#"{"by":"--all","kind":"selected"}"#]),
        ) {
            let text = serde_json::to_string(&record).unwrap();
            assert_eq!(&text, want);
            let back: ReasonRecord<'static> = serde_json::from_str(&text).unwrap();
            assert_eq!(back, record);
        }
    }

    /// A kind this version does not know (a later version's summary) is read, with the fields it
    /// shares with known kinds; what it alone has is dropped.
    #[test]
    fn an_unknown_kind_is_read() {
        let r: ReasonRecord<'static> = serde_json::from_str(
            r#"{"kind":"toolchain","path":"rust-toolchain.toml","channel":"1.90"}"#,
        )
        .unwrap();
        assert_eq!(r.kind, "toolchain");
        assert_eq!(r.path.as_deref(), Some("rust-toolchain.toml"));
    }
}
