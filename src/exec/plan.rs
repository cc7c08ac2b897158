//! What a run covers, decided before anything runs: the selected services and why they were
//! selected. Reporters read it; nothing here runs or prints.

use crate::affected::Impact;
use crate::config::ServiceId;

/// How the services of a run were chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectedBy {
    /// `--all`
    All,
    /// `--service NAME...`
    Services,
    /// What a range of changes affects.
    Affected,
}

impl SelectedBy {
    /// The name summaries and dry runs record: `all`, `services`, `affected`.
    pub fn as_str(self) -> &'static str {
        match self {
            SelectedBy::All => "all",
            SelectedBy::Services => "services",
            SelectedBy::Affected => "affected",
        }
    }
}

/// The services a run covers and why.
#[derive(Debug)]
pub struct Selection {
    /// Sorted, no duplicates.
    pub services: Vec<ServiceId>,
    pub by: SelectedBy,
    /// The changes and affected set, when selected by what changed.
    pub impact: Option<Impact>,
}
