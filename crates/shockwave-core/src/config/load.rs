//! Finding `pipeline.toml` and turning its bytes into a [`Workspace`]: the walk up from the working
//! directory, the checks that make reading it safe (a regular file, not absurdly large, UTF-8), and
//! the hand-over of the text to parsing and validation. This is the only part of `config` that
//! reads the config file; it never interprets what the file says.

use std::path::{Path, PathBuf};

use super::model::Workspace;
use super::parsed::Slot;
use super::raw::RawConfig;
use super::roots::list_parents;
use super::turbo::read::read_root;
use super::turbo::Turbo;
use super::validate::Rejected;
use super::validator::Validator;
use crate::confine::Root;
use crate::diagnostic::Diagnostic;
use crate::discover::DiscoverError;
use crate::paths::{FsDirs, WorkspaceDirs};

/// The file name searched for when `--config` is not given.
pub const CONFIG_FILE: &str = "pipeline.toml";

/// The largest `pipeline.toml` read; a real one is a few hundred KB even with thousands of services.
const MAX_CONFIG_BYTES: u64 = 64 << 20;

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no {CONFIG_FILE} found in {start} or any parent directory up to the repository root; create one or pass --config PATH")]
    NotFound { start: PathBuf },
    #[error("failed to read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} has {} error{}", diagnostics.len(), if diagnostics.len() == 1 { "" } else { "s" })]
    Invalid {
        path: PathBuf,
        source_text: String,
        diagnostics: Vec<Diagnostic>,
    },
    /// Manifests or lockfiles that workspace discovery could not use.
    #[error("{}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Discover { errors: Vec<DiscoverError> },
}

/// Walks up from `start` looking for `pipeline.toml`, stopping after the directory that holds `.git`.
pub fn find(start: &Path) -> Result<PathBuf, ConfigError> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        let candidate = d.join(CONFIG_FILE);
        // Anything by that name counts (a FIFO or directory too): `load` then says what is wrong
        // with it instead of this search claiming there is none.
        if candidate.symlink_metadata().is_ok() {
            return Ok(candidate);
        }
        if d.join(".git").exists() {
            break;
        }
        dir = d.parent();
    }
    Err(ConfigError::NotFound {
        start: start.to_path_buf(),
    })
}

/// The directory every path in the config at `path` is relative to: the one holding it,
/// canonicalized.
pub fn workspace_root(path: &Path) -> PathBuf {
    let root = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let root = if root.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        root
    };
    std::fs::canonicalize(&root).unwrap_or(root)
}

/// Reads, parses and validates the config at `path`, finding `members` and checking roots in the
/// plain filesystem.
pub fn load(path: &Path) -> Result<Workspace, ConfigError> {
    load_with(path, &mut FsDirs::new(&workspace_root(path)))
}

/// Reads, parses and validates the config at `path`; `dirs` (rooted at [`workspace_root`]) says
/// which directories exist and which `members` may match.
pub fn load_with(path: &Path, dirs: &mut dyn WorkspaceDirs) -> Result<Workspace, ConfigError> {
    let text = read_config(path, dirs.boundary())?;
    let root = workspace_root(path);
    parse_with(&text, path, &root, dirs)
}

/// [`load_with`], keeping the parsed form of the file in `parsed_dir` so that the next load of
/// the same text skips the TOML parse (validation always runs). The folder is read where it is;
/// `make_dir` creates it (and says whether it may be written) only when there is something to
/// store.
pub fn load_reusing(
    path: &Path,
    dirs: &mut dyn WorkspaceDirs,
    parsed_dir: &Path,
    make_dir: &dyn Fn() -> bool,
) -> Result<Workspace, ConfigError> {
    let text = read_config(path, dirs.boundary())?;
    let root = workspace_root(path);
    let Some(slot) = Slot::new(parsed_dir, path, &text) else {
        return parse_with(&text, path, &root, dirs);
    };
    // On a hit, the root folders are listed on another thread while the rest is decoded.
    let hit = slot.read(&text).map(|entry| {
        rayon::join(
            || list_parents(&root, &entry.parents),
            || entry.decode(&text),
        )
    });
    let (raw, listings, entry) = match hit {
        Some((listings, Some(raw))) => (raw, Some(listings), None),
        _ => {
            let raw = RawConfig::parse(&text)
                .map_err(|d| rejection(Rejected::Invalid(vec![d]), path, text.clone()))?;
            let entry = slot.encode(&raw);
            (raw, None, entry)
        }
    };
    let mut validator = Validator::new(&root, dirs);
    if let Some(listings) = listings {
        validator.preset_listings(listings);
    }
    let turbo = turbo_for(&raw, &root)?;
    let ws = validator
        .run(raw, path, turbo)
        .map_err(|r| rejection(r, path, text.clone()))?;
    if let Some(entry) = entry.filter(|_| make_dir()) {
        slot.store(&entry);
    }
    Ok(ws)
}

