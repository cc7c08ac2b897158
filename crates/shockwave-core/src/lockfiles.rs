//! Lockfiles judged by what they install, not by their bytes: for a changed lockfile, which of
//! its users' resolved external closures changed between base and head (for `affected`), and
//! each user's closure digest at the worktree (for the task hash, in place of the file). A Cargo
//! workspace's root `Cargo.toml` is judged the same way, by the values of it each member's build
//! reads; its changed keys become `manifest` reasons.
//!
//! The root package of an npm, pnpm or yarn workspace is a user of the workspace's lockfile too,
//! without being a service: Node resolves every package's imports up through the root's
//! `node_modules`, so a change of its closure reaches every package that installs through the
//! lockfile ([`root_user`]).
//!
//! Reads lockfiles through `scm` (size-bounded) and resolves them with
//! [`crate::discover::lockfile`]. When a lockfile cannot be read or parsed, every user is
//! assumed changed, with the reason: never a silently empty answer.

use bstr::{BStr, BString, ByteSlice};

use crate::affected::{LockfileImpact, Reason};
use crate::config::{ServiceId, Workspace, ROOT_PACKAGE};
use crate::discover::lockfile::{self, manifest_entry_key, Change, Closures, Comparison};
use crate::discover::{
    declared_dependencies, DiscoverError, LockFormat, LockUser, LockfileUse, MAX_MANIFEST_BYTES,
};
use crate::hash::LockInputs;
use crate::paths::WsPrefix;
use crate::scm::{Changes, FileContent, Repo, Revision, ScmError};

/// The changed paths among the workspace's lockfiles and the services their changes reach.
pub fn impact(
    repo: &Repo,
    changes: &Changes,
    prefix: &WsPrefix,
    ws: &Workspace,
) -> Result<LockfileImpact, ScmError> {
    let uses = ws.lockfiles();
    let mut out = LockfileImpact::default();
    if uses.is_empty() {
        return Ok(out);
    }
    let (base, head) = revisions(repo, changes);
    // Each lockfile is compared once, whether its own path, the file its link leads to, or both
    // changed.
    let mut changed = vec![false; uses.len()];
    for path in changes.paths() {
        let rel = prefix.strip(path);
        let own = rel.and_then(|rel| {
            uses.iter()
                .position(|u| u.path.as_bytes() == rel.as_bytes())
        });
        // The file a link leads to (repository-relative): a change there is the lockfile's.
        let target = || {
            uses.iter().position(|u| {
                u.target
                    .as_deref()
                    .is_some_and(|t| t.as_bytes() == path.as_bytes())
            })
        };
        if let Some(i) = own.or_else(target) {
            changed[i] = true;
            if let Some(rel) = rel {
                out.handled.push(rel.to_owned());
            }
        } else if let Some(rel) = rel.filter(|rel| uses.iter().any(|u| is_go_sum_of(u, rel))) {
            // go.sum only records checksums of what go.mod pins: it changes no build.
            out.handled.push(rel.to_owned());
        }
    }
    if let Some(base) = base {
        for (lock, _) in uses.iter().zip(&changed).filter(|(_, &c)| c) {
            let at = |rev| read_closures(repo, prefix, ws, lock, rev);
            let (old, new) = (at(base)?, at(head)?);
            let root = compare_root(ws, lock, &old, &new);
            out.reasons.extend(compare(ws, lock, old, new));
            out.reasons.extend(root);
        }
    }
    out.handled.sort();
    out.handled.dedup();
    Ok(out)
}

/// Is `rel` the `go.sum` beside a `go.mod` in `uses`?
fn is_go_sum_of(lock: &LockfileUse, rel: &BStr) -> bool {
    lock.format == LockFormat::GoMod
        && lock
            .path
            .strip_suffix("go.mod")
            .is_some_and(|dir| rel.strip_prefix(dir.as_bytes()) == Some(b"go.sum".as_slice()))
}

/// The revisions to compare: the commit the head was compared with (HEAD when only uncommitted
/// changes are asked for) and the head commit or, with `--uncommitted`, the worktree.
fn revisions(repo: &Repo, changes: &Changes) -> (Option<Revision>, Revision) {
    let base = match changes.merge_base {
        Some(id) => Some(Revision::Commit(id)),
        None if changes.uncommitted => repo.head_id(None).ok().map(Revision::Commit),
        None => None,
    };
    let head = match (changes.uncommitted, changes.head_id) {
        (false, Some(id)) => Revision::Commit(id),
        _ => Revision::Worktree,
    };
    (base, head)
}

