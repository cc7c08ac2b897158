//! The linking rules of npm, pnpm and yarn: given a dependency's specifier, whether the package
//! manager links the workspace package of that name instead of fetching one, and which package
//! manager a workspace uses. Pure functions of their arguments; no I/O.

use nodejs_semver::{Range, Version};

use crate::discover::Ecosystem;

/// How a dependency specifier resolves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Spec<'a> {
    /// `workspace:…`: always the workspace package of that name (an error when there is none).
    Workspace,
    /// `file:` / `link:` / `portal:` with a relative path: whatever package lives there.
    Path(&'a str),
    /// A semver range (or `*`, or empty): linked when the local version satisfies it and the
    /// package manager links plain ranges.
    Range(&'a str),
    /// Anything fetched: `npm:` aliases, tags, git and tarball URLs, `catalog:`.
    External,
}

pub(super) fn classify(spec: &str) -> Spec<'_> {
    let spec = spec.trim();
    if spec.starts_with("workspace:") {
        return Spec::Workspace;
    }
    for protocol in ["file:", "link:", "portal:"] {
        if let Some(path) = spec.strip_prefix(protocol) {
            return Spec::Path(path);
        }
    }
    // Every other protocol (`npm:`, `git+https:`, `github:`, `catalog:`, …) and `owner/repo`
    // shorthands are fetched; a range never holds `:` or `/`.
    if spec.contains(':') || spec.contains('/') {
        return Spec::External;
    }
    Spec::Range(spec)
}

/// Whether a plain `range` on a workspace package at `version` links it under `pm`.
/// `pnpm_links_ranges` is pnpm's `link-workspace-packages` as resolved for the workspace.
pub(super) fn range_links(
    pm: Ecosystem,
    pnpm_links_ranges: bool,
    range: &str,
    version: Option<&str>,
) -> bool {
    if pm == Ecosystem::Pnpm && !pnpm_links_ranges {
        return false;
    }
    if range.is_empty() || range == "*" {
        return true;
    }
    // A dist-tag (`latest`, `next`) is not a range: npm and yarn fetch it from the registry.
    let (Ok(range), Some(Ok(version))) = (Range::parse(range), version.map(Version::parse)) else {
        return false;
    };
    range.satisfies(&version)
}

/// The package manager named by `packageManager` (`pnpm@9.1.0+sha…`), with its major version.
pub(super) fn from_package_manager(field: &str) -> Option<(Ecosystem, Option<u64>)> {
    let (name, version) = field.split_once('@').unwrap_or((field, ""));
    let pm = match name.trim() {
        "npm" => Ecosystem::Npm,
        "pnpm" => Ecosystem::Pnpm,
        "yarn" => Ecosystem::Yarn,
        _ => return None,
    };
    let major = version
        .split(['.', '+'])
        .next()
        .and_then(|m| m.parse().ok());
    Some((pm, major))
}

/// pnpm's major version as its lockfile's `lockfileVersion` line tells it: `'9.0'` is written by
/// pnpm 9 and later, `'6.x'` by pnpm 8, `5.x` by pnpm 7.
pub(super) fn pnpm_major_from_lockfile(head: &str) -> Option<u64> {
    let line = head
        .lines()
        .find_map(|l| l.strip_prefix("lockfileVersion:"))?;
    let v = line.trim().trim_matches(['\'', '"']);
    let major: u64 = v.split('.').next()?.parse().ok()?;
    Some(match major {
        9.. => 9,
        6 => 8,
        _ => 7,
    })
}

/// `link-workspace-packages` from `.npmrc` text (`true`, `false` or `deep`), when set.
pub(super) fn npmrc_link_setting(npmrc: &str) -> Option<bool> {
    npmrc.lines().rev().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "link-workspace-packages").then(|| value.trim() != "false")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specifiers_are_classified_as_the_package_managers_read_them() {
        assert_eq!(classify("workspace:*"), Spec::Workspace);
        assert_eq!(classify("workspace:^1.0.0"), Spec::Workspace);
        assert_eq!(classify("file:../b"), Spec::Path("../b"));
        assert_eq!(classify("npm:other@^1"), Spec::External);
        assert_eq!(classify("github:o/r"), Spec::External);
        assert_eq!(classify("o/r"), Spec::External);
        assert_eq!(classify("catalog:"), Spec::External);
        assert_eq!(classify("^1.2.0"), Spec::Range("^1.2.0"));
    }

    #[test]
    fn ranges_link_when_satisfied() {
        let npm = Ecosystem::Npm;
        assert!(range_links(npm, false, "^1.0.0", Some("1.4.0")));
        assert!(!range_links(npm, false, "^2.0.0", Some("1.4.0")));
        assert!(range_links(npm, false, "*", None));
        assert!(!range_links(npm, false, "latest", Some("1.0.0")));
        assert!(range_links(npm, false, ">=1.0.0 <2", Some("1.9.9")));
        // npm leaves out prereleases unless the range names one of the same version.
        assert!(!range_links(npm, false, "^1.0.0", Some("1.1.0-beta.1")));
        assert!(!range_links(
            Ecosystem::Pnpm,
            false,
            "^1.0.0",
            Some("1.4.0")
        ));
        assert!(range_links(Ecosystem::Pnpm, true, "^1.0.0", Some("1.4.0")));
    }

    #[test]
    fn package_manager_and_versions() {
        assert_eq!(
            from_package_manager("pnpm@9.1.0+sha512.abc"),
            Some((Ecosystem::Pnpm, Some(9)))
        );
        assert_eq!(
            from_package_manager("yarn@4.0.2"),
            Some((Ecosystem::Yarn, Some(4)))
        );
        assert_eq!(from_package_manager("bun@1"), None);
        assert_eq!(
            pnpm_major_from_lockfile("lockfileVersion: '9.0'\n"),
            Some(9)
        );
        assert_eq!(
            pnpm_major_from_lockfile("lockfileVersion: '6.0'\n"),
            Some(8)
        );
        assert_eq!(
            npmrc_link_setting("a=b\nlink-workspace-packages = true\n"),
            Some(true)
        );
        assert_eq!(
            npmrc_link_setting("link-workspace-packages=false"),
            Some(false)
        );
        assert_eq!(npmrc_link_setting("x=1"), None);
    }
}
