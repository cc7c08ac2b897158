//! Parsing one `--filter` value into a [`Selector`]: pure, and a mistake is a [`FilterError`]
//! with its column, rendered with a caret under it and what to write instead.

/// One `--filter` value, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// As written.
    pub raw: String,
    /// `!`: subtract what it selects.
    pub exclude: bool,
    /// `...` before: and every service that depends on what the core picks.
    pub dependents: bool,
    /// `...` after: and every service what the core picks depends on.
    pub dependencies: bool,
    /// `^` next to `...`: the picked services themselves are left out.
    pub exclude_self: bool,
    /// A name, `*` matching any run of characters.
    pub name: Option<String>,
    /// A folder, relative to the directory the command runs in, as written.
    pub dir: Option<String>,
    /// `[REV]`: services changed since a revision.
    pub changed: Option<Changed>,
    /// `NAME...[REV]`: the services whose own files or dependencies changed.
    pub match_dependencies: bool,
}

/// The revisions of a `[REV]` or `[FROM...TO]` selector.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Changed {
    pub from: String,
    /// `None`: the worktree (`HEAD` and uncommitted changes).
    pub to: Option<String>,
}

/// A selector that cannot be parsed or resolved, with the column (1-based, in characters) of the
/// mistake when it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct FilterError {
    pub raw: String,
    pub column: Option<usize>,
    pub message: String,
    pub help: String,
}

impl FilterError {
    fn at(raw: &str, column: usize, message: impl Into<String>, help: impl Into<String>) -> Self {
        FilterError {
            raw: raw.to_string(),
            column: Some(column),
            message: message.into(),
            help: help.into(),
        }
    }

    /// `--filter `x`: message` with a caret under the column, then what to do.
    fn render(&self) -> String {
        match self.column {
            Some(col) => {
                let prefix = "--filter ";
                format!(
                    "invalid --filter `{}`: {} (column {col})\n  {prefix}{}\n  {}^\n  = help: {}",
                    self.raw,
                    self.message,
                    self.raw,
                    " ".repeat(prefix.len() + col - 1),
                    self.help
                )
            }
            None => format!("--filter `{}`: {}; {}", self.raw, self.message, self.help),
        }
    }
}

const WHAT_TO_WRITE: &str =
    "write a service name (`web`, `@acme/*`), a folder (`./apps/*`, `{apps/web}`) or a revision (`[main]`)";

