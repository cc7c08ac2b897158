//! Renders an affected set: `text` (people), `json` (schema 1, in `json`), `names`, `gotest` and
//! `github` outputs, and the full `--explain` reasoning for one service.

use std::fmt::Write as _;

mod json;

use bstr::ByteSlice;

use serde::Serialize;

use super::output::Seq;
use super::style::Style;
use crate::affected::{Affected, Dependents, Reason};
use crate::config::{ServiceId, UnownedPolicy, Workspace};
use crate::discover::{Ecosystem, Kind};
use crate::scm::Changes;

/// Everything a reporter needs about one `affected` computation.
pub struct AffectedView<'a> {
    pub ws: &'a Workspace,
    pub changes: &'a Changes,
    pub affected: &'a Affected,
    pub dependents: Dependents,
    /// The flags that reproduce this range (` --base origin/main --uncommitted`, shell-quoted),
    /// so a printed hint runs against the same changes.
    pub range_flags: &'a str,
    /// `--kind`: only units of this kind are listed (the others are still computed: a package
    /// reaches a service through it).
    pub kind: Option<Kind>,
    /// `--filter`: only these (indexed by id) are listed, computed the same way.
    pub only: Option<&'a [bool]>,
}

/// How many files per service the text output lists before summarising.
const TEXT_FILES_PER_SERVICE: usize = 5;

