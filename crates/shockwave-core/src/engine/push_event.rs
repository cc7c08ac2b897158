//! The commit a push build's branch pointed to before the push, as the CI says it: a variable
//! (GitLab, Jenkins), or the `before` field of the GitHub Actions event payload, a JSON file the
//! runner writes. The payload is read only when a base must be found, bounded, and trusted for
//! nothing but a commit id in hex.

use std::io::Read;
use std::path::Path;

use super::query::{is_null_commit, PushBefore};

/// The largest event payload read: GitHub caps webhook payloads at 25 MB.
const MAX_EVENT_BYTES: u64 = 64 << 20;

/// What a push build says its base is.
pub(super) enum Before {
    /// A commit id, and where it was read.
    Commit { id: String, why: String },
    /// None to use: a new branch (all zeros), or a payload without `before`; said in a debug line.
    Nothing(String),
}

/// The commit before the push `source` describes. A payload that cannot be read or holds no
/// commit id is a warning: the next way of finding a base is used instead.
pub(super) fn before(source: &PushBefore) -> Before {
    match source {
        PushBefore::Commit { var, id } => Before::Commit {
            id: id.clone(),
            why: format!("the commit before this push (${var})"),
        },
        PushBefore::GithubEvent(path) => match read_before(path) {
            Ok(Some(id)) if is_null_commit(&id) => {
                Before::Nothing("the push created its branch (`before` is all zeros)".into())
            }
            Ok(Some(id)) => Before::Commit {
                id,
                why: "the commit before this push (`before` in $GITHUB_EVENT_PATH)".into(),
            },
            Ok(None) => Before::Nothing(format!("{} has no `before`", path.display())),
            Err(e) => {
                tracing::warn!(
                    "cannot read the push event {} ($GITHUB_EVENT_PATH): {e}; looking for another base",
                    path.display()
                );
                Before::Nothing(e.to_string())
            }
        },
    }
}

#[derive(serde::Deserialize)]
struct Event {
    before: Option<String>,
}

/// Why the payload gave no commit id; the caller says which file it was.
#[derive(Debug, thiserror::Error)]
enum EventError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("it is not a regular file")]
    NotAFile,
    #[error("it is larger than {} MiB", MAX_EVENT_BYTES >> 20)]
    TooLarge,
    #[error("line {line}: not a JSON event payload: {0}", line = .0.line())]
    NotJson(serde_json::Error),
    /// The start of what `before` held.
    #[error("`before` is {0:?}, not a commit id")]
    NotACommit(String),
}

/// The payload's `before`, checked to be a commit id (40 or 64 hex digits).
fn read_before(path: &Path) -> Result<Option<String>, EventError> {
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(EventError::NotAFile);
    }
    let mut bytes = Vec::new();
    file.take(MAX_EVENT_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_EVENT_BYTES {
        return Err(EventError::TooLarge);
    }
    let event: Event = serde_json::from_slice(&bytes).map_err(EventError::NotJson)?;
    match event.before {
        None => Ok(None),
        Some(id) if matches!(id.len(), 40 | 64) && id.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(Some(id.to_ascii_lowercase()))
        }
        Some(other) => Err(EventError::NotACommit(
            crate::report::summary::prefix(&other, 80).to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(text: &str) -> Result<Option<String>, EventError> {
        let t = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(t.path(), text).unwrap();
        read_before(t.path())
    }

    #[test]
    fn reads_only_a_commit_id() {
        let id = "3f2a1c9d".repeat(5);
        assert_eq!(
            event(&format!("{{\"before\": \"{id}\", \"after\": \"x\"}}")).ok(),
            Some(Some(id))
        );
        assert_eq!(event("{\"ref\": \"refs/heads/main\"}").ok(), Some(None));
        assert!(event("{\"before\": \"main; rm -rf /\"}").is_err());
        assert!(event("not json")
            .unwrap_err()
            .to_string()
            .starts_with("line 1:"));
    }
}
