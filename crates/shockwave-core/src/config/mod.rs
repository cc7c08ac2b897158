//! `pipeline.toml`: finding it, parsing it (with spans), validating it and producing the frozen
//! [`Workspace`] every later stage reads. All problems found are reported together, each with the
//! file, line and column and a sentence on what to do. This module never prints.
//!
//! The files follow the data: `load` reads the file, `raw` is its serde shape, `validate` turns
//! that into the `model` (with `members` finding member services and `targets` merging defaults
//! with per-service overrides, each a step on the shared `validator`). Glob semantics are the crate's `glob` module, shared with the
//! stages that match paths later.

mod discovered;
mod load;
mod members;
mod model;
mod parsed;
mod raw;
mod remote;
mod roots;
mod schema;
mod targets;
mod turbo;
mod validate;
mod validator;

pub use crate::glob::Globs;
pub use load::{
    discover_only, find, load, load_reusing, load_with, parse, parse_with, read_config,
    workspace_root, ConfigError, CONFIG_FILE,
};
pub use model::{
    FsMonitorKind, Need, RemoteCacheFile, Service, ServiceId, Target, Targets, UnownedPolicy,
    Workspace,
};
pub use remote::{check_url, parse_duration, DurationError, UrlError};
pub use schema::pipeline_schema;
pub use turbo::convert::pipeline_tables as turbo_tables;
pub use turbo::{TurboError, ROOT_PACKAGE, TURBO_FILES};

/// Set-up shared by the tests of the config's parts.
#[cfg(test)]
mod testing {
    use std::path::Path;

    use super::{parse, Workspace};
    use crate::diagnostic::Diagnostic;

    pub fn parse_in(dir: &Path, text: &str) -> Result<Workspace, Vec<Diagnostic>> {
        match parse(text, Path::new("pipeline.toml"), dir) {
            Ok(ws) => Ok(ws),
            Err(super::ConfigError::Invalid { diagnostics, .. }) => Err(diagnostics),
            Err(other) => panic!("not a config diagnostic: {other}"),
        }
    }

    pub fn tree(dirs: &[&str]) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        for d in dirs {
            std::fs::create_dir_all(t.path().join(d)).unwrap();
        }
        t
    }
}
