//! The targets a discovered unit gets without any configuration, where its ecosystem has an
//! obvious command: an npm-family package's `scripts` (run through its package manager), a Cargo
//! crate's `build`, `test` and `lint`, a Go unit's `build` and `test`. A `command` in pipeline.toml
//! (`[targets.NAME]` or `[services.X.targets.NAME]`) wins over each of them. Pure functions: no
//! reading, no deciding what runs.

use super::{Ecosystem, Kind};

/// The default targets of a Cargo crate or a Go unit, sorted (npm-family packages have their
/// `scripts` instead, and service folders none).
pub fn default_targets(ecosystem: Ecosystem, kind: Kind) -> Vec<String> {
    let names: &[&str] = match (ecosystem, kind) {
        (Ecosystem::Cargo, _) => &["build", "lint", "test"],
        (Ecosystem::Go, _) => &["build", "test"],
        _ => &[],
    };
    names.iter().map(|n| n.to_string()).collect()
}

/// The command of default target `target` of a unit of `ecosystem` and `kind`, run in its root;
/// `package` is its package name (a Cargo crate's, which `-p` takes). `None` when the ecosystem
/// has none for that target.
pub fn default_command(
    ecosystem: Ecosystem,
    kind: Kind,
    package: &str,
    target: &str,
) -> Option<String> {
    Some(match (ecosystem, kind, target) {
        (e, _, script) if e.is_npm_family() => format!("{} run {}", e.as_str(), sh_word(script)),
        (Ecosystem::Cargo, _, "build") => format!("cargo build -p {}", sh_word(package)),
        (Ecosystem::Cargo, _, "test") => format!("cargo test -p {}", sh_word(package)),
        (Ecosystem::Cargo, _, "lint") => format!("cargo clippy -p {}", sh_word(package)),
        // A package is one folder of the module: `go build` and `go test` of it alone.
        (Ecosystem::Go, Kind::Package, "build") => "go build .".to_string(),
        (Ecosystem::Go, Kind::Package, "test") => "go test .".to_string(),
        // A service (a binary's folder, or a module) is every package below its root. `-o
        // /dev/null` compiles a single `package main` without leaving its binary in the folder.
        (Ecosystem::Go, Kind::Service, "build") => "go build -o /dev/null ./...".to_string(),
        (Ecosystem::Go, Kind::Service, "test") => "go test ./...".to_string(),
        _ => return None,
    })
}

/// `word` as one `sh` word: as it is when it holds only the characters script and package names
/// usually have, else single-quoted.
fn sh_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_:.@/+=".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_ecosystem_has_its_obvious_commands() {
        let cmd = |e, k, t| default_command(e, k, "my-crate", t);
        assert_eq!(
            cmd(Ecosystem::Pnpm, Kind::Service, "build").as_deref(),
            Some("pnpm run build")
        );
        assert_eq!(
            cmd(Ecosystem::Yarn, Kind::Service, "a b").as_deref(),
            Some("yarn run 'a b'")
        );
        assert_eq!(
            cmd(Ecosystem::Cargo, Kind::Service, "lint").as_deref(),
            Some("cargo clippy -p my-crate")
        );
        assert_eq!(
            cmd(Ecosystem::Go, Kind::Package, "test").as_deref(),
            Some("go test .")
        );
        assert_eq!(
            cmd(Ecosystem::Go, Kind::Service, "build").as_deref(),
            Some("go build -o /dev/null ./...")
        );
        assert_eq!(cmd(Ecosystem::Go, Kind::Service, "lint"), None);
        assert_eq!(cmd(Ecosystem::Python, Kind::Service, "build"), None);
        assert_eq!(
            default_targets(Ecosystem::Cargo, Kind::Service),
            ["build", "lint", "test"]
        );
    }
}