/// Each user's closure at one revision, then the root package's when it is a user too
/// ([`root_user`]), or why the lockfile cannot be used there.
type Read = Result<Closures, Unreadable>;

/// Why a lockfile cannot be used at one revision: the `detail` of its users' `*_unreadable`
/// reasons.
#[derive(Debug, thiserror::Error)]
enum Unreadable {
    /// Over its format's bound: the size and the bound.
    #[error("it is {size} bytes, more than the {} MiB shockwave reads for a {}", format.max_bytes() >> 20, format.kind())]
    TooLarge { format: LockFormat, size: u64 },
    /// A symbolic link on the way that `scm` refuses to follow.
    #[error("{0}")]
    Refused(String),
    /// Its text, resolved by its format's reader.
    #[error("{}", .0.message)]
    Parse(DiscoverError),
}

fn read_closures(
    repo: &Repo,
    prefix: &WsPrefix,
    ws: &Workspace,
    lock: &LockfileUse,
    revision: Revision,
) -> Result<Read, ScmError> {
    let path = prefix.repo_path(&lock.path);
    let root = root_user(repo, prefix, lock, revision)?;
    Ok(
        match repo.file_at(revision, path.as_bytes().as_bstr(), lock.format.max_bytes())? {
            // A lockfile that does not exist installs nothing; a new or deleted one changes
            // every closure it has entries in.
            FileContent::Absent => Ok(Closures::absent(
                lock.users.len() + usize::from(root.is_some()),
            )),
            FileContent::TooLarge(size) => Err(Unreadable::TooLarge {
                format: lock.format,
                size,
            }),
            FileContent::Refused(why) => Err(Unreadable::Refused(why)),
            FileContent::Bytes(bytes) if is_yarn_v1(lock, &bytes) => {
                let mut users = yarn_v1_users(repo, prefix, ws, lock, revision)?;
                users.extend(root);
                lockfile::read(lock.format, &bytes, &users).map_err(Unreadable::Parse)
            }
            FileContent::Bytes(bytes) => {
                let users: Vec<LockUser> = lock.users.iter().cloned().chain(root).collect();
                lockfile::read(lock.format, &bytes, &users).map_err(Unreadable::Parse)
            }
        },
    )
}

/// Whether `bytes` are a yarn 1 lockfile, which records no workspace: its users' closures
/// start from their manifests' ranges.
fn is_yarn_v1(lock: &LockfileUse, bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    lock.format == LockFormat::YarnLock && head.find(b"# yarn lockfile v1").is_some()
}

/// yarn 1's users at `revision`: each one's declared dependencies as its `package.json` at that
/// revision says, so that each end of a comparison resolves its own ranges. A manifest that is
/// missing or unreadable there keeps the ranges discovery read.
fn yarn_v1_users(
    repo: &Repo,
    prefix: &WsPrefix,
    ws: &Workspace,
    lock: &LockfileUse,
    revision: Revision,
) -> Result<Vec<LockUser>, ScmError> {
    let mut users = lock.users.clone();
    for user in &mut users {
        let Some(id) = ws.service_id(&user.service) else {
            continue;
        };
        let root = &ws.service(id).root;
        let manifest = if root.is_empty() {
            "package.json".to_owned()
        } else {
            format!("{root}/package.json")
        };
        let path = prefix.repo_path(&manifest);
        if let FileContent::Bytes(bytes) =
            repo.file_at(revision, path.as_bytes().as_bstr(), MAX_MANIFEST_BYTES)?
        {
            if let Some(declared) = std::str::from_utf8(&bytes)
                .ok()
                .and_then(declared_dependencies)
            {
                user.direct = declared;
            }
        }
    }
    Ok(users)
}

