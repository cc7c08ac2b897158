//! YAML as discovery reads it (`pnpm-workspace.yaml`, `pnpm-lock.yaml`): serde-saphyr with a
//! budget sized to the text instead of its fixed defaults, which refuse real lockfiles of large
//! monorepos (250,000 nodes is about 15,000 packages) while allowing far more than a small
//! hostile file needs.
//!
//! Without aliases, YAML has at most about one node per byte (`?\n` is two nodes in two
//! bytes), so the budget is two nodes and four parser events per byte of the text plus a fixed
//! allowance: every file pnpm or a person writes fits, however large, and what an alias bomb
//! (a "billion laughs") can expand to is bounded by its own size — a 1 KiB bomb is refused
//! after about 70,000 events, in milliseconds. Aliases replayed count against the same events,
//! nodes and scalar bytes; nesting stays at serde-saphyr's 64 levels.

use serde::de::DeserializeOwned;

/// Nodes (scalars, sequences, mappings) a text may hold beyond two per byte.
pub const NODE_ALLOWANCE: usize = 32_768;
/// Parser events a text may cause beyond four per byte.
pub const EVENT_ALLOWANCE: usize = 65_536;

/// `text` parsed as `T`, within the budget above.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, serde_saphyr::Error> {
    let len = text.len();
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_nodes: len.saturating_mul(2).saturating_add(NODE_ALLOWANCE),
            max_events: len.saturating_mul(4).saturating_add(EVENT_ALLOWANCE),
            max_total_scalar_bytes: len.saturating_mul(2).saturating_add(1 << 20),
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: len.saturating_mul(4).saturating_add(EVENT_ALLOWANCE),
        },
    };
    serde_saphyr::from_str_with_options(text, options)
}

#[cfg(test)]
mod tests {
    use super::from_str;
    use std::collections::BTreeMap;

    type Doc = BTreeMap<String, serde_json::Value>;

    /// More nodes than serde-saphyr's default budget (250,000) in a plain large mapping.
    #[test]
    fn a_large_document_is_read() {
        let mut text = String::from("packages:\n");
        for i in 0..100_000 {
            text.push_str(&format!(
                "  p{i}@1.0.0:\n    dependencies:\n      q{i}: 1.0.0\n"
            ));
        }
        let doc: Doc = from_str(&text).unwrap();
        assert_eq!(doc["packages"].as_object().unwrap().len(), 100_000);
    }

    /// A billion laughs: nine levels of ten aliases each would be 10⁹ scalars.
    #[test]
    fn an_alias_bomb_is_refused_quickly() {
        let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for level in 1..10 {
            let refs = vec![format!("*a{}", level - 1); 10].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
        }
        let start = crate::discover::thread_cpu();
        let err = from_str::<Doc>(&text).unwrap_err().to_string();
        let took = crate::discover::thread_cpu() - start;
        assert!(took.as_secs() < 2, "took {took:?} of CPU");
        assert!(
            err.contains("budget") || err.contains("alias") || err.contains("limit"),
            "{err}"
        );
    }
}
