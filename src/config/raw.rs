//! The shape of `pipeline.toml` exactly as written, with spans, before any validation. Unknown keys are
//! rejected here by serde so that a typo is an error with a position, not a silently ignored setting.
//! Nothing here checks what the values mean; that is `validate`'s work.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::diagnostic::Diagnostic;

pub type SpannedStr = Spanned<String>;

/// A value and where it is written in the file. From TOML it is read through [`toml::Spanned`];
/// in the parsed-config cache (a binary, not human-readable, format) it is the triple
/// `(start, end, value)`. Equality and order look at the value only, as `toml::Spanned`'s do.
#[derive(Debug, Clone)]
pub struct Spanned<T> {
    span: Range<usize>,
    value: T,
}

impl<T> Spanned<T> {
    pub fn new(span: Range<usize>, value: T) -> Self {
        Spanned { span, value }
    }

    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    pub fn get_ref(&self) -> &T {
        &self.value
    }

    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Eq> Eq for Spanned<T> {}

impl<T: PartialOrd> PartialOrd for Spanned<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.value.partial_cmp(&other.value)
    }
}

impl<T: Ord> Ord for Spanned<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.value.cmp(&other.value)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = toml::Spanned::<T>::deserialize(d)?;
            Ok(Spanned {
                span: s.span(),
                value: s.into_inner(),
            })
        } else {
            let (start, end, value) = <(usize, usize, T)>::deserialize(d)?;
            Ok(Spanned {
                span: start..end,
                value,
            })
        }
    }
}

impl<T: Serialize> Serialize for Spanned<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.span.start, self.span.end, &self.value).serialize(s)
    }
}

#[derive(Debug, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub workspace: RawWorkspace,
    #[serde(default)]
    pub targets: BTreeMap<SpannedStr, RawTarget>,
    #[serde(default)]
    pub services: BTreeMap<SpannedStr, RawService>,
    pub remote_cache: Option<RawRemoteCache>,
}

impl RawConfig {
    /// Parses TOML `text`; a syntax error, wrong type or unknown key is one diagnostic at its
    /// position.
    pub fn parse(text: &str) -> Result<RawConfig, Diagnostic> {
        toml::from_str(text).map_err(|e| {
            let msg = e.message().trim_end().to_string();
            let help = if msg.starts_with("unknown field") {
                "remove the key or fix its spelling; see the README's pipeline.toml reference"
            } else {
                "fix the TOML syntax or value type at this position"
            };
            let span = e.span().or_else(|| deepest_nesting(text));
            Diagnostic::new(msg).at_opt(span).help(help)
        })
    }
}

#[derive(Debug, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawWorkspace {
    #[serde(default)]
    pub members: Vec<SpannedStr>,
    pub default_base: Option<String>,
    #[serde(default)]
    pub global_inputs: Vec<SpannedStr>,
    #[serde(default)]
    pub global_env: Vec<SpannedStr>,
    #[serde(default)]
    pub ignore: Vec<SpannedStr>,
    pub unowned: Option<Spanned<super::model::UnownedPolicy>>,
    /// `"auto"` or a list of ecosystems; checked by validation.
    pub discover: Option<Spanned<toml::Value>>,
    pub fsmonitor: Option<super::model::FsMonitorKind>,
}

/// `[remote_cache]`. `token` is accepted by the parser only to be refused with a position: a
/// secret does not belong in a committed file.
#[derive(Debug, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRemoteCache {
    pub url: Option<SpannedStr>,
    pub team: Option<String>,
    pub read_only: Option<bool>,
    pub signature: Option<bool>,
    pub timeout: Option<SpannedStr>,
    pub token: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize, Serialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    pub command: Option<String>,
    pub needs: Option<Vec<SpannedStr>>,
    pub inputs: Option<Vec<SpannedStr>>,
    pub outputs: Option<Vec<SpannedStr>>,
    pub env: Option<Vec<SpannedStr>>,
    pub cache: Option<bool>,
    pub persistent: Option<bool>,
    pub interactive: Option<bool>,
}

#[derive(Debug, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub root: Option<SpannedStr>,
    #[serde(default)]
    pub deps: Vec<SpannedStr>,
    #[serde(default)]
    pub paths: Vec<SpannedStr>,
    #[serde(default)]
    pub targets: BTreeMap<SpannedStr, RawTarget>,
}

/// Where the text nests deepest (dotted keys, table headers, arrays, inline tables), for the one
/// TOML error that comes without a position: the parser's recursion limit. The span covers the
/// key or value at that depth.
fn deepest_nesting(text: &str) -> Option<Range<usize>> {
    let mut best: Option<(usize, usize)> = None;
    let mut open = 0usize;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let (mut depth, mut at) = (open, None);
        let mut in_string: Option<char> = None;
        for (i, c) in trimmed.char_indices() {
            match (in_string, c) {
                (Some(q), c) if c == q => in_string = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => in_string = Some(c),
                (None, '#') => break,
                (None, '.') => depth += 1,
                (None, '[' | '{') => {
                    open += 1;
                    depth = depth.max(open);
                    at.get_or_insert(i);
                }
                (None, ']' | '}') => open = open.saturating_sub(1),
                _ => {}
            }
        }
        if best.is_none_or(|(d, _)| depth > d) {
            let start = offset + (line.len() - trimmed.len()) + at.unwrap_or(0);
            best = Some((depth, start));
        }
        offset += line.len();
    }
    best.filter(|&(d, _)| d > 0).map(|(_, s)| s..s + 1)
}
