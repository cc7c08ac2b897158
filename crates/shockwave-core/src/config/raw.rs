//! The shape of `pipeline.toml` exactly as written, with spans, before any validation. Unknown keys are
//! rejected here by serde so that a typo is an error with a position, not a silently ignored setting.
//! Nothing here checks what the values mean; that is `validate`'s work.

use std::collections::BTreeMap;
use std::ops::Range;

use schemars::{JsonSchema, Schema, SchemaGenerator};
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

/// In the file a spanned value is just the value: its schema is the value's.
impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

impl<T: Serialize> Serialize for Spanned<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.span.start, self.span.end, &self.value).serialize(s)
    }
}

/// `pipeline.toml`: the services of a monorepo, their dependencies and the targets they run.
/// Every path in it is relative to the directory that holds it.
#[derive(Debug, Deserialize, Serialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "pipeline.toml")]
pub struct RawConfig {
    /// Where the services are, which changes affect all of them or none, and the base to compare with.
    #[serde(default)]
    pub workspace: RawWorkspace,
    /// Defaults for target `NAME` of every service (`[targets.build]`).
    #[serde(default)]
    pub targets: BTreeMap<SpannedStr, RawTarget>,
    /// Services declared by hand, or configuration of a service found by `members` or discovery
    /// (`[services.user-service]`; any TOML key is a name, `[services."@shop/web"]` too).
    #[serde(default)]
    pub services: BTreeMap<SpannedStr, RawService>,
    /// Share task results through a server speaking Turborepo's remote cache API.
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

/// `[workspace]`: where the services are, and which changes affect all of them or none.
#[derive(Debug, Deserialize, Serialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Workspace")]
pub struct RawWorkspace {
    /// Globs of directories; each match is a service named after its last path component
    /// (`"."` is `root`). A folder git ignores, and all below it, is never a member.
    #[serde(default)]
    pub members: Vec<SpannedStr>,
    /// Base revision when `--base` is not given, e.g. `"origin/main"`. Without it the base is
    /// found: the CI's target branch, `origin/HEAD`, `main` or `master`.
    pub default_base: Option<String>,
    /// Globs; a changed match affects every service (reason `global`) and its files enter every
    /// task hash.
    #[serde(default)]
    pub global_inputs: Vec<SpannedStr>,
    /// Environment variables whose values enter every task hash (patterns as in a target's `env`).
    #[serde(default)]
    pub global_env: Vec<SpannedStr>,
    /// Globs; a changed match affects nothing. Checked first.
    #[serde(default)]
    pub ignore: Vec<SpannedStr>,
    /// A changed file no service owns: `warn` (default: a warning, listed in `unowned_files`),
    /// `all` (every service affected, reason `unowned`) or `ignore` (listed, no warning).
    pub unowned: Option<Spanned<super::model::UnownedPolicy>>,
    /// Read services and their dependencies from the workspace's manifests: `"auto"`, or a list
    /// of `"npm"`, `"pnpm"`, `"yarn"`, `"cargo"`, `"go"`, `"folders"`.
    #[schemars(with = "Option<DiscoverSchema>")]
    pub discover: Option<Spanned<toml::Value>>,
    /// `off` (default) or `watchman`: ask Watchman which files changed instead of stat'ing every
    /// tracked file. `SHOCKWAVE_FSMONITOR` wins over it.
    pub fsmonitor: Option<super::model::FsMonitorKind>,
}

/// `"auto"` (every ecosystem shockwave reads) or a list of ecosystems.
// Validation reads the setting as a plain TOML value, so that a wrong one is reported with its
// position and the list of valid ones; this type only describes it for the schema.
#[derive(JsonSchema)]
#[schemars(untagged, rename = "Discover")]
#[expect(dead_code, reason = "only describes the schema of `discover`")]
enum DiscoverSchema {
    /// Every ecosystem shockwave reads.
    Auto(DiscoverAuto),
    /// These ecosystems only.
    List(Vec<DiscoverSource>),
}

#[derive(JsonSchema)]
#[schemars(rename_all = "lowercase")]
#[expect(dead_code, reason = "only describes the schema of `discover`")]
enum DiscoverAuto {
    Auto,
}

#[derive(JsonSchema)]
#[schemars(rename_all = "lowercase")]
#[expect(dead_code, reason = "only describes the schema of `discover`")]
enum DiscoverSource {
    Npm,
    Pnpm,
    Yarn,
    Cargo,
    Go,
    Folders,
}

/// `[remote_cache]`: a server speaking Turborepo's remote cache API. Each key has an environment
/// variable that wins over the file; the token comes only from the environment
/// (`SHOCKWAVE_REMOTE_CACHE_TOKEN` or `TURBO_TOKEN`).
// `token` is accepted by the parser only to be refused with a position: a secret does not
// belong in a committed file. The schema leaves it out, so an editor flags it as well.
#[derive(Debug, Deserialize, Serialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "RemoteCache")]
pub struct RawRemoteCache {
    /// The server's URL, e.g. `"https://cache.example.com"` (`SHOCKWAVE_REMOTE_CACHE_URL`,
    /// `TURBO_API`).
    pub url: Option<SpannedStr>,
    /// The team (`?slug=`, or `?teamId=` for a team starting with `team_`;
    /// `SHOCKWAVE_REMOTE_CACHE_TEAM`, `TURBO_TEAM`).
    pub team: Option<String>,
    /// Read hits, never upload (`SHOCKWAVE_REMOTE_CACHE_READ_ONLY=1`).
    pub read_only: Option<bool>,
    /// Refuse unsigned or badly signed downloads; the key comes from
    /// `SHOCKWAVE_REMOTE_CACHE_SIGNATURE_KEY` (`SHOCKWAVE_REMOTE_CACHE_SIGNATURE=1`).
    pub signature: Option<bool>,
    /// Per request, e.g. `"30s"` (ms, s or m; at most 1 hour); also the wait for uploads at the
    /// end (`SHOCKWAVE_REMOTE_CACHE_TIMEOUT`).
    pub timeout: Option<SpannedStr>,
    #[schemars(skip)]
    pub token: Option<Spanned<toml::Value>>,
}

/// A target: `[targets.NAME]` for every service, or `[services.NAME.targets.T]` to override
/// fields of it for one service.
#[derive(Debug, Deserialize, Serialize, Default, Clone, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Target")]
pub struct RawTarget {
    /// Run with `sh -c` in the service root. Without one, a discovered package runs its own script
    /// of that name, and a discovered service without one does not have the target.
    pub command: Option<String>,
    /// Tasks to finish first: `"build"` (this service's `build`), `"^build"` (`build` of every
    /// dependency), `"web#build"` (`build` of service `web`; `//` is the root package).
    pub needs: Option<Vec<SpannedStr>>,
    /// Globs relative to the service root whose files enter the task hash (default `["**"]`); a
    /// pattern starting with `!` takes its matches out.
    pub inputs: Option<Vec<SpannedStr>>,
    /// Globs relative to the service root that are cached and restored (default none); a pattern
    /// starting with `!` takes its matches out.
    pub outputs: Option<Vec<SpannedStr>>,
    /// Environment variables whose values enter the hash (as keyed digests, never as text); `*`
    /// matches any run of characters (`NEXT_PUBLIC_*`) and `!NAME` takes names out again.
    pub env: Option<Vec<SpannedStr>>,
    /// `false`: never cached, never skipped (default `true`).
    pub cache: Option<bool>,
    /// A long-running task (a dev server): never cached, and no task may need it.
    pub persistent: Option<bool>,
    /// The task reads from the terminal: never cached.
    pub interactive: Option<bool>,
}

/// `[services.NAME]`: a service declared by hand, or more configuration of one that `members`
/// or discovery found.
#[derive(Debug, Deserialize, Serialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Service")]
pub struct RawService {
    /// The service's directory. Optional when a `members` folder has that name.
    pub root: Option<SpannedStr>,
    /// Names of services this one depends on.
    #[serde(default)]
    pub deps: Vec<SpannedStr>,
    /// More globs (relative to the workspace) whose files belong to the service.
    #[serde(default)]
    pub paths: Vec<SpannedStr>,
    /// Overrides of any field of `[targets.T]` for this service, or targets only it has.
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
