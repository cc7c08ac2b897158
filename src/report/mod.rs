//! Reporters: turn engine results into text for people, JSON for programs, GitHub outputs for
//! workflows and Markdown for pull requests. Reporters only read; a new format touches no engine code.

pub mod affected;
pub mod graph;
pub mod markdown;
pub mod output;
pub mod run;
pub mod style;
pub mod summary;
