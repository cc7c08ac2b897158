//! The shape of `pipeline.toml` exactly as written, with spans, before any validation. Unknown keys are
//! rejected here by serde so that a typo is an error with a position, not a silently ignored setting.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub type SpannedStr = Spanned<String>;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub workspace: RawWorkspace,
    #[serde(default)]
    pub targets: BTreeMap<SpannedStr, RawTarget>,
    #[serde(default)]
    pub services: BTreeMap<SpannedStr, RawService>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawWorkspace {
    #[serde(default)]
    pub members: Vec<SpannedStr>,
    pub default_base: Option<String>,
    #[serde(default)]
    pub global_inputs: Vec<SpannedStr>,
    #[serde(default)]
    pub ignore: Vec<SpannedStr>,
    pub unowned: Option<Spanned<super::UnownedPolicy>>,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    pub command: Option<String>,
    pub needs: Option<Vec<SpannedStr>>,
    pub inputs: Option<Vec<SpannedStr>>,
    pub outputs: Option<Vec<SpannedStr>>,
    pub env: Option<Vec<SpannedStr>>,
    pub cache: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
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