impl AffectedView<'_> {
    fn name(&self, id: ServiceId) -> &str {
        &self.ws.service(id).name
    }

    /// Whether `--kind` lists service `id`.
    fn listed(&self, id: ServiceId) -> bool {
        self.kind.is_none_or(|k| self.ws.service(id).kind == k)
            && self.only.is_none_or(|o| o[id.index()])
    }

    /// The affected units `--kind` lists, in name order.
    fn shown(&self) -> impl Iterator<Item = ServiceId> + '_ {
        self.affected.ids().filter(|&i| self.listed(i))
    }

    /// `user-service ← auth-lib ← proto`
    pub fn chain(&self, id: ServiceId, via: &[ServiceId]) -> String {
        std::iter::once(id)
            .chain(via.iter().copied())
            .map(|i| self.name(i))
            .collect::<Vec<_>>()
            .join(" ← ")
    }

    fn range_line(&self) -> String {
        let c = self.changes;
        let n = c.files.len();
        let files = format!("{n} changed file{}", if n == 1 { "" } else { "s" });
        let mut what = match (&c.base, c.merge_base) {
            (Some(base), Some(mb)) if c.base_id == Some(mb) => {
                format!("{base} ({}) → {}", short(mb), c.head)
            }
            (Some(base), Some(mb)) => format!("{base}...{} (merge base {})", c.head, short(mb)),
            (Some(base), None) => format!("{base} → {} (base unavailable)", c.head),
            (None, _) => "worktree against HEAD".to_string(),
        };
        if c.uncommitted && c.base.is_some() {
            what.push_str(" + uncommitted changes");
        }
        format!("{files} ({what})")
    }

    pub fn text(&self, style: Style) -> String {
        let total = self.ws.service_ids().filter(|&i| self.listed(i)).count();
        let count = self.shown().count();
        let mut out = String::new();
        let noun = match self.kind {
            Some(Kind::Package) => "package",
            _ => "service",
        };
        let _ = writeln!(
            out,
            "{} of {total} {noun}{} affected — {}",
            style.bold(&count.to_string()),
            if total == 1 { "" } else { "s" },
            self.range_line()
        );
        for id in self.shown() {
            let _ = writeln!(out, "\n{}", style.bold(self.name(id)));
            let reasons = self.affected.reasons_of(id);
            let files: Vec<&Reason> = reasons
                .iter()
                .filter(|r| matches!(r, Reason::File { .. }))
                .collect();
            for r in files.iter().take(TEXT_FILES_PER_SERVICE) {
                let _ = writeln!(out, "  {}", self.reason_text(id, r, style));
            }
            if files.len() > TEXT_FILES_PER_SERVICE {
                let _ = writeln!(
                    out,
                    "  {}",
                    style.dim(&format!(
                        "… and {} more changed files (shockwave affected{} --explain {})",
                        files.len() - TEXT_FILES_PER_SERVICE,
                        self.range_flags,
                        shell_quote(self.name(id))
                    ))
                );
            }
            // A service that owns a change is listed with its own reasons; the chains through its
            // dependencies are then only counted (JSON and --explain list them all).
            let has_direct = reasons
                .iter()
                .any(|r| !matches!(r, Reason::Dependency { .. }));
            let via_deps = reasons
                .iter()
                .filter(|r| matches!(r, Reason::Dependency { .. }))
                .count();
            let mut globals = 0;
            for r in reasons
                .iter()
                .filter(|r| !matches!(r, Reason::File { .. }))
                .filter(|r| !(has_direct && matches!(r, Reason::Dependency { .. })))
            {
                if matches!(
                    r,
                    Reason::Global { .. } | Reason::Unowned { .. } | Reason::Package { .. }
                ) {
                    globals += 1;
                    if globals > TEXT_FILES_PER_SERVICE {
                        continue;
                    }
                }
                let _ = writeln!(out, "  {}", self.reason_text(id, r, style));
            }
            if has_direct && via_deps > 0 {
                let _ = writeln!(
                    out,
                    "  {}",
                    style.dim(&format!(
                        "(also reached through {via_deps} affected dependenc{})",
                        if via_deps == 1 { "y" } else { "ies" }
                    ))
                );
            }
        }
        // `unowned = "ignore"` means "say nothing"; the JSON still lists them for tools.
        if !self.affected.unowned_files.is_empty() && self.ws.unowned() != UnownedPolicy::Ignore {
            let _ = writeln!(
                out,
                "\n{} (changed, but no service owns them; unowned = \"{}\"):",
                style.yellow("unowned files"),
                self.ws.unowned().as_str()
            );
            for p in &self.affected.unowned_files {
                let _ = writeln!(out, "  {}", p.to_str_lossy());
            }
        }
        if count == 0 {
            let _ = writeln!(out, "\nnothing to do: {}", self.why_nothing());
        }
        out
    }

    /// Why no service is affected, counting every changed path exactly once: ignored, owned by
    /// no service, or outside the workspace.
    fn why_nothing(&self) -> String {
        let total = self.changes.paths().count();
        if total == 0 {
            return "nothing changed".to_string();
        }
        let ignored = self.affected.ignored_files;
        let unowned = self.affected.unowned_files.len();
        let outside = total.saturating_sub(ignored + unowned);
        // "all 3 changed paths match", "1 changed path belongs", "2 changed paths lie".
        let phrase = |n: usize, one: &str, many: &str| {
            let all = if n == total && n > 1 { "all " } else { "" };
            match n {
                1 => format!("{all}1 changed path {one}"),
                n => format!("{all}{n} changed paths {many}"),
            }
        };
        let mut parts = Vec::new();
        if ignored > 0 {
            parts.push(phrase(ignored, "matches `ignore`", "match `ignore`"));
        }
        if unowned > 0 {
            parts.push(phrase(
                unowned,
                "belongs to no service",
                "belong to no service",
            ));
        }
        if outside > 0 {
            parts.push(phrase(
                outside,
                "lies outside the workspace",
                "lie outside the workspace",
            ));
        }
        match parts.pop() {
            Some(last) if !parts.is_empty() => format!("{} and {last}", parts.join(", ")),
            Some(only) => only,
            None => "nothing changed".to_string(),
        }
    }

    fn reason_text(&self, id: ServiceId, r: &Reason, style: Style) -> String {
        match r {
            Reason::File { path } => {
                format!("{}  {}", style.green("changed   "), path.to_str_lossy())
            }
            Reason::Dependency { via, dev: false } => {
                format!("{}  {}", style.cyan("dependency"), self.chain(id, via))
            }
            Reason::Dependency { via, dev: true } => format!(
                "{}  {} (dev-dependency: its tests use {})",
                style.cyan("dependency"),
                self.chain(id, via),
                self.name(via[0])
            ),
            Reason::Global { path } => format!(
                "{}  {} (global input)",
                style.yellow("global    "),
                path.to_str_lossy()
            ),
            Reason::Unowned { path } => format!(
                "{}  {} (unowned = \"all\")",
                style.yellow("unowned   "),
                path.to_str_lossy()
            ),
            Reason::MissingBase { detail } => format!("{}  {detail}", style.red("no base   ")),
            Reason::Package { path, chain } => format!(
                "{}  {} ({})",
                style.green("package   "),
                path.to_str_lossy(),
                chain.join(" ← ")
            ),
            Reason::Lockfile {
                file,
                added,
                removed,
                root,
                more_added,
                more_removed,
            } => format!(
                "{}  {} ({}{})",
                style.green("lockfile  "),
                file.to_str_lossy(),
                if *root { "root package: " } else { "" },
                lockfile_change((added, *more_added), (removed, *more_removed))
            ),
            Reason::LockfileUnreadable { file, detail } => format!(
                "{}  {} could not be read, so everything it installs is assumed changed: {detail}",
                style.red("lockfile  "),
                file.to_str_lossy()
            ),
            Reason::Manifest { file, key } => format!(
                "{}  {key} in {}",
                style.green("manifest  "),
                file.to_str_lossy()
            ),
            Reason::ManifestUnreadable { file, detail } => format!(
                "{}  {} could not be parsed, so all of it is assumed changed: {detail}",
                style.red("manifest  "),
                file.to_str_lossy()
            ),
        }
    }

    pub fn names(&self) -> String {
        let mut out = String::new();
        for id in self.shown() {
            out.push_str(self.name(id));
            out.push('\n');
        }
        out
    }

    /// The affected Go packages as `go test` takes them, run from the module at the workspace
    /// root: `./pkg/auth ./tsdb` (`.` for the root package), one line, nothing when none is
    /// affected. Each affected unit of that module gives its own package folders: a library
    /// package its folder, a binary (or a `members` service) the folders of its own packages.
    pub fn gotest(&self) -> String {
        let mut dirs: Vec<&str> = self
            .shown()
            .map(|i| self.ws.service(i))
            .filter(|s| s.ecosystem == Some(Ecosystem::Go))
            .flat_map(|s| {
                s.packages
                    .iter()
                    .filter(|p| p.tests)
                    .map(|p| p.dir.as_str())
            })
            .collect();
        if dirs.is_empty() {
            return String::new();
        }
        dirs.sort_unstable();
        dirs.dedup();
        let args: Vec<String> = dirs
            .iter()
            .map(|d| {
                if d.is_empty() {
                    ".".to_string()
                } else {
                    shell_quote(&format!("./{d}")).into_owned()
                }
            })
            .collect();
        format!("{}\n", args.join(" "))
    }

    /// `affected=`, `matrix=` and `any=` lines in GitHub's output-file syntax.
    pub fn github(&self) -> String {
        let names: Vec<&str> = self.shown().map(|i| self.name(i)).collect();
        let include = Seq(|| names.iter().map(|&service| MatrixService { service }));
        format!(
            "affected={}\nmatrix={}\nany={}\n",
            one_line(&names),
            one_line(&Matrix { include }),
            !names.is_empty()
        )
    }

    /// What `affected --format github` says once it wrote [`github`](Self::github) (and, with
    /// `shards`, [`shards_output`]) to the file `$GITHUB_OUTPUT` names.
    pub fn github_written(&self, shards: Option<usize>) -> String {
        let n = self.shown().count();
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        match shards {
            None => format!(
                "wrote affected, matrix and any ({n} service{}) to $GITHUB_OUTPUT\n",
                plural(n)
            ),
            Some(k) => format!(
                "wrote affected, matrix, any and shards ({n} service{}, {k} shard{}) to $GITHUB_OUTPUT\n",
                plural(n),
                plural(k)
            ),
        }
    }

    /// Everything known about why `id` is or is not affected.
    pub fn explain(&self, id: ServiceId, style: Style) -> String {
        let s = self.ws.service(id);
        let mut out = String::new();
        let affected = self.affected.is_affected(id);
        let _ = writeln!(
            out,
            "{} is {}",
            style.bold(&s.name),
            if affected {
                style.green("affected")
            } else {
                style.dim("not affected")
            }
        );
        let _ = writeln!(out, "  root:  {}", super::root_text(&s.root));
        if !s.paths.is_empty() {
            let _ = writeln!(out, "  paths: {}", s.paths.join(", "));
        }
        let deps: Vec<&str> = s.deps.iter().map(|&d| self.name(d)).collect();
        let shown: Vec<String> = deps
            .iter()
            .map(|&d| match self.ws.linked_by(&s.name, d) {
                Some(file) => format!("{d} (linked by {file})"),
                None => d.to_string(),
            })
            .collect();
        let _ = writeln!(
            out,
            "  deps:  {}",
            if shown.is_empty() {
                "(none)".to_string()
            } else {
                shown.join(", ")
            }
        );
        if !s.dev_deps.is_empty() {
            let dev: Vec<&str> = s.dev_deps.iter().map(|&d| self.name(d)).collect();
            let _ = writeln!(out, "  dev:   {} (its tests only)", dev.join(", "));
        }
        if let Some(cycle) = self.ws.graph().cycle_through(id) {
            let names: Vec<&str> = cycle.iter().map(|&i| self.name(i)).collect();
            let _ = writeln!(out, "  cycle: {}", names.join(" → "));
        }
        let _ = writeln!(out, "  range: {}", self.range_line());
        let reasons = self.affected.reasons_of(id);
        if affected {
            let _ = writeln!(out, "\nreasons ({}):", reasons.len());
            for r in reasons {
                let mut line = self.reason_text(id, r, style);
                if let Reason::Dependency { via, .. } = r {
                    if let Some(&origin) = via.last() {
                        let files: Vec<String> = self
                            .affected
                            .reasons_of(origin)
                            .iter()
                            .filter_map(|r| match r {
                                Reason::File { path }
                                | Reason::Global { path }
                                | Reason::Unowned { path }
                                | Reason::Package { path, .. }
                                | Reason::Lockfile { file: path, .. }
                                | Reason::LockfileUnreadable { file: path, .. }
                                | Reason::ManifestUnreadable { file: path, .. } => {
                                    Some(path.to_str_lossy().into_owned())
                                }
                                Reason::Manifest { file, key } => {
                                    Some(format!("{key} in {}", file.to_str_lossy()))
                                }
                                _ => None,
                            })
                            .collect();
                        if !files.is_empty() {
                            let shown: Vec<&str> =
                                files.iter().take(3).map(String::as_str).collect();
                            let more = if files.len() > 3 {
                                format!(" and {} more", files.len() - 3)
                            } else {
                                String::new()
                            };
                            let _ = write!(
                                line,
                                "\n                {} changed {}{more}",
                                self.name(origin),
                                shown.join(", ")
                            );
                        }
                    }
                }
                let _ = writeln!(out, "  {line}");
            }
        } else {
            let n = self.changes.files.len();
            let _ = writeln!(
                out,
                "\nnone of the {n} changed file{} is under its root{} (after `ignore`), and no global input changed",
                if n == 1 { "" } else { "s" },
                if s.paths.is_empty() { "" } else { " or matches its paths" }
            );
            match self.dependents {
                Dependents::None => {
                    let _ = writeln!(out, "dependencies are not considered (--dependents none)");
                }
                _ if deps.is_empty() => {}
                Dependents::Direct => {
                    let _ = writeln!(
                        out,
                        "none of its dependencies ({}) owns a changed file (--dependents direct)",
                        deps.join(", ")
                    );
                }
                Dependents::Transitive => {
                    let _ = writeln!(
                        out,
                        "none of its dependencies ({}) is affected, directly or transitively",
                        deps.join(", ")
                    );
                }
            }
        }
        out
    }
}