/// The root package as a user of an npm, pnpm or yarn lockfile, keyed `""` (npm's
/// `packages[""]`, pnpm's importer `.`, yarn berry's `workspace:.` entry); for yarn 1, which
/// records no workspace, its ranges are those of the root `package.json` at `revision`. Its
/// closure is every package's concern: Node resolves a package's imports from the package's
/// folder up through each parent's `node_modules`, the workspace root's included, so the root's
/// (dev) dependencies — the TypeScript, test runner and linter its packages' scripts run — are
/// installed for all of them. `None` for other formats, or when the root is a user already.
fn root_user(
    repo: &Repo,
    prefix: &WsPrefix,
    lock: &LockfileUse,
    revision: Revision,
) -> Result<Option<LockUser>, ScmError> {
    let js = matches!(
        lock.format,
        LockFormat::NpmLock | LockFormat::PnpmLock | LockFormat::YarnLock
    );
    if !js || lock.users.iter().any(|u| u.key.is_empty()) {
        return Ok(None);
    }
    let mut direct = Vec::new();
    if lock.format == LockFormat::YarnLock {
        let path = prefix.repo_path("package.json");
        if let FileContent::Bytes(bytes) =
            repo.file_at(revision, path.as_bytes().as_bstr(), MAX_MANIFEST_BYTES)?
        {
            direct = std::str::from_utf8(&bytes)
                .ok()
                .and_then(declared_dependencies)
                .unwrap_or_default();
        }
    }
    Ok(Some(LockUser {
        service: ROOT_PACKAGE.to_owned(),
        key: String::new(),
        direct,
    }))
}

/// The reasons of the users whose closure differs between `old` and `new`.
fn compare(ws: &Workspace, lock: &LockfileUse, old: Read, new: Read) -> Vec<(ServiceId, Reason)> {
    let file = BString::from(lock.path.as_str());
    let ids = lock.users.iter().map(|u| ws.service_id(&u.service));
    if lock.format == LockFormat::CargoManifest {
        return compare_manifest(ids, file, old, new);
    }
    match (old, new) {
        (Ok(old), Ok(new)) => {
            // One user's two closures at a time: never every user's at once.
            let pair = Comparison::new(&old, &new);
            ids.enumerate()
                .filter_map(|(user, id)| {
                    let Change {
                        added,
                        removed,
                        more_added,
                        more_removed,
                    } = pair.change(user)?;
                    let reason = Reason::Lockfile {
                        file: file.clone(),
                        added,
                        removed,
                        more_added,
                        more_removed,
                        root: false,
                    };
                    Some((id?, reason))
                })
                .collect()
        }
        (Err(detail), _) | (_, Err(detail)) => ids
            .flatten()
            .map(|id| {
                let detail = detail.to_string();
                (
                    id,
                    Reason::LockfileUnreadable {
                        file: file.clone(),
                        detail,
                    },
                )
            })
            .collect(),
    }
}

/// The reasons the root package's closure gives when it differs between `old` and `new`: one
/// for every user of the lockfile, and for the root package itself when it is a service (`//`).
/// An unreadable end gives nothing here: [`compare`] already names it for every user.
fn compare_root(
    ws: &Workspace,
    lock: &LockfileUse,
    old: &Read,
    new: &Read,
) -> Vec<(ServiceId, Reason)> {
    let n = lock.users.len();
    let (Ok(old), Ok(new)) = (old, new) else {
        return Vec::new();
    };
    // The digests first: the listing is built only when the root's closure changed.
    if old.len() <= n || new.len() <= n || old.digest(n) == new.digest(n) {
        return Vec::new();
    }
    let Some(Change {
        added,
        removed,
        more_added,
        more_removed,
    }) = Comparison::new(old, new).change(n)
    else {
        return Vec::new();
    };
    let mut ids: Vec<ServiceId> = lock
        .users
        .iter()
        .filter_map(|u| ws.service_id(&u.service))
        .chain(ws.service_id(ROOT_PACKAGE))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let file = BString::from(lock.path.as_str());
    ids.into_iter()
        .map(|id| {
            let reason = Reason::Lockfile {
                file: file.clone(),
                added: added.clone(),
                removed: removed.clone(),
                more_added,
                more_removed,
                root: true,
            };
            (id, reason)
        })
        .collect()
}

/// [`compare`] for a workspace manifest: a reason per changed key of each user's closure.
fn compare_manifest(
    ids: impl Iterator<Item = Option<ServiceId>>,
    file: BString,
    old: Read,
    new: Read,
) -> Vec<(ServiceId, Reason)> {
    match (old, new) {
        (Ok(old), Ok(new)) => {
            let pair = Comparison::new(&old, &new);
            ids.enumerate()
                .filter_map(|(user, id)| Some((id?, user)))
                .flat_map(|(id, user)| {
                    let (added, removed) = pair.entries(user).unwrap_or_default();
                    let keys: std::collections::BTreeSet<&str> = added
                        .into_iter()
                        .chain(removed)
                        .map(manifest_entry_key)
                        .collect();
                    let keys: Vec<String> = keys.into_iter().map(str::to_owned).collect();
                    let file = file.clone();
                    keys.into_iter().map(move |key| {
                        let file = file.clone();
                        (id, Reason::Manifest { file, key })
                    })
                })
                .collect()
        }
        (Err(detail), _) | (_, Err(detail)) => ids
            .flatten()
            .map(|id| {
                let file = file.clone();
                let detail = detail.to_string();
                (id, Reason::ManifestUnreadable { file, detail })
            })
            .collect(),
    }
}

