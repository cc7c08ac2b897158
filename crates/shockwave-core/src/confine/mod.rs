//! Reading a file of the repository by a path the repository itself supplies — a manifest, a
//! lockfile, `pipeline.toml` — which is untrusted input: a committed symbolic link may point
//! anywhere (`/proc/self/environ`, `~/.npmrc`, `.git/config`).
//!
//! A path is resolved one component at a time from the repository root. A symbolic link is
//! followed only while its target stays inside the repository and out of `.git`; a link that
//! leaves, enters `.git`, dangles or loops is a [`Refusal`], and nothing past it is opened. What
//! is reached must be a regular file. The same walk serves the worktree ([`disk`]) and a commit's
//! tree (`scm`), so both ends of a comparison read the same file.
//!
//! This module never prints and never decides what a refusal means to the caller: discovery makes
//! it an error at the manifest, lockfile comparison a reason.

mod disk;

pub use disk::{Boundary, Root};

use std::fmt;

/// The most symbolic links followed for one path, as Linux's `MAXSYMLINKS`.
const MAX_LINKS: usize = 40;

/// The longest link target quoted in a message.
const QUOTED_TARGET: usize = 200;

/// What one component of a path is, as a [`Walk`] sees it.
pub enum Node<D, F> {
    Missing,
    Dir(D),
    File(F),
    /// A symbolic link, with its target as written.
    Link(Vec<u8>),
    /// Something else: `"a FIFO"`, `"a submodule"`.
    Other(&'static str),
}

/// A tree of directories to resolve paths in: the worktree below an open directory, or a commit.
pub trait Walk {
    type Dir;
    type File;
    /// The boundary itself.
    fn root(&self) -> Self::Dir;
    /// Its absolute path, so that an absolute link into it can be followed.
    fn root_path(&self) -> &[u8];
    /// The entry `name` of `dir`. `last`: the path ends here, so a file is wanted (opened, for a
    /// backend that opens).
    fn lookup(
        &self,
        dir: &Self::Dir,
        name: &[u8],
        last: bool,
    ) -> std::io::Result<Node<Self::Dir, Self::File>>;
}

/// A file reached inside the boundary.
#[derive(Debug)]
pub struct Found<F> {
    pub file: F,
    /// Its path relative to the boundary, links resolved (the asked path when none was followed).
    pub path: String,
    /// Whether a symbolic link was followed on the way.
    pub linked: bool,
}

/// A symbolic link on the way to a file, for messages: where it is and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Boundary-relative path of the link.
    pub at: String,
    /// Its target as written (lossily UTF-8, control characters escaped, long ones shortened).
    pub target: String,
}

/// Why a path was not read.
#[derive(Debug)]
pub enum Refusal {
    /// A symbolic link on the way leads outside the boundary.
    Leaves(Link),
    /// The path, or a link on the way, leads into `.git`, whose files (its `config` may hold
    /// credentials) are never read as a manifest.
    GitDir(Option<Link>),
    /// A symbolic link on the way points to nothing.
    Dangling(Link),
    /// More than [`MAX_LINKS`] links on the way: a loop.
    TooManyLinks(Link),
    /// What the path leads to is not a regular file (`"a directory"`, `"a FIFO"`).
    NotRegular(&'static str),
    /// The filesystem or the object database failed.
    Io(std::io::Error),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Leaves(l) => write!(
                f,
                "it leads outside the repository: `{}` is a symbolic link to `{}`; only files inside the repository are read: commit the file itself, or a link to a file inside the repository",
                l.at, l.target
            ),
            Refusal::GitDir(Some(l)) => write!(
                f,
                "it leads into `.git`: `{}` is a symbolic link to `{}`; git's own files are never read: commit the file itself",
                l.at, l.target
            ),
            Refusal::GitDir(None) => write!(f, "it is inside `.git`, whose files are never read"),
            Refusal::Dangling(l) => write!(
                f,
                "`{}` is a symbolic link to `{}`, which does not exist: fix the link or commit the file itself",
                l.at, l.target
            ),
            Refusal::TooManyLinks(l) => write!(
                f,
                "more than {MAX_LINKS} symbolic links on the way (a loop through `{}` → `{}`): fix the links",
                l.at, l.target
            ),
            Refusal::NotRegular(what) => write!(f, "it is not a regular file ({what})"),
            Refusal::Io(e) => write!(f, "failed to read it: {e}"),
        }
    }
}

