//! The words for what a task wrote that a cache hit would not restore: the one warning per task
//! (`web:build wrote dist/ (312 files) but declares no outputs; …`), and the record the run
//! summary keeps of it. Pure functions of [`Writes`].

use serde::{Deserialize, Serialize};

use crate::exec::{Writes, MAX_ENTRIES};

/// How many folders (or files) a warning names before it says how many more there are.
const SHOWN_GROUPS: usize = 3;

/// How many files a warning names when the target declares outputs that miss them.
const SHOWN_FILES: usize = 3;

/// The warning for `label` (`service:target`) having written `w`.
pub fn warning(label: &str, w: &Writes) -> String {
    let target = label.rsplit(':').next().unwrap_or(label);
    if w.incomplete {
        let what = if w.cached {
            String::new()
        } else {
            "; not cached, since a cache hit might not restore them".to_string()
        };
        return format!(
            "{label} may have written files its outputs do not cover: its folder holds more than {MAX_ENTRIES} entries, too many to compare{what}"
        );
    }
    let consequence = if w.cached {
        "a cache hit will not restore them"
    } else {
        "not cached, since a cache hit would not restore them"
    };
    if w.files == 0 {
        // Nothing new outside the outputs: an undeclared target changed tracked files or deleted
        // some, which a hit would not redo either.
        return format!(
            "{label} changed or deleted {} ({}): not cached, since a cache hit would not do the same; set `cache = false` in [targets.{target}] for a target that changes sources, or declare its `outputs`",
            count(w.other, "file"),
            listed(&w.other_first, w.other, SHOWN_FILES)
        );
    }
    let shown = &w.groups[..w.groups.len().min(SHOWN_GROUPS)];
    let globs: Vec<String> = shown
        .iter()
        .map(|(g, _)| format!("\"{}\"", Writes::glob(g)))
        .collect();
    if !w.outputs_declared {
        let groups: Vec<String> = shown
            .iter()
            .map(|(g, n)| match g.ends_with('/') {
                true => format!("{g} ({})", count(*n, "file")),
                false => g.clone(),
            })
            .collect();
        let more = w.groups.len() - shown.len();
        let mut text = groups.join(", ");
        if more > 0 {
            text.push_str(&format!(" and {more} more"));
        }
        return format!(
            "{label} wrote {text} but declares no outputs; {consequence}: add outputs = [{}] to [targets.{target}] in pipeline.toml",
            globs.join(", ")
        );
    }
    format!(
        "{label} wrote {} its outputs do not cover ({}); {consequence}: add {} to the outputs of [targets.{target}]",
        count(w.files, "file"),
        listed(&w.first, w.files, SHOWN_FILES),
        globs.join(", ")
    )
}

/// `1 file`, `312 files`.
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// The first `shown` of `first` (out of `total`), then `…` when there are more.
fn listed(first: &[String], total: usize, shown: usize) -> String {
    let mut text = first[..first.len().min(shown)].join(", ");
    if total > shown {
        text.push_str(", …");
    }
    text
}

/// What the run summary records of a task's writes (`undeclared_outputs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WritesRecord {
    /// Untracked or ignored files written that no `outputs` glob covers.
    pub files: usize,
    /// Those files by top-level folder (`dist/`) or file name, with the glob that would cover
    /// each.
    pub folders: Vec<FolderRecord>,
    /// The first of those files (relative to the service root, sorted), at most 20.
    pub first: Vec<String>,
    /// Tracked files changed and files deleted (reported for targets whose outputs nobody
    /// declared, which are not cached for them).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub other: usize,
    /// `false` when the service root held too many entries to compare: more may be missing.
    pub complete: bool,
    /// Whether the result was cached anyway (a hit then replays the log and restores only the
    /// declared outputs).
    pub cached: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderRecord {
    pub path: String,
    pub files: usize,
    pub glob: String,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl From<&Writes> for WritesRecord {
    fn from(w: &Writes) -> Self {
        WritesRecord {
            files: w.files,
            folders: w
                .groups
                .iter()
                .map(|(path, files)| FolderRecord {
                    path: path.clone(),
                    files: *files,
                    glob: Writes::glob(path),
                })
                .collect(),
            first: w.first.clone(),
            other: w.other,
            complete: !w.incomplete,
            cached: w.cached,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writes(groups: &[(&str, usize)], declared: bool, cached: bool) -> Writes {
        let files = groups.iter().map(|g| g.1).sum();
        Writes {
            groups: groups.iter().map(|(g, n)| (g.to_string(), *n)).collect(),
            files,
            first: vec![
                "dist/a.d.ts".into(),
                "dist/b.d.ts".into(),
                "dist/c.d.ts".into(),
                "dist/d.d.ts".into(),
            ],
            outputs_declared: declared,
            cached,
            ..Writes::default()
        }
    }

    #[test]
    fn names_each_folder_once_with_the_glob_to_add() {
        assert_eq!(
            warning("web:build", &writes(&[("dist/", 312)], false, true)),
            "web:build wrote dist/ (312 files) but declares no outputs; a cache hit will not restore them: add outputs = [\"dist/**\"] to [targets.build] in pipeline.toml"
        );
        assert_eq!(
            warning(
                "@x/a:build",
                &writes(&[("a/", 1), ("b/", 2), ("c.txt", 1), ("d/", 5)], false, false)
            ),
            "@x/a:build wrote a/ (1 file), b/ (2 files), c.txt and 1 more but declares no outputs; not cached, since a cache hit would not restore them: add outputs = [\"a/**\", \"b/**\", \"c.txt\"] to [targets.build] in pipeline.toml"
        );
        assert_eq!(
            warning("web:build", &writes(&[("dist/", 12)], true, true)),
            "web:build wrote 12 files its outputs do not cover (dist/a.d.ts, dist/b.d.ts, dist/c.d.ts, …); a cache hit will not restore them: add \"dist/**\" to the outputs of [targets.build]"
        );
        let other = Writes {
            other: 1,
            other_first: vec!["src/gen.ts".into()],
            ..Writes::default()
        };
        assert!(warning("web:gen", &other)
            .starts_with("web:gen changed or deleted 1 file (src/gen.ts): not cached"));
        let record = WritesRecord::from(&writes(&[("dist/", 312)], false, false));
        assert_eq!(record.folders[0].glob, "dist/**");
        assert!(record.complete && !record.cached);
    }
}
