//! The worktree side of [`resolve`]: a [`Boundary`] is the repository root opened once; each
//! component is opened relative to the directory before it with `O_NOFOLLOW`, so a link swapped
//! in while the walk runs is seen as a link, never followed. On Linux a path without any link is
//! first opened in one `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`, which the kernel refuses
//! as soon as a link is on the way; only then does the walk run.

use std::fs::File;
use std::io::Read as _;
#[cfg(unix)]
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

#[cfg(unix)]
use rustix::fd::OwnedFd;
#[cfg(unix)]
use rustix::fs::{Mode, OFlags};
#[cfg(unix)]
use rustix::io::Errno;

use super::{resolve, Found, Node, Refusal, Walk};

/// The folder no path is resolved out of (the repository root), open.
pub struct Boundary {
    #[cfg(unix)]
    dir: OwnedFd,
    /// Its canonical path.
    path: PathBuf,
    /// Its canonical path as the walk compares absolute links with it: `/`-separated.
    #[cfg(windows)]
    path_bytes: Vec<u8>,
}

/// A regular file opened inside a [`Boundary`].
#[derive(Debug)]
pub struct Opened {
    pub file: File,
    pub len: u64,
    /// Boundary-relative path of the file, links resolved.
    pub path: String,
    /// Whether a symbolic link was followed on the way.
    pub linked: bool,
}

impl Boundary {
    /// Opens the folder at `path` (symlinks in `path` itself are resolved: the boundary is where
    /// they lead).
    pub fn open(path: &Path) -> std::io::Result<Boundary> {
        let path = std::fs::canonicalize(path)?;
        #[cfg(unix)]
        let dir = rustix::fs::open(
            &path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        #[cfg(unix)]
        return Ok(Boundary { dir, path });
        #[cfg(windows)]
        {
            if !std::fs::metadata(&path)?.is_dir() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::NotADirectory,
                    format!("{} is not a folder", path.display()),
                ));
            }
            let path_bytes = crate::platform::path_bytes(&path).into_owned();
            Ok(Boundary { path, path_bytes })
        }
    }

    /// The canonical path of the boundary.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens boundary-relative `rel` if it leads to a regular file inside the boundary; `None`
    /// when there is no such file.
    pub fn open_file(&self, rel: &str) -> Result<Option<Opened>, Refusal> {
        let found = match self.open_direct(rel)? {
            Direct::Opened(file) => Some(Found {
                file,
                path: rel.to_owned(),
                linked: false,
            }),
            Direct::Absent => None,
            Direct::Walk => resolve(self, rel)?,
        };
        Ok(found.map(|found| Opened {
            file: found.file.0,
            len: found.file.1,
            path: found.path,
            linked: found.linked,
        }))
    }

    /// The bytes of boundary-relative `rel` (see [`Boundary::open_file`]), up to `limit`:
    /// `Err(size)` inside when the file is larger.
    pub fn read(&self, rel: &str, limit: u64) -> Result<Option<(Opened, Bytes)>, Refusal> {
        let Some(opened) = self.open_file(rel)? else {
            return Ok(None);
        };
        if opened.len > limit {
            let len = opened.len;
            return Ok(Some((opened, Err(len))));
        }
        let mut bytes = Vec::with_capacity(opened.len as usize);
        // The file may grow between the stat and the read: never read past the limit.
        (&opened.file).take(limit + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > limit {
            let len = bytes.len() as u64;
            return Ok(Some((opened, Err(len))));
        }
        Ok(Some((opened, Ok(bytes))))
    }

    /// The one-call open of a path with no link on the way, where the kernel offers it.
    #[cfg(target_os = "linux")]
    fn open_direct(&self, rel: &str) -> Result<Direct, Refusal> {
        use rustix::fs::ResolveFlags;
        use std::sync::atomic::{AtomicBool, Ordering};
        // Kernels before 5.6 (or a seccomp policy) lack openat2: the walk alone is used then.
        static UNSUPPORTED: AtomicBool = AtomicBool::new(false);
        if UNSUPPORTED.load(Ordering::Relaxed)
            || rel.is_empty()
            || rel
                .split('/')
                .any(|c| matches!(c, "" | "." | "..") || c.eq_ignore_ascii_case(".git"))
        {
            return Ok(Direct::Walk);
        }
        let opened = rustix::fs::openat2(
            &self.dir,
            rel,
            FILE_FLAGS,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
        );
        match opened {
            Ok(fd) => match regular(fd)? {
                Node::File(file) => Ok(Direct::Opened(file)),
                Node::Other(what) => Err(Refusal::NotRegular(what)),
                _ => Err(Refusal::NotRegular("a directory")),
            },
            Err(Errno::NOENT | Errno::NOTDIR) => Ok(Direct::Absent),
            Err(Errno::NXIO) => Err(Refusal::NotRegular("a socket")),
            Err(Errno::NOSYS | Errno::PERM | Errno::INVAL | Errno::TOOBIG | Errno::OPNOTSUPP) => {
                UNSUPPORTED.store(true, Ordering::Relaxed);
                Ok(Direct::Walk)
            }
            // A link on the way (or a race with one): the walk says where it leads.
            Err(_) => Ok(Direct::Walk),
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn open_direct(&self, _rel: &str) -> Result<Direct, Refusal> {
        Ok(Direct::Walk)
    }
}

/// The file's bytes, or its size when it is larger than the limit.
pub type Bytes = Result<Vec<u8>, u64>;

/// A regular file opened, with its size (from the one `fstat` that checked its type).
type Sized = (File, u64);

/// What the one-call open found.
#[cfg_attr(
    not(target_os = "linux"),
    expect(dead_code, reason = "only Linux has the one-call open")
)]
enum Direct {
    Opened(Sized),
    Absent,
    /// Open it component by component.
    Walk,
}