/// What the task hash takes instead of the lockfiles' bytes, read from the worktree: per
/// service, each lockfile it uses with the digest of its closure there (and, for an npm, pnpm or
/// yarn lockfile, `PATH (root package)` with the root package's: see [`root_user`]), and the
/// paths those digests stand for. A lockfile that cannot be used gives the digest of its bytes
/// (or of why it could not be read), so any change to it still changes the hash.
pub fn lock_inputs(repo: &Repo, prefix: &WsPrefix, ws: &Workspace) -> LockInputs {
    let uses = ws.lockfiles();
    let mut digests = vec![Vec::new(); ws.services().len()];
    for lock in uses {
        let path = prefix.repo_path(&lock.path);
        let content = repo.file_at(
            Revision::Worktree,
            path.as_bytes().as_bstr(),
            lock.format.max_bytes(),
        );
        let root = root_user(repo, prefix, lock, Revision::Worktree).unwrap_or_else(|e| {
            tracing::warn!("{e}: the root package's closure is left out of the task hashes");
            None
        });
        let mut root_digest = None;
        let per_user: Vec<blake3::Hash> = match &content {
            Ok(FileContent::Bytes(bytes)) => {
                let users: Vec<LockUser> = lock.users.iter().cloned().chain(root).collect();
                match lockfile::read(lock.format, bytes, &users) {
                    Ok(closures) => {
                        let n = lock.users.len();
                        if closures.len() > n {
                            root_digest = Some(closures.digest(n));
                        }
                        (0..n).map(|u| closures.digest(u)).collect()
                    }
                    Err(_) => vec![blake3::hash(bytes); lock.users.len()],
                }
            }
            Ok(FileContent::Absent) => vec![lockfile::digest([]); lock.users.len()],
            Ok(FileContent::TooLarge(size)) => {
                vec![blake3::hash(&size.to_le_bytes()); lock.users.len()]
            }
            Ok(FileContent::Refused(why)) => {
                tracing::warn!("{}: {why}", lock.path);
                vec![blake3::hash(why.as_bytes()); lock.users.len()]
            }
            Err(e) => {
                tracing::warn!("{e}: its users' tasks will not match the cache");
                vec![blake3::hash(e.to_string().as_bytes()); lock.users.len()]
            }
        };
        for (user, digest) in lock.users.iter().zip(per_user) {
            if let Some(id) = ws.service_id(&user.service) {
                digests[id.index()].push((lock.path.clone(), digest));
                if let Some(root) = root_digest {
                    digests[id.index()].push((format!("{} (root package)", lock.path), root));
                }
            }
        }
    }
    for list in &mut digests {
        list.sort_by(|a, b| a.0.cmp(&b.0));
    }
    let replaced = ws
        .services()
        .iter()
        .map(|s| replaced_paths(uses, prefix, &s.name))
        .collect();
    LockInputs { digests, replaced }
}

/// The workspace-relative paths whose bytes a service's task hash leaves out, because their
/// closure digest stands for them: the lockfiles it uses (and the files their links lead to),
/// and the `go.sum` beside a `go.mod`.
fn replaced_paths(uses: &[LockfileUse], prefix: &WsPrefix, service: &str) -> Vec<String> {
    let mut out = Vec::new();
    for lock in uses {
        if lock.users.iter().any(|u| u.service == service) {
            out.push(lock.path.clone());
            if let Some(target) = lock.target.as_deref() {
                if let Some(rel) = prefix.strip(target.as_bytes().as_bstr()) {
                    out.push(rel.to_str_lossy().into_owned());
                }
            }
            if lock.format == LockFormat::GoMod {
                let dir = lock.path.strip_suffix("go.mod").unwrap_or("");
                out.push(format!("{dir}go.sum"));
            }
        }
    }
    out.sort();
    out
}
