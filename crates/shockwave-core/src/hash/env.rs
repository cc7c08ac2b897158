//! Which environment variables a task declares and the digests their values enter its hash as:
//! `*` and `!` patterns expanded against the names set, values read through an [`EnvSource`].

use super::EnvDigest;

/// Where variable values come from (the process environment in the CLI).
pub struct EnvSource<'e> {
    /// The value of one variable.
    pub value: &'e (dyn Fn(&str) -> Option<Vec<u8>> + Sync),
    /// Every variable's name, for patterns with `*`.
    pub names: &'e (dyn Fn() -> Vec<String> + Sync),
}

/// The variables `patterns` name: the names as written, each `*` pattern's matches among `all`,
/// less the names a `!` pattern matches; sorted, deduplicated.
pub fn env_names(patterns: &[String], all: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in patterns.iter().filter(|p| !p.starts_with('!')) {
        if p.contains('*') {
            out.extend(all.iter().filter(|n| wildcard(p, n)).cloned());
        } else {
            out.push(p.clone());
        }
    }
    let excluded: Vec<&str> = patterns
        .iter()
        .filter_map(|p| p.strip_prefix('!'))
        .collect();
    out.retain(|n| !excluded.iter().any(|x| wildcard(x, n)));
    out.sort();
    out.dedup();
    out
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters.
fn wildcard(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for m in middle {
        match rest.find(m) {
            Some(i) => rest = &rest[i + m.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Whether any of `patterns` needs the list of every variable.
pub(super) fn needs_names(patterns: &[String]) -> bool {
    patterns
        .iter()
        .any(|p| p.contains('*') || p.starts_with('!'))
}

/// Each variable and the digest of its value (`None`: unset).
pub(super) fn env_digests(
    names: &[String],
    env: &EnvSource<'_>,
) -> Vec<(String, Option<EnvDigest>)> {
    names
        .iter()
        .map(|k| (k.clone(), (env.value)(k).map(|v| EnvDigest::of(k, &v))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_patterns_expand_against_the_names_set() {
        let all: Vec<String> = ["NEXT_PUBLIC_A", "NEXT_PUBLIC_SECRET", "PATH", "API_URL"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let patterns: Vec<String> = ["NEXT_PUBLIC_*", "!*SECRET", "API_URL", "UNSET"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            env_names(&patterns, &all),
            ["API_URL", "NEXT_PUBLIC_A", "UNSET"]
        );
        assert!(wildcard("A*B*C", "AxxBxC") && !wildcard("A*B*C", "AxxC"));
        assert!(wildcard("*", "") && !wildcard("AB*", "A") && wildcard("*AB", "AB"));
    }
}