/// Opening the last component: a FIFO must not block, a terminal must not become ours.
#[cfg(unix)]
const FILE_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::NOFOLLOW)
    .union(OFlags::NONBLOCK)
    .union(OFlags::CLOEXEC)
    .union(OFlags::NOCTTY);

/// A directory on the way: the boundary itself, or one opened below it (on Windows: its path,
/// checked not to be a link).
pub enum Dir {
    Root,
    #[cfg(unix)]
    Open(OwnedFd),
    #[cfg(windows)]
    Open(PathBuf),
}

impl Walk for Boundary {
    type Dir = Dir;
    type File = Sized;

    fn root(&self) -> Dir {
        Dir::Root
    }

    #[cfg(unix)]
    fn root_path(&self) -> &[u8] {
        self.path.as_os_str().as_bytes()
    }

    #[cfg(unix)]
    fn lookup(&self, dir: &Dir, name: &[u8], last: bool) -> std::io::Result<Node<Dir, Sized>> {
        let at = match dir {
            Dir::Root => &self.dir,
            Dir::Open(fd) => fd,
        };
        let name = std::ffi::OsStr::from_bytes(name);
        let flags = if last {
            FILE_FLAGS
        } else {
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
        };
        match rustix::fs::openat(at, name, flags, Mode::empty()) {
            Ok(fd) if last => regular(fd),
            Ok(fd) => Ok(Node::Dir(Dir::Open(fd))),
            Err(Errno::NOENT) => Ok(Node::Missing),
            Err(Errno::NXIO) => Ok(Node::Other("a socket")),
            // A link (`O_NOFOLLOW`), or not a directory: which one, the entry itself says.
            Err(e @ (Errno::LOOP | Errno::MLINK | Errno::NOTDIR)) => {
                let stat = rustix::fs::statat(at, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)?;
                match rustix::fs::FileType::from_raw_mode(stat.st_mode) {
                    rustix::fs::FileType::Symlink => {
                        let target = rustix::fs::readlinkat(at, name, Vec::new())?;
                        Ok(Node::Link(target.into_bytes()))
                    }
                    _ if e == Errno::NOTDIR => Ok(Node::Other("not a directory")),
                    _ => Err(e.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    #[cfg(windows)]
    fn root_path(&self) -> &[u8] {
        &self.path_bytes
    }

    /// Windows: each component is checked with `symlink_metadata` and a link's target read with
    /// `read_link`, on paths. A folder swapped for a link between the check and the next step is
    /// not noticed, as there is no `openat` to hold it open; a file is opened without following a
    /// link.
    #[cfg(windows)]
    fn lookup(&self, dir: &Dir, name: &[u8], last: bool) -> std::io::Result<Node<Dir, Sized>> {
        use crate::platform::NoFollow;
        let at = match dir {
            Dir::Root => self.path.join(crate::platform::path(name)),
            Dir::Open(path) => path.join(crate::platform::path(name)),
        };
        let meta = match std::fs::symlink_metadata(&at) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Node::Missing),
            other => other?,
        };
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&at)?;
            return Ok(Node::Link(
                crate::platform::path_bytes(&target).into_owned(),
            ));
        }
        if !last {
            return Ok(if meta.is_dir() {
                Node::Dir(Dir::Open(at))
            } else {
                Node::Other("not a directory")
            });
        }
        if meta.is_dir() {
            return Ok(Node::Other("a directory"));
        }
        let file = File::options().read(true).no_follow(true).open(&at)?;
        let meta = file.metadata()?;
        if meta.is_file() {
            Ok(Node::File((file, meta.len())))
        } else {
            Ok(Node::Other("a special file"))
        }
    }
}

/// The node an opened file is: a regular file, or what else it is.
#[cfg(unix)]
fn regular(fd: OwnedFd) -> std::io::Result<Node<Dir, Sized>> {
    let file = File::from(fd);
    let meta = file.metadata()?;
    if meta.is_file() {
        return Ok(Node::File((file, meta.len())));
    }
    use rustix::fs::FileType;
    use std::os::unix::fs::MetadataExt;
    // The raw mode is 32 bits on Linux and 16 on macOS; the file type bits fit in 16 either way.
    Ok(Node::Other(
        match FileType::from_raw_mode((meta.mode() & 0o170000) as _) {
            FileType::Directory => "a directory",
            FileType::Fifo => "a FIFO",
            FileType::Socket => "a socket",
            FileType::CharacterDevice | FileType::BlockDevice => "a device",
            _ => "a special file",
        },
    ))
}

/// A folder inside a [`Boundary`] (the workspace inside the repository): paths relative to it are
/// resolved inside the boundary.
pub struct Root {
    boundary: Boundary,
    /// The folder, boundary-relative (`""` when they are one).
    prefix: String,
    /// The folder's path as given.
    path: PathBuf,
}

impl Root {
    /// The folder `path` inside the boundary `boundary`; when it is not inside, the folder is its
    /// own boundary.
    pub fn open(path: &Path, boundary: &Path) -> std::io::Result<Root> {
        let real = std::fs::canonicalize(path)?;
        let outer = Boundary::open(boundary)?;
        let prefix = real
            .strip_prefix(outer.path())
            .ok()
            .and_then(Path::to_str)
            .map(|p| p.trim_end_matches('/').to_owned());
        // Boundary-relative paths are `/`-separated, as git writes them.
        #[cfg(windows)]
        let prefix = prefix.map(|p| p.replace('\\', "/"));
        let (boundary, prefix) = match prefix {
            Some(prefix) => (outer, prefix),
            None => (Boundary::open(&real)?, String::new()),
        };
        Ok(Root {
            boundary,
            prefix,
            path: path.to_path_buf(),
        })
    }

    /// The folder's path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The boundary-relative path of folder-relative `rel`.
    pub fn outer(&self, rel: &str) -> String {
        if self.prefix.is_empty() {
            rel.to_owned()
        } else {
            format!("{}/{rel}", self.prefix)
        }
    }

    /// Boundary-relative `path` relative to this folder, when it lies inside it.
    pub fn inner<'a>(&self, path: &'a str) -> Option<&'a str> {
        if self.prefix.is_empty() {
            return Some(path);
        }
        path.strip_prefix(self.prefix.as_str())?.strip_prefix('/')
    }

    /// [`Boundary::open_file`] of folder-relative `rel`.
    pub fn open_file(&self, rel: &str) -> Result<Option<Opened>, Refusal> {
        self.boundary.open_file(&self.outer(rel))
    }

    /// [`Boundary::read`] of folder-relative `rel`.
    pub fn read(&self, rel: &str, limit: u64) -> Result<Option<(Opened, Bytes)>, Refusal> {
        self.boundary.read(&self.outer(rel), limit)
    }
}
