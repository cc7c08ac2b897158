//! `report FILE...`: run summaries as Markdown for a pull request, also appended to the GitHub
//! step summary when there is one. Several summaries (the shards of one run) are merged into one
//! report, and `--merge-json` writes the merged summary.

use std::path::{Path, PathBuf};

use super::{append_file, print, write_whole};
use crate::cli::env::Env;
use crate::cli::summaries;
use crate::cli::{CliError, ExitCode};
use shockwave_core::report::{markdown, merge};

pub(super) fn run(
    env: &Env,
    files: &[PathBuf],
    merge_json: Option<&Path>,
) -> Result<ExitCode, CliError> {
    let summary = if let ([one], None) = (files, merge_json) {
        // One summary is reported as it is, and one that cannot be read is an error.
        summaries::read(one)?
    } else {
        // A shard whose job died before writing its summary must not hide the others' report:
        // a file that cannot be read is a warning and a line in the report.
        let inputs: Vec<merge::Input<_>> = files
            .iter()
            .map(|f| {
                let s = summaries::read(f);
                if let Err(e) = &s {
                    tracing::warn!("{e}; the report leaves it out");
                }
                (f.display().to_string(), s)
            })
            .collect();
        merge::merge(inputs).ok_or_else(|| {
            CliError::Usage(
                "none of the files is a run summary that can be read; write them with `shockwave run ... --summary FILE`".into(),
            )
        })?
    };
    if let Some(out) = merge_json {
        let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
        write_whole(out, &(text + "\n")).map_err(|e| CliError::Io {
            action: format!("write the merged summary to {}", out.display()),
            source: e,
        })?;
    }
    let md = markdown::render(&summary);
    if let Some(step) = &env.step_summary {
        append_file(step, &md)?;
    }
    print(&md);
    Ok(ExitCode::Success)
}
