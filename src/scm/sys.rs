//! The directory syscalls the worktree scan makes, behind a safe API: open a directory (relative to
//! an open one), stat a name relative to it without following symlinks, and list it with
//! `getdents64`. Descriptors are `OwnedFd`s, so each is closed exactly once; no other module needs
//! `unsafe` to read the worktree. Nothing here knows about git.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Opens the directory at `path` for listing.
pub fn open_dir(path: &Path) -> io::Result<OwnedFd> {
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

/// Opens the directory `name` inside the open directory `parent`, without following a symlink.
pub fn open_dir_at(parent: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: `parent` is an open descriptor for the duration of the call, `name` is
    // NUL-terminated; on success the descriptor is new and owned by us.
    let fd = unsafe {
        libc::openat(
            parent.as_raw_fd(),
            name.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC | libc::O_NOFOLLOW,
        )
    };
    owned(fd)
}

fn owned(fd: libc::c_int) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by a successful open and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`, or `None` when it fails.
pub fn stat_at(dir: BorrowedFd<'_>, name: &CStr) -> Option<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: an open directory, a NUL-terminated name, and a buffer of the right type.
    let rc = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            st.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    // SAFETY: fstatat filled the buffer when it returned 0.
    (rc == 0).then(|| unsafe { st.assume_init() })
}

/// Size of one `getdents64` read.
const BUF_LEN: usize = 8192;

/// Aligned like the `linux_dirent64` records the kernel writes into it (its `u64` fields).
#[repr(align(8))]
struct DirentBuf([std::mem::MaybeUninit<u8>; BUF_LEN]);

/// Lists a directory with `getdents64`: no `DIR` allocation and none of the extra `fstat`/`fcntl`
/// calls `fdopendir` makes, which add up over tens of thousands of directories. The buffer lives on
/// the heap, so a scan's depth never costs stack. Borrows the descriptor; `.` and `..` are listed
/// like any name.
pub struct DirReader<'fd> {
    fd: BorrowedFd<'fd>,
    buf: Box<DirentBuf>,
    len: usize,
    pos: usize,
    done: bool,
}

impl<'fd> DirReader<'fd> {
    pub fn new(fd: BorrowedFd<'fd>) -> DirReader<'fd> {
        DirReader {
            fd,
            buf: Box::new(DirentBuf([std::mem::MaybeUninit::uninit(); BUF_LEN])),
            len: 0,
            pos: 0,
            done: false,
        }
    }

    /// The next entry's name and `d_type`, or `None` at the end.
    pub fn next_entry(&mut self) -> io::Result<Option<(&CStr, u8)>> {
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
            if let Ok(name) = CStr::from_bytes_until_nul(&filled[at + NAME..at + reclen]) {
                return Ok(Some((name, dtype)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;
    use std::os::unix::ffi::OsStrExt;

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
        let fd = super::open_dir(t.path()).unwrap();
        let mut reader = super::DirReader::new(fd.as_fd());
        let mut got = std::collections::BTreeSet::new();
        let mut sub_is_dir = false;
        while let Some((name, dtype)) = reader.next_entry().unwrap() {
            let name = name.to_bytes().to_vec();
            if name == b"sub" {
                sub_is_dir = dtype == libc::DT_DIR || dtype == libc::DT_UNKNOWN;
            }
            if name != b"." && name != b".." {
                got.insert(name);
            }
        }
        assert_eq!(got, expected);
        assert!(sub_is_dir);
    }

    #[test]
    fn open_dir_at_does_not_follow_symlinks() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("real")).unwrap();
        std::os::unix::fs::symlink("real", t.path().join("link")).unwrap();
        let fd = super::open_dir(t.path()).unwrap();
        assert!(super::open_dir_at(fd.as_fd(), c"real").is_ok());
        assert!(super::open_dir_at(fd.as_fd(), c"link").is_err());
        assert!(super::stat_at(fd.as_fd(), c"link")
            .is_some_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFLNK));
    }
}
