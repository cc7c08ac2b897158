//! `affected --format json` (schema 1): the range, the changed files, each listed affected unit
//! with its reasons, the unaffected ones and the unowned files. Serde structs streamed straight
//! to stdout ([`Stdout::json`](crate::report::output::Stdout::json)): no document is built, so a
//! range that affects thousands of services costs little more than listing their names.

use std::borrow::Cow;

use bstr::ByteSlice;
use serde::Serialize;

use super::AffectedView;
use crate::report::output::Seq;
use crate::report::reason::ReasonRecord;
use crate::scm::FileStatus;

/// The document. Its fields, and those of the structs below, are declared in alphabetical order
/// because serde writes them in declaration order and earlier versions wrote sorted keys: the
/// output keeps its bytes. The generic fields are arrays streamed from iterators ([`Seq`]).
#[derive(Serialize)]
struct AffectedJson<'v, A, C, U, O> {
    /// [`AffectedUnit`]s, in name order.
    affected: A,
    base: Option<&'v str>,
    /// [`ChangedFileJson`]s, in path order.
    changed_files: C,
    head: &'v str,
    merge_base: Option<String>,
    schema: u32,
    /// Names of the listed units not affected.
    unaffected: U,
    uncommitted: bool,
    /// Changed paths no service owns.
    unowned_files: O,
}

#[derive(Serialize)]
struct AffectedUnit<'v, R> {
    /// `service` or `package`.
    kind: &'static str,
    name: &'v str,
    /// [`ReasonRecord`]s.
    reasons: R,
    root: &'v str,
}

#[derive(Serialize)]
struct ChangedFileJson<'v> {
    /// For renames: where it came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    old_path: Option<Cow<'v, str>>,
    path: Cow<'v, str>,
    status: FileStatus,
}

impl AffectedView<'_> {
    /// The JSON document, to pass to [`Stdout::json`](crate::report::output::Stdout::json).
    pub fn json(&self) -> impl Serialize + '_ {
        let c = self.changes;
        let ws = self.ws;
        AffectedJson {
            affected: Seq(move || {
                self.shown().map(move |id| AffectedUnit {
                    kind: ws.service(id).kind.as_str(),
                    name: self.name(id),
                    reasons: Seq(move || {
                        self.affected
                            .reasons_of(id)
                            .iter()
                            .map(move |r| ReasonRecord::of(ws, r))
                    }),
                    root: &ws.service(id).root,
                })
            }),
            base: c.base.as_deref(),
            changed_files: Seq(move || {
                c.files.iter().map(|f| ChangedFileJson {
                    old_path: f.old_path.as_ref().map(|p| p.to_str_lossy()),
                    path: f.path.to_str_lossy(),
                    status: f.status,
                })
            }),
            head: &c.head,
            merge_base: c.merge_base.map(|m| m.to_string()),
            schema: 1,
            unaffected: Seq(move || {
                ws.service_ids()
                    .filter(move |&i| !self.affected.is_affected(i) && self.listed(i))
                    .map(move |i| self.name(i))
            }),
            uncommitted: c.uncommitted,
            unowned_files: Seq(move || {
                self.affected.unowned_files.iter().map(|p| p.to_str_lossy())
            }),
        }
    }
}