impl Selector {
    pub fn parse(raw: &str) -> Result<Selector, FilterError> {
        let mut sel = Selector {
            raw: raw.to_string(),
            exclude: false,
            dependents: false,
            dependencies: false,
            exclude_self: false,
            name: None,
            dir: None,
            changed: None,
            match_dependencies: false,
        };
        if raw.trim().is_empty() {
            return Err(FilterError::at(
                raw,
                1,
                "the filter is empty",
                WHAT_TO_WRITE,
            ));
        }
        // Byte offset of `rest` in `raw`, for columns.
        let mut start = 0;
        let mut rest = raw;
        if let Some(r) = rest.strip_prefix('!') {
            sel.exclude = true;
            rest = r;
            start += 1;
        }
        if let Some(r) = rest.strip_suffix("...") {
            sel.dependencies = true;
            rest = r;
            if let Some(r) = rest.strip_suffix('^') {
                sel.exclude_self = true;
                rest = r;
            }
        }
        if let Some(r) = rest.strip_prefix("...") {
            sel.dependents = true;
            rest = r;
            start += 3;
            if let Some(r) = rest.strip_prefix('^') {
                sel.exclude_self = true;
                rest = r;
                start += 1;
            }
        }
        let col = |byte: usize| raw[..byte].chars().count() + 1;
        if rest.is_empty() {
            return Err(FilterError::at(
                raw,
                col(start),
                "nothing to select",
                WHAT_TO_WRITE,
            ));
        }
        if rest == "." || rest == ".." || rest.starts_with("./") || rest.starts_with("../") {
            sel.dir = Some(rest.to_string());
            return Ok(sel);
        }
        let name_end = rest.find(['{', '[']).unwrap_or(rest.len());
        let mut name = &rest[..name_end];
        let mut after = &rest[name_end..];
        if after.starts_with('[') {
            if let Some(n) = name.strip_suffix("...") {
                sel.match_dependencies = true;
                name = n;
            }
        }
        if let Some(bad) = name.find(['}', ']']) {
            return Err(FilterError::at(
                raw,
                col(start + bad),
                format!("unexpected `{}`", &name[bad..bad + 1]),
                WHAT_TO_WRITE,
            ));
        }
        if name.starts_with('.') || name.ends_with('.') {
            let at = if name.starts_with('.') {
                0
            } else {
                name.len() - 1
            };
            return Err(FilterError::at(
                raw,
                col(start + at),
                "a service name does not start or end with `.`",
                "a folder starts with `./` (`./apps/web`); `...` goes right before or after the whole selector",
            ));
        }
        if !name.is_empty() {
            sel.name = Some(name.to_string());
        }
        let mut pos = start + name_end;
        if let Some(inner) = after.strip_prefix('{') {
            let Some(close) = inner.find('}') else {
                return Err(FilterError::at(
                    raw,
                    col(pos),
                    "`{` is never closed",
                    "write the folder as `{apps/web}`",
                ));
            };
            let dir = &inner[..close];
            if dir.trim().is_empty() {
                return Err(FilterError::at(
                    raw,
                    col(pos),
                    "`{}` names no folder",
                    "write the folder inside the braces: `{apps/web}`",
                ));
            }
            sel.dir = Some(dir.to_string());
            after = &inner[close + 1..];
            pos += close + 2;
        }
        if let Some(r) = after.strip_prefix("...") {
            if r.starts_with('[') {
                sel.match_dependencies = true;
                after = r;
                pos += 3;
            }
        }
        if let Some(inner) = after.strip_prefix('[') {
            let Some(close) = inner.find(']') else {
                return Err(FilterError::at(
                    raw,
                    col(pos),
                    "`[` is never closed",
                    "write the revision as `[main]` or `[main...HEAD]`",
                ));
            };
            let revs = &inner[..close];
            let (from, to) = match revs.split_once("...") {
                Some((f, t)) => (f, Some(t)),
                None => (revs, None),
            };
            if from.trim().is_empty() || to.is_some_and(|t| t.trim().is_empty()) {
                return Err(FilterError::at(
                    raw,
                    col(pos),
                    "a revision is missing inside `[...]`",
                    "write `[main]` (changed since main, uncommitted changes included) or `[main...feature]`",
                ));
            }
            sel.changed = Some(Changed {
                from: from.trim().to_string(),
                to: to.map(|t| t.trim().to_string()),
            });
            after = &inner[close + 1..];
            pos += close + 2;
        }
        if !after.is_empty() {
            return Err(FilterError::at(
                raw,
                col(pos),
                format!("unexpected `{}`", after.chars().next().unwrap_or(' ')),
                "the parts go in this order: name, {folder}, [revision]",
            ));
        }
        if sel.match_dependencies && sel.name.is_none() && sel.dir.is_none() {
            return Err(FilterError::at(
                raw,
                col(start),
                "`...[REV]` needs a name or a folder before it",
                "write `web...[main]` (web, if it or a dependency changed), or `...[main]` for what changed and its dependents",
            ));
        }
        Ok(sel)
    }

    /// The selector's folder as a workspace-relative glob, `cwd` being the workspace-relative
    /// directory the command runs in (`""` at the root); `None` when it leaves the workspace.
    pub(super) fn dir_pattern(&self, cwd: &str) -> Option<Option<String>> {
        let Some(dir) = &self.dir else {
            return Some(None);
        };
        let mut parts: Vec<&str> = cwd.split('/').filter(|p| !p.is_empty()).collect();
        for part in dir.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop()?;
                }
                p => parts.push(p),
            }
        }
        Some(Some(parts.join("/")))
    }
}
