//! The Linux backend: directories are `OwnedFd`s (each closed exactly once), subdirectories are
//! opened and names stat'ed relative to them (`openat`, `fstatat`), and listings come from
//! `getdents64`, with none of the `DIR` allocation and extra `fstat`/`fcntl` calls `fdopendir`
//! makes, which add up over tens of thousands of directories. Every `unsafe` block of the scan is
//! in this file; what leaves it is safe.
#![expect(
    unsafe_code,
    reason = "the raw directory syscalls of the Linux scan, wrapped in a safe API"
)]

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::{Entry, Kind, ListEntries, OpenDir, Stat};

/// An open directory.
pub struct Dir(OwnedFd);

impl OpenDir for Dir {
    type Entries<'d> = Entries<'d>;

    fn open(path: &Path) -> io::Result<Dir> {
        let c = std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
        // SAFETY: a valid NUL-terminated path; on success the descriptor is new and owned by us.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        owned(fd)
    }

    fn open_child(&self, name: &CStr) -> io::Result<Dir> {
        // SAFETY: our descriptor is open for the duration of the call, `name` is NUL-terminated;
        // on success the descriptor is new and owned by us.
        let fd = unsafe {
            libc::openat(
                self.0.as_raw_fd(),
                name.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC | libc::O_NOFOLLOW,
            )
        };
        owned(fd)
    }

    fn stat_child(&self, name: &CStr) -> Option<Stat> {
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: an open directory, a NUL-terminated name, and a buffer of the right type.
        let rc = unsafe {
            libc::fstatat(
                self.0.as_raw_fd(),
                name.as_ptr(),
                st.as_mut_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if rc != 0 {
            return None;
        }
        // SAFETY: fstatat filled the buffer when it returned 0.
        let st = unsafe { st.assume_init() };
        Some(Stat {
            kind: match st.st_mode & libc::S_IFMT {
                libc::S_IFREG => Kind::File,
                libc::S_IFDIR => Kind::Dir,
                libc::S_IFLNK => Kind::Symlink,
                _ => Kind::Other,
            },
            executable: st.st_mode & 0o100 != 0,
            // Never negative; `as` keeps the bits, and the index keeps only the low 32 anyway.
            size: st.st_size as u64,
            ino: st.st_ino,
            mtime: (st.st_mtime, st.st_mtime_nsec),
            ctime: (st.st_ctime, st.st_ctime_nsec),
            nlink: nlink(st.st_nlink),
        })
    }

    fn entries(&self) -> Entries<'_> {
        Entries {
            fd: self.0.as_fd(),
            buf: Box::new(DirentBuf([std::mem::MaybeUninit::uninit(); BUF_LEN])),
            len: 0,
            pos: 0,
            done: false,
        }
    }
}

fn owned(fd: libc::c_int) -> io::Result<Dir> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by a successful open and nothing else owns it.
    Ok(Dir(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Size of one `getdents64` read.
const BUF_LEN: usize = 8192;

/// Aligned like the `linux_dirent64` records the kernel writes into it (its `u64` fields).
#[repr(align(8))]
struct DirentBuf([std::mem::MaybeUninit<u8>; BUF_LEN]);

/// A `getdents64` listing. The buffer lives on the heap, so a scan's depth never costs stack.
pub struct Entries<'fd> {
    fd: BorrowedFd<'fd>,
    buf: Box<DirentBuf>,
    len: usize,
    pos: usize,
    done: bool,
}

impl ListEntries for Entries<'_> {
    fn next_entry(&mut self) -> io::Result<Option<Entry<'_>>> {
        // struct linux_dirent64 { u64 d_ino; i64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
        const NAME: usize = 19;
        loop {
            if self.pos >= self.len {
                if self.done {
                    return Ok(None);
                }
                // SAFETY: the buffer is valid for writes of its whole length; the kernel writes at
                // most that many bytes and returns how many.
                let n = unsafe {
                    libc::syscall(
                        libc::SYS_getdents64,
                        self.fd.as_raw_fd(),
                        self.buf.0.as_mut_ptr(),
                        self.buf.0.len(),
                    )
                };
                if n < 0 {
                    self.done = true;
                    return Err(io::Error::last_os_error());
                }
                if n == 0 {
                    self.done = true;
                    return Ok(None);
                }
                self.len = n as usize;
                self.pos = 0;
            }
            // SAFETY: the first `len` bytes were written by getdents64 above.
            let filled: &[u8] =
                unsafe { std::slice::from_raw_parts(self.buf.0.as_ptr().cast::<u8>(), self.len) };
            let at = self.pos;
            let Some(header) = filled.get(at..at + NAME) else {
                self.pos = self.len;
                continue;
            };
            let reclen = usize::from(u16::from_ne_bytes([header[16], header[17]]));
            let dtype = header[18];
            if reclen < NAME || at + reclen > self.len {
                self.pos = self.len;
                continue;
            }
            self.pos = at + reclen;
            let Ok(name) = CStr::from_bytes_until_nul(&filled[at + NAME..at + reclen]) else {
                continue;
            };
            if name == c"." || name == c".." {
                continue;
            }
            let kind = match dtype {
                libc::DT_REG => Some(Kind::File),
                libc::DT_DIR => Some(Kind::Dir),
                libc::DT_LNK => Some(Kind::Symlink),
                // Some file systems do not fill `d_type`.
                libc::DT_UNKNOWN => None,
                _ => Some(Kind::Other),
            };
            return Ok(Some(Entry { name, kind }));
        }
    }
}

/// `st_nlink` as 64 bits: it is `u64` on x86_64 Linux and `u32` on aarch64.
#[cfg_attr(
    target_arch = "x86_64",
    expect(
        clippy::useless_conversion,
        reason = "a no-op on x86_64, a widening on aarch64"
    )
)]
fn nlink(raw: libc::nlink_t) -> u64 {
    u64::from(raw)
}

#[cfg(test)]
mod tests {
    use std::os::unix::ffi::OsStrExt;

    use super::super::{Kind, ListEntries, OpenDir};
    use super::Dir;

    #[test]
    fn dir_reader_lists_what_read_dir_lists() {
        let t = tempfile::tempdir().unwrap();
        // More entries than one 8 KiB getdents64 buffer holds, so several reads are needed.
        for i in 0..600 {
            std::fs::write(
                t.path()
                    .join(format!("file-with-a-fairly-long-name-{i:04}.txt")),
                b"x",
            )
            .unwrap();
        }
        std::fs::create_dir(t.path().join("sub")).unwrap();
        let expected: std::collections::BTreeSet<Vec<u8>> = std::fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().as_bytes().to_vec())
            .collect();
        let dir = Dir::open(t.path()).unwrap();
        let mut entries = dir.entries();
        let mut got = std::collections::BTreeSet::new();
        let mut sub_is_dir = false;
        while let Some(entry) = entries.next_entry().unwrap() {
            let name = entry.name.to_bytes().to_vec();
            if name == b"sub" {
                sub_is_dir = matches!(entry.kind, Some(Kind::Dir) | None);
            }
            got.insert(name);
        }
        // `.` and `..` are never listed.
        assert_eq!(got, expected);
        assert!(sub_is_dir);
    }

    #[test]
    fn open_dir_at_does_not_follow_symlinks() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("real")).unwrap();
        std::os::unix::fs::symlink("real", t.path().join("link")).unwrap();
        let dir = Dir::open(t.path()).unwrap();
        assert!(dir.open_child(c"real").is_ok());
        assert!(dir.open_child(c"link").is_err());
        assert!(dir
            .stat_child(c"link")
            .is_some_and(|st| st.kind == Kind::Symlink));
    }
}
