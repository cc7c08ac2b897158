//! What differs between Unix and Windows outside the worktree scan's backends (`scm/sys`): paths
//! as bytes. On Unix a path is any bytes; on Windows a path from git (always UTF-8 there) is read
//! as UTF-8, and one that is not names no file.

use std::path::Path;

/// The path whose bytes are `bytes` (git's and the index's paths, tar member names).
#[cfg(unix)]
pub fn path(bytes: &[u8]) -> &Path {
    use std::os::unix::ffi::OsStrExt;
    Path::new(std::ffi::OsStr::from_bytes(bytes))
}

/// The path whose bytes are `bytes` (git's and the index's paths, tar member names). Bytes that
/// are not UTF-8 become a name Windows refuses in a file name (`<`, `>`), so they name no file.
#[cfg(windows)]
pub fn path(bytes: &[u8]) -> &Path {
    Path::new(std::str::from_utf8(bytes).unwrap_or("<not UTF-8>"))
}

/// The bytes of a relative `path`, `/`-separated as git writes paths.
#[cfg(unix)]
pub fn path_bytes(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    use std::os::unix::ffi::OsStrExt;
    std::borrow::Cow::Borrowed(path.as_os_str().as_bytes())
}

/// The bytes of a relative `path`, `/`-separated as git writes paths.
#[cfg(windows)]
pub fn path_bytes(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    std::borrow::Cow::Owned(path.to_string_lossy().replace('\\', "/").into_bytes())
}

/// Whether the owner may execute the file `meta` describes (git's "executable"). Windows has no
/// such bit: never.
#[cfg(unix)]
pub fn executable(meta: &std::fs::Metadata) -> bool {
    std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o100 != 0
}

/// Whether the owner may execute the file `meta` describes (git's "executable"). Windows has no
/// such bit: never.
#[cfg(windows)]
pub fn executable(_meta: &std::fs::Metadata) -> bool {
    false
}

/// Opening a file the cache or the config cache must not be led astray by: a symlink in its
/// place is not followed. On Unix `O_NOFOLLOW` (the open fails with `ELOOP`), and `nonblock` adds
/// `O_NONBLOCK` so a FIFO does not block; on Windows the link itself is opened
/// (`FILE_FLAG_OPEN_REPARSE_POINT`) and is not a regular file, which every caller checks.
pub trait NoFollow {
    fn no_follow(&mut self, nonblock: bool) -> &mut Self;
}

impl NoFollow for std::fs::OpenOptions {
    #[cfg(unix)]
    fn no_follow(&mut self, nonblock: bool) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(if nonblock {
            libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC
        } else {
            libc::O_NOFOLLOW | libc::O_CLOEXEC
        })
    }

    #[cfg(windows)]
    fn no_follow(&mut self, _nonblock: bool) -> &mut Self {
        use std::os::windows::fs::OpenOptionsExt;
        const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
        self.custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
    }
}

/// The permission bits of the file `meta` describes. Windows has none: a read-only file is
/// `0o444`, any other `0o644`.
#[cfg(unix)]
pub fn mode_bits(meta: &std::fs::Metadata) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&meta.permissions())
}

/// The permission bits of the file `meta` describes. Windows has none: a read-only file is
/// `0o444`, any other `0o644`.
#[cfg(windows)]
pub fn mode_bits(meta: &std::fs::Metadata) -> u32 {
    if meta.permissions().readonly() {
        0o444
    } else {
        0o644
    }
}

/// A file time as seconds and nanoseconds since the Unix epoch (what Unix's `stat` gives), `(0,
/// 0)` when the platform has none or it is earlier.
#[cfg(windows)]
pub fn since_epoch(time: std::io::Result<std::time::SystemTime>) -> (i64, i64) {
    time.ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or((0, 0), |d| {
            (d.as_secs() as i64, i64::from(d.subsec_nanos()))
        })
}