/// A closure change in a few words: `+ms@2.1.3 −ms@2.1.2`, the first entries of each side and
/// a count of the rest. Each side is the entries listed and how many more there are beyond
/// them (JSON lists up to [`crate::discover::lockfile::LISTED`] and counts the rest).
pub fn lockfile_change(added: (&[String], usize), removed: (&[String], usize)) -> String {
    const SHOWN: usize = 3;
    let side = |sign: &str, (entries, more): (&[String], usize)| {
        let mut parts: Vec<String> = entries
            .iter()
            .take(SHOWN)
            .map(|e| format!("{sign}{e}"))
            .collect();
        let rest = entries.len().saturating_sub(SHOWN) + more;
        if rest > 0 {
            parts.push(format!("{sign}{rest} more"));
        }
        parts
    };
    let parts = [side("+", added), side("−", removed)].concat();
    if parts.is_empty() {
        "no entry changed".to_owned()
    } else {
        parts.join(" ")
    }
}

fn short(id: gix::ObjectId) -> String {
    id.to_hex_with_len(7).to_string()
}

/// `word` as one shell word: unchanged when it is plain, else in single quotes.
pub fn shell_quote(word: &str) -> std::borrow::Cow<'_, str> {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:@^~=+,%".contains(&b));
    if plain {
        word.into()
    } else {
        format!("'{}'", word.replace('\'', "'\\''")).into()
    }
}

/// A GitHub Actions matrix, `{"include":[...]}`, of [`MatrixService`]s or [`MatrixShard`]s.
#[derive(Serialize)]
struct Matrix<T> {
    include: T,
}

#[derive(Serialize)]
struct MatrixService<'v> {
    service: &'v str,
}

#[derive(Serialize)]
struct MatrixShard {
    /// `K/N`
    shard: String,
}

/// `value` as JSON on one line, as GitHub's output file takes it.
fn one_line<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The `shards=` line for a matrix of `run --shard K/N` jobs: shards `1/count` … `used/count`
/// (a split fills its shards in order, so the empty ones are the last).
pub fn shards_output(used: usize, count: usize) -> String {
    let include = Seq(|| {
        (1..=used.min(count)).map(move |k| MatrixShard {
            shard: format!("{k}/{count}"),
        })
    });
    format!("shards={}\n", one_line(&Matrix { include }))
}