/// The workspace discovered at `root` (the repository root) when there is no pipeline.toml:
/// every ecosystem is read, and the workspace-level manifests are global inputs. `None` when
/// nothing was found.
pub fn discover_only(
    root: &Path,
    dirs: &mut dyn WorkspaceDirs,
) -> Result<Option<Workspace>, ConfigError> {
    let mut validator = Validator::new(root, dirs);
    validator.zero_config = true;
    let raw = RawConfig::default();
    let turbo = turbo_for(&raw, root)?;
    // Errors in the targets are turbo.json's when it supplies them.
    let shown = match &turbo {
        Some(t) => (root.join(&t.file.name), t.file.text.clone()),
        None => (root.join(CONFIG_FILE), String::new()),
    };
    let path = root.join(CONFIG_FILE);
    let ws = validator
        .run(raw, &path, turbo)
        .map_err(|rejected| rejection(rejected, &shown.0, shown.1))?;
    Ok((!ws.services.is_empty()).then_some(ws))
}

fn rejection(rejected: Rejected, path: &Path, source_text: String) -> ConfigError {
    match rejected {
        Rejected::Invalid(diagnostics) => ConfigError::Invalid {
            path: path.to_path_buf(),
            source_text,
            diagnostics,
        },
        Rejected::Discover(errors) => ConfigError::Discover { errors },
    }
}

/// The text of the config at `path`, refused when it is not a small regular UTF-8 file inside
/// `boundary` (the repository's worktree): a `pipeline.toml` committed as a symbolic link is
/// followed only while it stays inside, so no error excerpt can quote another file.
pub fn read_config(path: &Path, boundary: &Path) -> Result<String, ConfigError> {
    let read_error = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let refused = |why: String| read_error(std::io::Error::other(why));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| refused("its name is not UTF-8".into()))?;
    let root = Root::open(&workspace_root(path), boundary).map_err(read_error)?;
    // A FIFO or device (which would hang or never end) and anything absurdly large are refused
    // before anything is read.
    let (_, bytes) = root
        .read(name, MAX_CONFIG_BYTES)
        .map_err(|e| refused(e.to_string()))?
        .ok_or_else(|| read_error(std::io::ErrorKind::NotFound.into()))?;
    let bytes =
        bytes.map_err(|_| refused(format!("it is larger than {} MiB", MAX_CONFIG_BYTES >> 20)))?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bad = e.as_bytes()[at];
        ConfigError::Invalid {
            path: path.to_path_buf(),
            source_text: String::from_utf8_lossy(e.as_bytes()).into_owned(),
            diagnostics: vec![Diagnostic::new(format!(
                "{CONFIG_FILE} is not valid UTF-8 (byte 0x{bad:02x})"
            ))
            .at(at..at + 1)
            .help("TOML files are UTF-8: re-save the file as UTF-8 or remove the byte")],
        }
    })
}

/// Parses and validates config `text` whose paths are relative to `root`, in the filesystem.
pub fn parse(text: &str, path: &Path, root: &Path) -> Result<Workspace, ConfigError> {
    parse_with(text, path, root, &mut FsDirs::new(root))
}

/// Parses and validates config `text` whose paths are relative to `root`, as `dirs` shows it.
pub fn parse_with(
    text: &str,
    path: &Path,
    root: &Path,
    dirs: &mut dyn WorkspaceDirs,
) -> Result<Workspace, ConfigError> {
    let raw = RawConfig::parse(text)
        .map_err(|d| rejection(Rejected::Invalid(vec![d]), path, text.to_string()))?;
    let turbo = turbo_for(&raw, root)?;
    Validator::new(root, dirs)
        .run(raw, path, turbo)
        .map_err(|r| rejection(r, path, text.to_string()))
}

/// The root turbo.json, read when `raw` writes no targets (it then supplies them).
fn turbo_for(raw: &RawConfig, root: &Path) -> Result<Option<Turbo>, ConfigError> {
    if !raw.targets.is_empty() || raw.services.values().any(|s| !s.targets.is_empty()) {
        return Ok(None);
    }
    read_root(root).map_err(|e| ConfigError::Invalid {
        path: e.path,
        source_text: e.text,
        diagnostics: e.diagnostics,
    })
}
