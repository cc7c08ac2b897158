//! `ls`: the services as a table for people (name, kind, ecosystem, root, targets) and as JSON
//! for programs (`schema: 1`), as `turbo ls` lists packages. Pure functions of the workspace.

use std::fmt::Write as _;

use serde::Serialize;

use super::output::Seq;
use crate::config::{ServiceId, Workspace};

/// One service of `ls --format json`.
#[derive(Debug, Serialize)]
pub struct LsEntry<'a> {
    pub name: &'a str,
    /// `service`, or `package` for a Go library package.
    pub kind: &'static str,
    /// `npm`, `pnpm`, `yarn`, `cargo`, `go`, `python`, `java`, `dotnet`, `docker`; `null` for a
    /// service only pipeline.toml declares.
    pub ecosystem: Option<&'static str>,
    /// Workspace-relative, `.` for the workspace root.
    pub root: &'a str,
    /// Sorted.
    pub targets: Vec<&'a str>,
    /// Direct dependencies (normal ones), sorted.
    pub deps: Vec<&'a str>,
}

/// `ls --format json`.
#[derive(Debug, Serialize)]
pub struct LsJson<S> {
    pub schema: u32,
    /// [`LsEntry`]s.
    pub services: S,
}

fn entry(ws: &Workspace, id: ServiceId) -> LsEntry<'_> {
    let s = ws.service(id);
    let mut deps: Vec<&str> = s
        .deps
        .iter()
        .map(|&d| ws.service(d).name.as_str())
        .collect();
    deps.sort_unstable();
    LsEntry {
        name: &s.name,
        kind: s.kind.as_str(),
        ecosystem: s.ecosystem.map(|e| e.as_str()),
        root: super::root_text(&s.root),
        targets: s.targets.keys().map(String::as_str).collect(),
        deps,
    }
}

/// The services `ids` (in name order) as JSON, streamed by
/// [`Stdout::json`](super::output::Stdout::json).
pub fn json<'a>(ws: &'a Workspace, ids: &'a [ServiceId]) -> impl Serialize + 'a {
    LsJson {
        schema: 1,
        services: Seq(move || ids.iter().map(move |&i| entry(ws, i))),
    }
}

/// The services `ids` as an aligned table with a header, then how many there are.
pub fn text(ws: &Workspace, ids: &[ServiceId]) -> String {
    let rows: Vec<[String; 5]> = ids
        .iter()
        .map(|&i| {
            let e = entry(ws, i);
            [
                e.name.to_string(),
                e.kind.to_string(),
                e.ecosystem.unwrap_or("-").to_string(),
                e.root.to_string(),
                if e.targets.is_empty() {
                    "-".to_string()
                } else {
                    e.targets.join(", ")
                },
            ]
        })
        .collect();
    let header = ["NAME", "KIND", "ECOSYSTEM", "ROOT", "TARGETS"].map(str::to_string);
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        for (cell, w) in row.iter().zip(widths) {
            let pad = w - cell.chars().count();
            let _ = write!(out, "{cell}{}  ", " ".repeat(pad));
        }
        let _ = writeln!(out, "{}", row[4]);
    }
    let n = ids.len();
    let _ = writeln!(out, "\n{n} service{}", if n == 1 { "" } else { "s" });
    out
}
