//! `yarn.lock`, v1 (yarn's own format) and berry (yarn 2+, YAML), read with the
//! `yarn-lock-parser` crate. Entries are keyed by the descriptors that resolve to them
//! (`ms@^2.0.0`, `ms@npm:^2.0.0`) and list their dependencies as descriptors too.
//!
//! berry records each workspace (`a@workspace:packages/a`, version `0.0.0-use.local`) with all
//! its dependencies, so a user starts there. v1 records no workspace, so a user starts from the
//! `name@range` descriptors discovery read from its manifest ([`LockUser::direct`]).

use std::borrow::Cow;
use std::collections::HashMap;

use super::{offset_of, package_label, split_at_version, Graph, Resolved, Unreadable};
use crate::discover::LockUser;

/// The lockfile versions understood: 1 (yarn classic) and berry's `__metadata.version` from
/// yarn 2 (4) to yarn 4 (8 and later revisions of it).
const BERRY_VERSIONS: std::ops::RangeInclusive<u8> = 4..=10;

pub(super) fn resolve(text: &str, users: &[LockUser]) -> Result<Resolved, Unreadable> {
    let text = with_final_newline(text);
    let lock = yarn_lock_parser::parse_str(&text).map_err(|e| {
        Unreadable::at(
            &text,
            error_offset(&text, &e),
            format!("is not a yarn lockfile ({e}): regenerate it with `yarn install`"),
        )
    })?;
    if lock.version != 1 && !BERRY_VERSIONS.contains(&lock.version) {
        let message = format!(
            "__metadata version {} is not supported (1 and 4 to 10 are): regenerate it with \
             yarn 1 to 4 (`yarn install`)",
            lock.version
        );
        return Err(Unreadable::at(
            &text,
            offset_of(&text, "__metadata"),
            message,
        ));
    }
    let berry = lock.version != 1;
    let mut graph = Graph::default();
    let mut ids: HashMap<(&str, &str), usize> = HashMap::new();
    let mut workspaces: HashMap<&str, usize> = HashMap::new();
    for entry in &lock.entries {
        let local = entry
            .descriptors
            .iter()
            .any(|(_, range)| range.starts_with("workspace:"));
        let label =
            (!local).then(|| package_label(entry.name, entry.version, Some(entry.resolved)));
        let id = graph.add(label)?;
        for &descriptor in &entry.descriptors {
            ids.insert(descriptor, id);
        }
        if local {
            workspaces.insert(entry.name, id);
            // The root workspace, whatever its name, is also the root package's user (key "").
            if entry
                .descriptors
                .iter()
                .any(|&(_, range)| range == "workspace:.")
            {
                workspaces.insert("", id);
            }
        }
    }
    let find = |name: &str, range: &str| -> Option<usize> {
        ids.get(&(name, range)).copied().or_else(|| {
            // Manifests write `^2.0.0`; berry's descriptors carry the protocol.
            berry.then(|| ids.get(&(name, format!("npm:{range}").as_str())).copied())?
        })
    };
    for (id, entry) in lock.entries.iter().enumerate() {
        let deps = entry
            .dependencies
            .iter()
            .chain(&entry.optional_dependencies);
        graph.edges[id] = deps.filter_map(|(name, range)| find(name, range)).collect();
    }
    let starts = users
        .iter()
        .map(|user| {
            if let Some(&workspace) = workspaces.get(user.key.as_str()) {
                return Some(graph.edges[workspace].clone());
            }
            if berry {
                return None;
            }
            let direct = user.direct.iter().filter_map(|spec| split_at_version(spec));
            Some(
                direct
                    .filter_map(|(name, range)| find(name, range))
                    .collect(),
            )
        })
        .collect();
    Ok(Resolved { graph, starts })
}

/// `text` ending in a newline, as yarn writes it. The parser reads a last line without one a
/// character at a time, searching the rest of the text for a line end at each: quadratic in
/// the line's length (18 s for a 200 KB line). With the newline the last line is read like
/// every other.
pub(crate) fn with_final_newline(text: &str) -> Cow<'_, str> {
    if text.is_empty() || text.ends_with('\n') {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(format!("{text}\n"))
    }
}

/// Where the yarn.lock parser stopped: its errors carry the rest of the text from there (the
/// innermost first), which gives the offset.
pub(crate) fn error_offset(text: &str, error: &yarn_lock_parser::YarnLockError) -> usize {
    let yarn_lock_parser::YarnLockError::Parser { source } = error;
    let rest = match source {
        nom::Err::Error(e) | nom::Err::Failure(e) => e.errors.first().map(|(rest, _)| rest.len()),
        nom::Err::Incomplete(_) => None,
    };
    rest.map_or(0, |r| text.len().saturating_sub(r))
}