impl From<std::io::Error> for Refusal {
    fn from(e: std::io::Error) -> Self {
        Refusal::Io(e)
    }
}

/// Resolves boundary-relative `rel` (`/`-separated) in `walk`: the regular file it leads to,
/// `None` when there is none, or why it is not read.
pub fn resolve<W: Walk>(walk: &W, rel: &str) -> Result<Option<Found<W::File>>, Refusal> {
    // Components still to walk, last first, each with the link whose target it came from.
    let mut pending: Vec<(Vec<u8>, Option<usize>)> = rel
        .split('/')
        .rev()
        .map(|c| (c.as_bytes().to_vec(), None))
        .collect();
    let mut links: Vec<Link> = Vec::new();
    // The directories walked into and their names: the path so far.
    let mut dirs: Vec<W::Dir> = vec![walk.root()];
    let mut names: Vec<Vec<u8>> = Vec::new();
    while let Some((name, from)) = pending.pop() {
        let link = |links: &[Link]| from.map(|i| links[i].clone());
        match name.as_slice() {
            b"" | b"." => continue,
            b".." => {
                if names.pop().is_none() {
                    return Err(match link(&links) {
                        Some(l) => Refusal::Leaves(l),
                        None => Refusal::Io(std::io::Error::other(
                            "the path climbs above the repository root",
                        )),
                    });
                }
                dirs.pop();
                continue;
            }
            n if n.eq_ignore_ascii_case(b".git") => return Err(Refusal::GitDir(link(&links))),
            _ => {}
        }
        let last = pending.iter().all(|(n, _)| n.is_empty() || n == b".");
        let dir = dirs
            .last()
            .unwrap_or_else(|| unreachable!("the root is never popped"));
        match walk.lookup(dir, &name, last)? {
            Node::Missing => {
                return match link(&links) {
                    Some(l) => Err(Refusal::Dangling(l)),
                    None => Ok(None),
                }
            }
            Node::Dir(d) if !last => {
                dirs.push(d);
                names.push(name);
            }
            Node::Dir(_) => return Err(Refusal::NotRegular("a directory")),
            Node::File(file) if last => {
                names.push(name);
                let path = names
                    .iter()
                    .map(|n| String::from_utf8_lossy(n))
                    .collect::<Vec<_>>()
                    .join("/");
                return Ok(Some(Found {
                    file,
                    path,
                    linked: !links.is_empty(),
                }));
            }
            // `a/b` where `a` is a file: no such path, as the filesystem says.
            Node::File(_) | Node::Other(_) if !last => {
                return match link(&links) {
                    Some(l) => Err(Refusal::Dangling(l)),
                    None => Ok(None),
                }
            }
            Node::Other(what) => return Err(Refusal::NotRegular(what)),
            Node::File(_) => unreachable!("a file with `last` set returned above"),
            Node::Link(target) => {
                let mut at = names.clone();
                at.push(name);
                let link = Link {
                    at: at
                        .iter()
                        .map(|n| String::from_utf8_lossy(n))
                        .collect::<Vec<_>>()
                        .join("/"),
                    target: quoted(&target),
                };
                if links.len() >= MAX_LINKS {
                    return Err(Refusal::TooManyLinks(link));
                }
                links.push(link);
                let index = links.len() - 1;
                let relative = if target.first() == Some(&b'/') {
                    // An absolute link is followed only into the boundary, from its root.
                    let root = walk.root_path();
                    let inside = target
                        .strip_prefix(root)
                        .filter(|rest| rest.is_empty() || rest[0] == b'/');
                    let Some(rest) = inside else {
                        return Err(Refusal::Leaves(links[index].clone()));
                    };
                    dirs.truncate(1);
                    names.clear();
                    rest.to_vec()
                } else {
                    target
                };
                if relative.is_empty() {
                    return Err(Refusal::Dangling(links[index].clone()));
                }
                pending.extend(
                    relative
                        .split(|&b| b == b'/')
                        .rev()
                        .map(|c| (c.to_vec(), Some(index))),
                );
            }
        }
    }
    // The path named the boundary itself (`""`, `.`).
    Err(Refusal::NotRegular("a directory"))
}

/// A link target as quoted in a message: lossily UTF-8, control characters escaped, shortened.
fn quoted(target: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(target)
        .chars()
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().count() <= QUOTED_TARGET {
        return text;
    }
    let head: String = text.chars().take(QUOTED_TARGET).collect();
    format!("{head}…")
}

#[cfg(test)]
mod tests;
