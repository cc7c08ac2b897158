//! shockwave's command line: `cli` parses arguments, resolves settings, asks the engine
//! (`shockwave-core`) and renders. The modules the integration tests read are re-exported.

#![deny(unsafe_code)]

pub mod cli;

pub use shockwave_core::{config, diagnostic, discover, paths, tasks};
