//! Closures of real lockfiles written by npm 11, pnpm 8 and 9, yarn 1 and 4 and cargo for one
//! workspace (`tests/fixtures/lockfiles/`): `a` needs is-number, `b` links `a` and needs debug
//! (which needs ms 2.1.3), `c` needs ms, ajv and ajv-keywords (a peer of ajv) and, as a dev
//! dependency, another is-number. Between a fixture and its `after.` twin only `c`'s ms moved
//! from 2.1.2 to 2.1.3.

use super::*;

macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/lockfiles/",
            $path
        ))
    };
}

fn user(service: &str, key: &str, direct: &[&str]) -> LockUser {
    LockUser {
        service: service.to_owned(),
        key: key.to_owned(),
        direct: direct.iter().map(|d| (*d).to_owned()).collect(),
    }
}

fn set(entries: &[&str]) -> Closure {
    entries.iter().map(|e| (*e).to_owned()).collect()
}

/// The users of the JavaScript fixtures, keyed by folder (npm, pnpm) or by name (yarn).
fn js_users(format: LockFormat) -> Vec<LockUser> {
    let key = |name: &str| match format {
        LockFormat::YarnLock => name.to_owned(),
        _ => format!("packages/{name}"),
    };
    vec![
        user("a", &key("a"), &["is-number@^7.0.0"]),
        user("b", &key("b"), &["a@1.0.0", "debug@^4.3.4"]),
        user(
            "c",
            &key("c"),
            &[
                "ms@^2.0.0",
                "ajv@^8.12.0",
                "ajv-keywords@^5.1.0",
                "is-number@6.0.0",
            ],
        ),
    ]
}

fn ajv() -> Vec<&'static str> {
    vec![
        "ajv@8.20.0",
        "ajv-keywords@5.1.0",
        "fast-deep-equal@3.1.3",
        "fast-uri@3.1.9",
        "json-schema-traverse@1.0.0",
        "require-from-string@2.0.2",
        "is-number@6.0.0",
    ]
}

/// `name@version` of each entry: without pnpm's peer suffixes and any source.
fn plain(closures: Vec<Closure>) -> Vec<Closure> {
    closures
        .into_iter()
        .map(|c| {
            c.into_iter()
                .map(|e| {
                    let e = e.split_once(" ").map_or(e.as_str(), |(head, _)| head);
                    e.split_once('(').map_or(e, |(head, _)| head).to_owned()
                })
                .collect()
        })
        .collect()
}

/// Checks the three closures before and after: only `c`'s changes, by ms.
fn check_js(format: LockFormat, before: &str, after: &str, b_links_a: bool) {
    let users = js_users(format);
    let old = plain(closures(format, before.as_bytes(), &users).unwrap());
    let new = plain(closures(format, after.as_bytes(), &users).unwrap());
    assert_eq!(old[0], set(&["is-number@7.0.0"]));
    let mut b = vec!["debug@4.4.3", "ms@2.1.3"];
    if b_links_a {
        b.push("is-number@7.0.0");
    }
    assert_eq!(old[1], set(&b));
    let mut c = ajv();
    c.push("ms@2.1.2");
    assert_eq!(old[2], set(&c));
    assert_eq!(old[0], new[0]);
    assert_eq!(old[1], new[1]);
    c.pop();
    c.push("ms@2.1.3");
    assert_eq!(new[2], set(&c));
}

#[test]
fn npm_v3_resolves_nested_and_hoisted_packages_and_follows_workspace_links() {
    let before = fixture!("npm/package-lock.json");
    check_js(
        LockFormat::NpmLock,
        before,
        fixture!("npm/after.package-lock.json"),
        true,
    );
}

#[test]
fn npm_v2_reads_the_packages_map() {
    let v2 = fixture!("npm/v2.package-lock.json");
    let v3 = fixture!("npm/package-lock.json");
    let users = js_users(LockFormat::NpmLock);
    assert_eq!(
        closures(LockFormat::NpmLock, v2.as_bytes(), &users).unwrap(),
        closures(LockFormat::NpmLock, v3.as_bytes(), &users).unwrap()
    );
}

#[test]
fn npm_root_package_is_the_empty_key_and_v1_is_refused() {
    let lock = r#"{"lockfileVersion": 3, "packages": {"": {"dependencies": {"x": "1"}},
        "node_modules/x": {"version": "1.0.0"}}}"#;
    let got = closures(
        LockFormat::NpmLock,
        lock.as_bytes(),
        &[user("root", "", &[])],
    )
    .unwrap();
    assert_eq!(got, vec![set(&["x@1.0.0"])]);
    let v1 = r#"{"lockfileVersion": 1, "dependencies": {}}"#;
    let err = closures(LockFormat::NpmLock, v1.as_bytes(), &[]).unwrap_err();
    assert_eq!(err.file, "package-lock.json");
    assert!(
        err.message.contains("lockfileVersion 1 is not supported"),
        "{err}"
    );
}

#[test]
fn pnpm_v9_reads_importers_and_snapshots_with_peer_suffixes() {
    let before = fixture!("pnpm/pnpm-lock.yaml");
    check_js(
        LockFormat::PnpmLock,
        before,
        fixture!("pnpm/after.pnpm-lock.yaml"),
        true,
    );
}

#[test]
fn pnpm_v6_reads_slash_keys_and_link_versions() {
    // pnpm 8 links `a` by its plain range (`link:../a`); pnpm 9 needs `workspace:`.
    let before = fixture!("pnpm/v6.pnpm-lock.yaml");
    check_js(
        LockFormat::PnpmLock,
        before,
        fixture!("pnpm/v6-after.pnpm-lock.yaml"),
        true,
    );
}

#[test]
fn pnpm_single_project_and_unknown_versions() {
    let single = "lockfileVersion: '9.0'\ndependencies:\n  x:\n    specifier: ^1\n    \
                  version: 1.0.0\npackages:\n  x@1.0.0:\n    resolution: {integrity: s}\n\
                  snapshots:\n  x@1.0.0: {}\n";
    let got = closures(
        LockFormat::PnpmLock,
        single.as_bytes(),
        &[user("r", "", &[])],
    )
    .unwrap();
    assert_eq!(got, vec![set(&["x@1.0.0 #s"])]);
    for version in ["5.4", "'10.0'", "nine"] {
        let lock = format!("lockfileVersion: {version}\n");
        let err = closures(LockFormat::PnpmLock, lock.as_bytes(), &[]).unwrap_err();
        assert!(
            err.message.contains("is not supported (6 to 9 are)"),
            "{err}"
        );
    }
}

#[test]
fn yarn_v1_starts_from_the_declared_ranges() {
    // yarn 1 does not record workspaces, so `b` does not reach `a`'s is-number.
    let before = fixture!("yarn1/yarn.lock");
    check_js(
        LockFormat::YarnLock,
        before,
        fixture!("yarn1/after.yarn.lock"),
        false,
    );
}

#[test]
fn yarn_berry_starts_from_the_workspace_entries() {
    let before = fixture!("berry/yarn.lock");
    check_js(
        LockFormat::YarnLock,
        before,
        fixture!("berry/after.yarn.lock"),
        true,
    );
}

#[test]
fn yarn_berry_unknown_metadata_version_is_refused() {
    let lock = "# This file is generated by running \"yarn install\" inside your project.\n\
                # Manual changes might be lost - proceed with caution!\n\n__metadata:\n  version: 99\n  cacheKey: 10c0\n\n\"x@npm:1\":\n  version: 1.0.0\n  \
                resolution: \"x@npm:1.0.0\"\n  languageName: node\n  linkType: hard\n";
    let err = closures(LockFormat::YarnLock, lock.as_bytes(), &[]).unwrap_err();
    assert!(err.message.contains("version 99 is not supported"), "{err}");
}

#[test]
fn cargo_v4_follows_path_crates_and_counts_dev_dependencies() {
    let users = [
        user("a", "a", &[]),
        user("b", "b", &[]),
        user("c", "c", &[]),
    ];
    let before = fixture!("cargo/Cargo.lock");
    let after = fixture!("cargo/after.Cargo.lock");
    let old = closures(LockFormat::CargoLock, before.as_bytes(), &users).unwrap();
    let new = closures(LockFormat::CargoLock, after.as_bytes(), &users).unwrap();
    assert_eq!(old[0], set(&["itoa@1.0.19"]));
    assert_eq!(old[1], set(&["itoa@1.0.19", "memchr@2.8.3"]));
    assert_eq!(old[2], set(&["itoa@1.0.19", "ryu@1.0.18"]));
    assert_eq!((&old[0], &old[1]), (&new[0], &new[1]));
    assert_eq!(new[2], set(&["itoa@1.0.19", "ryu@1.0.23"]));
    let v3 = before.replace("version = 4", "version = 3");
    assert_eq!(
        closures(LockFormat::CargoLock, v3.as_bytes(), &users).unwrap(),
        old
    );
}

#[test]
fn cargo_tells_versions_and_sources_apart_and_refuses_unknown_versions() {
    let lock = r#"version = 3
[[package]]
name = "app"
version = "0.1.0"
dependencies = ["dep 1.0.0", "dep 2.0.0 (git+https://example.com/dep#abc)"]
[[package]]
name = "dep"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
[[package]]
name = "dep"
version = "2.0.0"
source = "git+https://example.com/dep#abc"
"#;
    let got = closures(
        LockFormat::CargoLock,
        lock.as_bytes(),
        &[user("app", "app", &[])],
    );
    let want = set(&["dep@1.0.0", "dep@2.0.0 (git+https://example.com/dep#abc)"]);
    assert_eq!(got.unwrap(), vec![want]);
    let newer = "version = 5\n[[package]]\nname = \"x\"\nversion = \"1.0.0\"\n";
    let err = closures(LockFormat::CargoLock, newer.as_bytes(), &[]).unwrap_err();
    assert!(err.message.contains("version 5 is not supported"), "{err}");
}

/// v1 and v2, as cargo writes them for a workspace whose `rust-version` predates v2 (1.40) and
/// v3 (1.45): the same closures as v4, and the same change when `ryu` moves.
#[test]
fn cargo_v1_and_v2_read_like_v4() {
    let users = [
        user("a", "a", &[]),
        user("b", "b", &[]),
        user("c", "c", &[]),
    ];
    let v4 = closures(
        LockFormat::CargoLock,
        fixture!("cargo/Cargo.lock").as_bytes(),
        &users,
    )
    .unwrap();
    let v4_after = closures(
        LockFormat::CargoLock,
        fixture!("cargo/after.Cargo.lock").as_bytes(),
        &users,
    )
    .unwrap();
    for (before, after) in [
        (
            fixture!("cargo-old/v1.Cargo.lock"),
            fixture!("cargo-old/v1.after.Cargo.lock"),
        ),
        (
            fixture!("cargo-old/v2.Cargo.lock"),
            fixture!("cargo-old/v2.after.Cargo.lock"),
        ),
    ] {
        assert_eq!(
            closures(LockFormat::CargoLock, before.as_bytes(), &users).unwrap(),
            v4
        );
        assert_eq!(
            closures(LockFormat::CargoLock, after.as_bytes(), &users).unwrap(),
            v4_after
        );
    }
}

const GO_MOD: &str = "module example.com/shop

go 1.22

toolchain go1.22.4

require (
\tgithub.com/google/uuid v1.6.0
\tgolang.org/x/net v0.20.0
\tgolang.org/x/net/html v0.1.0 // a nested module
\tgolang.org/x/sys v0.16.0 // indirect
)

replace golang.org/x/net v0.20.0 => golang.org/x/net v0.21.0

replace github.com/google/uuid => ./third_party/uuid

exclude golang.org/x/net v0.19.0
";

#[test]
fn gomod_closure_is_the_modules_providing_the_imports() {
    let users = [
        user("users", "services/users", &["github.com/google/uuid"]),
        user(
            "web",
            "services/web",
            &["golang.org/x/net/html/atom", "golang.org/x/net/http2"],
        ),
        user("none", "services/none", &[]),
    ];
    let got = closures(LockFormat::GoMod, GO_MOD.as_bytes(), &users).unwrap();
    let shared = ["go@1.22", "toolchain@go1.22.4", "golang.org/x/sys@v0.16.0"];
    let with = |extra: &[&str]| set(&[&shared[..], extra].concat());
    assert_eq!(
        got[0],
        with(&[
            "github.com/google/uuid@v1.6.0",
            "github.com/google/uuid => ./third_party/uuid"
        ])
    );
    assert_eq!(
        got[1],
        with(&[
            "golang.org/x/net/html@v0.1.0",
            "golang.org/x/net@v0.20.0",
            "golang.org/x/net@v0.20.0 => golang.org/x/net@v0.21.0",
            "golang.org/x/net@v0.19.0 excluded",
        ])
    );
    assert_eq!(got[2], with(&[]));
}

#[test]
fn gomod_unparsable_is_an_error() {
    let err = closures(LockFormat::GoMod, b"module\nrequire ((\n", &[]).unwrap_err();
    assert_eq!(err.file, "go.mod");
    assert!(err.message.contains("cannot be parsed"), "{err}");
}

#[test]
fn a_user_missing_from_the_lockfile_is_not_an_empty_closure() {
    let lock = fixture!("npm/package-lock.json");
    let got = closures(
        LockFormat::NpmLock,
        lock.as_bytes(),
        &[user("d", "packages/d", &[])],
    );
    assert_eq!(got.unwrap(), vec![set(&["<packages/d not in lockfile>"])]);
}

#[test]
fn not_utf8_is_an_error() {
    let err = closures(LockFormat::CargoLock, b"version = 3\n\xff", &[]).unwrap_err();
    assert!(err.message.contains("is not UTF-8"), "{err}");
}

/// Every format on truncated, bit-flipped and deeply nested bytes: an error or closures,
/// never a panic or a stack overflow.
#[test]
fn random_and_truncated_bytes_never_panic() {
    let inputs: [(LockFormat, &str); 6] = [
        (LockFormat::NpmLock, fixture!("npm/package-lock.json")),
        (LockFormat::PnpmLock, fixture!("pnpm/pnpm-lock.yaml")),
        (LockFormat::PnpmLock, fixture!("pnpm/v6.pnpm-lock.yaml")),
        (LockFormat::YarnLock, fixture!("yarn1/yarn.lock")),
        (LockFormat::YarnLock, fixture!("berry/yarn.lock")),
        (LockFormat::CargoLock, fixture!("cargo/Cargo.lock")),
    ];
    let mut inputs: Vec<(LockFormat, Vec<u8>)> = inputs
        .iter()
        .map(|(f, s)| (*f, s.as_bytes().to_vec()))
        .collect();
    inputs.push((LockFormat::GoMod, GO_MOD.as_bytes().to_vec()));
    let users = js_users(LockFormat::NpmLock);
    // A fixed xorshift sequence: reproducible without a dependency.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (format, bytes) in &inputs {
        for cut in (0..bytes.len()).step_by(bytes.len() / 97 + 1) {
            let _ = closures(*format, &bytes[..cut], &users);
        }
        for _ in 0..100 {
            let mut mutated = bytes.clone();
            for _ in 0..1 + next() % 8 {
                let at = (next() % mutated.len() as u64) as usize;
                mutated[at] = b"{}[]():\"'\n -@/#\x00\xff"[(next() % 17) as usize];
            }
            let _ = closures(*format, &mutated, &users);
        }
        let _ = closures(*format, &[0xff; 64], &users);
    }
    for deep in [
        "[".repeat(20_000),
        "a:\n".to_owned() + &"- ".repeat(20_000),
        "[[".repeat(20_000),
    ] {
        for format in [
            LockFormat::NpmLock,
            LockFormat::PnpmLock,
            LockFormat::CargoLock,
        ] {
            assert!(closures(format, deep.as_bytes(), &users).is_err());
        }
        let _ = closures(LockFormat::YarnLock, deep.as_bytes(), &users);
        let _ = closures(LockFormat::GoMod, deep.as_bytes(), &users);
    }
}

/// A dependency from git (or any non-registry source) keeps its version when its commit moves:
/// the closure must still change, or the new commit is a false cache hit.
#[test]
fn a_git_dependency_at_a_new_commit_changes_the_closure() {
    let npm = |resolved: &str| {
        format!(
            r#"{{"lockfileVersion": 3, "packages": {{
                "": {{"workspaces": ["packages/a"]}},
                "packages/a": {{"dependencies": {{"foo": "github:x/foo", "ms": "^2"}}}},
                "node_modules/a": {{"resolved": "packages/a", "link": true}},
                "node_modules/foo": {{"version": "1.0.0", "resolved": "{resolved}"}},
                "node_modules/ms": {{"version": "2.1.3", "resolved": "https://registry.npmjs.org/ms/-/ms-2.1.3.tgz"}}
            }}}}"#
        )
    };
    let users = [user("a", "packages/a", &[])];
    let at = |text: String| closures(LockFormat::NpmLock, text.as_bytes(), &users).unwrap();
    let one = at(npm("git+ssh://git@github.com/x/foo.git#1111111"));
    let two = at(npm("git+ssh://git@github.com/x/foo.git#2222222"));
    assert_ne!(one, two);
    assert!(one[0].contains("ms@2.1.3"), "{one:?}");

    let yarn1 = |sha: &str| {
        format!(
            "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\n\"foo@github:x/foo\":\n  version \"1.0.0\"\n  resolved \"https://codeload.github.com/x/foo/tar.gz/{sha}\"\n\nms@^2:\n  version \"2.1.3\"\n  resolved \"https://registry.yarnpkg.com/ms/-/ms-2.1.3.tgz#abc\"\n  integrity sha512-x==\n"
        )
    };
    let users = [user("a", "a", &["foo@github:x/foo", "ms@^2"])];
    let at = |text: String| closures(LockFormat::YarnLock, text.as_bytes(), &users).unwrap();
    let (one, two) = (at(yarn1("1111111")), at(yarn1("2222222")));
    assert_ne!(one, two);
    assert!(one[0].contains("ms@2.1.3"), "{one:?}");

    let berry = |sha: &str| {
        format!(
            "# This file is generated by running \"yarn install\" inside your project.\n# Manual changes might be lost - proceed with caution!\n\n__metadata:\n  version: 8\n  cacheKey: 10c0\n\n\"a@workspace:packages/a\":\n  version: 0.0.0-use.local\n  resolution: \"a@workspace:packages/a\"\n  dependencies:\n    foo: \"github:x/foo\"\n  languageName: unknown\n  linkType: soft\n\n\"foo@github:x/foo\":\n  version: 1.0.0\n  resolution: \"foo@https://github.com/x/foo.git#commit={sha}\"\n  languageName: node\n  linkType: hard\n"
        )
    };
    let users = [user("a", "a", &[])];
    let at = |text: String| closures(LockFormat::YarnLock, text.as_bytes(), &users).unwrap();
    let (one, two) = (at(berry("1111111")), at(berry("2222222")));
    assert_ne!(one, two, "{one:?}");
}

/// A v9 lockfile where `c` needs `r`, which has peers; `extra` is added to the snapshot key and
/// `integrity` is the registry tarball's.
fn pnpm9(peers: &str, integrity: &str) -> String {
    format!(
        "lockfileVersion: '9.0'\n\nimporters:\n\n  packages/a:\n    dependencies:\n      z:\n        \
         specifier: ^3\n        version: 3.25.76\n\n  packages/c:\n    dependencies:\n      r:\n        \
         specifier: ^3\n        version: 3.10.0{peers}\n\npackages:\n\n  r@3.10.0:\n    \
         resolution: {{integrity: {integrity}}}\n\n  z@3.25.76:\n    resolution: {{integrity: sha512-zzz}}\n\n\
         snapshots:\n\n  r@3.10.0{peers}:\n    dependencies:\n      z: 3.25.76\n\n  z@3.25.76: {{}}\n"
    )
}

#[test]
fn pnpm_identity_is_the_whole_snapshot_key_and_the_resolution() {
    let users = [user("a", "packages/a", &[]), user("c", "packages/c", &[])];
    let at = |text: String| closures(LockFormat::PnpmLock, text.as_bytes(), &users).unwrap();
    let base = at(pnpm9("(z@3.25.76)", "sha512-AAAAAAAAAAAAAAAAAAAAAAAA"));
    assert_eq!(
        base[1],
        set(&[
            "r@3.10.0(z@3.25.76) #sha512-AAAAAAAAAAAAAAAA",
            "z@3.25.76 #sha512-zzz"
        ])
    );
    // A new peer (a `packageExtensions` entry), a patch and a re-published tarball each change
    // `c` alone: `a` installs the same z.
    for changed in [
        pnpm9("(y@1.0.0)(z@3.25.76)", "sha512-AAAAAAAAAAAAAAAAAAAAAAAA"),
        pnpm9(
            "(patch_hash=abc)(z@3.25.76)",
            "sha512-AAAAAAAAAAAAAAAAAAAAAAAA",
        ),
        pnpm9("(z@3.25.76)", "sha512-BBBBBBBBBBBBBBBBBBBBBBBB"),
    ] {
        let head = at(changed);
        assert_eq!(head[0], base[0]);
        assert_ne!(head[1], base[1]);
    }
}

#[test]
fn pnpm_v6_git_resolutions_and_patches_are_identities() {
    let v6 = |commit: &str, patch: &str| {
        format!(
            "lockfileVersion: '6.0'\n\nimporters:\n\n  packages/a:\n    dependencies:\n      g:\n        \
             specifier: github:o/g\n        version: github.com/o/g/{commit}\n      p:\n        \
             specifier: ^1\n        version: 1.0.0{patch}\n\npackages:\n\n  github.com/o/g/{commit}:\n    \
             resolution: {{tarball: https://codeload.github.com/o/g/tar.gz/{commit}}}\n    name: g\n    \
             version: 1.0.0\n    dev: false\n\n  /p@1.0.0{patch}:\n    resolution: {{integrity: sha512-ppp}}\n    \
             dev: false\n"
        )
    };
    let users = [user("a", "packages/a", &[])];
    let at = |text: String| closures(LockFormat::PnpmLock, text.as_bytes(), &users).unwrap();
    let base = at(v6("1111111", ""));
    assert_eq!(
        base[0],
        set(&[
            "github.com/o/g/1111111 (https://codeload.github.com/o/g/tar.gz/1111111)",
            "p@1.0.0 #sha512-ppp"
        ])
    );
    assert_ne!(at(v6("2222222", "")), base);
    let patched = at(v6("1111111", "(patch_hash=abc)"));
    assert!(
        patched[0].contains("p@1.0.0(patch_hash=abc) #sha512-ppp"),
        "{patched:?}"
    );
}

/// A pnpm-lock.yaml of 100,000 packages (about 7 MB, the shape pnpm 9 writes) is read: the
/// YAML budget grows with the text, where a fixed one refused lockfiles of large monorepos and
/// made every user affected.
#[test]
fn a_pnpm_lockfile_of_100000_packages_is_read() {
    const N: usize = 100_000;
    let mut lock = String::from(
        "lockfileVersion: '9.0'\n\nsettings:\n  autoInstallPeers: true\n  excludeLinksFromLockfile: false\n\nimporters:\n\n  packages/a:\n    dependencies:\n      p0:\n        specifier: ^1.0.0\n        version: 1.0.0\n\npackages:\n\n",
    );
    for i in 0..N {
        lock.push_str(&format!(
            "  p{i}@1.0.0:\n    resolution: {{integrity: sha512-{i:0>20}}}\n    engines: {{node: '>=8'}}\n\n"
        ));
    }
    lock.push_str("snapshots:\n\n");
    for i in 0..N {
        // Chains of ten packages: p0 reaches p1 … p9.
        if i % 10 == 9 {
            lock.push_str(&format!("  p{i}@1.0.0: {{}}\n\n"));
        } else {
            lock.push_str(&format!(
                "  p{i}@1.0.0:\n    dependencies:\n      p{}: 1.0.0\n\n",
                i + 1
            ));
        }
    }
    assert!(lock.len() > 5 << 20, "{} bytes", lock.len());
    let users = [user("a", "packages/a", &[])];
    let got = closures(LockFormat::PnpmLock, lock.as_bytes(), &users).unwrap();
    assert_eq!(got[0].len(), 10, "{:?}", got[0]);
    assert!(
        got[0].iter().any(|e| e.starts_with("p9@1.0.0")),
        "{:?}",
        got[0]
    );
}

/// Hostile lockfiles whose reading used to cost the square of their size (or worse): each is
/// generated at a size where the old code took far longer than the bound (minutes of CPU in a
/// debug build), and must now read within it. The bound is on the thread's CPU time, which
/// other builds loading the machine do not inflate; it only guards against a return to
/// quadratic reading, and speed figures are in `bench/hostile_lockfiles.py`.
mod cost {
    use std::time::Duration;

    use super::*;

    /// Far above what a linear reading of these inputs takes in a debug build (a few seconds),
    /// far below what the quadratic one took (minutes).
    const BOUND: Duration = Duration::from_secs(30);

    fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
        let start = crate::discover::thread_cpu();
        let out = f();
        let took = crate::discover::thread_cpu() - start;
        assert!(took < BOUND, "{what} took {took:?} of CPU");
        out
    }

    /// One install location of 200,000 parts (400 KB) with ten dependencies: Node's walk up
    /// from it, one candidate string per folder, copied 200,000 folders × 400 KB per dependency.
    #[test]
    fn a_deep_npm_location_resolves_in_linear_time() {
        let deep = vec!["x"; 200_000].join("/");
        let deps: Vec<String> = (0..10).map(|i| format!("\"d{i}\": \"1\"")).collect();
        let mut packages = vec![
            r#""": {"name": "root"}"#.to_owned(),
            r#""packages/a": {"dependencies": {"d0": "1"}}"#.to_owned(),
            format!(
                r#""{deep}": {{"version": "1.0.0", "dependencies": {{{}}}}}"#,
                deps.join(", ")
            ),
        ];
        packages
            .extend((0..10).map(|i| format!(r#""node_modules/d{i}": {{"version": "1.0.{i}"}}"#)));
        let lock = format!(
            r#"{{"lockfileVersion": 3, "packages": {{{}}}}}"#,
            packages.join(", ")
        );
        let users = [user("a", "packages/a", &[]), user("deep", &deep, &[])];
        let got = timed("a 200,000-part location", || {
            closures(LockFormat::NpmLock, lock.as_bytes(), &users).unwrap()
        });
        assert_eq!(got[0], set(&["d0@1.0.0"]));
        assert_eq!(got[1].len(), 10, "every dependency found at the root");
    }

    /// 60,000 crates of one name, each depending on a version of it that is not there: each
    /// dependency was looked for among all of them.
    #[test]
    fn many_cargo_packages_of_one_name_resolve_in_linear_time() {
        let mut lock = String::from(
            "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"x 0.0.7\"]\n",
        );
        for i in 0..60_000 {
            lock.push_str(&format!(
                "\n[[package]]\nname = \"x\"\nversion = \"0.0.{i}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\ndependencies = [\"x 9.9.9\"]\n"
            ));
        }
        let users = [user("app", "app", &[])];
        let got = timed("60,000 packages of one name", || {
            closures(LockFormat::CargoLock, lock.as_bytes(), &users).unwrap()
        });
        assert_eq!(got[0], set(&["x@0.0.7"]));
    }

    /// 30,000 requirements and 30,000 replaces of other modules: each requirement scanned
    /// every replace (and every exclude).
    #[test]
    fn a_go_mod_with_many_requires_and_replaces_reads_in_linear_time() {
        let mut text = String::from("module example.com/m\n\ngo 1.22\n\nrequire (\n");
        for i in 0..30_000 {
            text.push_str(&format!("\texample.com/r{i} v1.0.0\n"));
        }
        text.push_str(")\n\nreplace (\n");
        for i in 0..30_000 {
            text.push_str(&format!("\texample.com/o{i} => example.com/p{i} v1.0.0\n"));
        }
        text.push_str("\texample.com/r7 => ./r7\n)\n\nexclude example.com/r7 v0.9.0\n");
        let users = [user("app", "", &["example.com/r7/pkg"])];
        let got = timed("30,000 requires and replaces", || {
            closures(LockFormat::GoMod, text.as_bytes(), &users).unwrap()
        });
        assert_eq!(
            got[0],
            set(&[
                "go@1.22",
                "example.com/r7@v1.0.0",
                "example.com/r7 => ./r7",
                "example.com/r7@v0.9.0 excluded"
            ])
        );
    }

    /// A yarn.lock whose last line is 200 KB long with no newline after it: the parser read it
    /// a character at a time, searching the rest for a line end each time.
    #[test]
    fn a_long_last_line_without_newline_reads_in_linear_time() {
        let tail = "a".repeat(200_000);
        let v1 = format!(
            "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\nms@^2.0.0:\n  version \"2.1.3\"\n  integrity {tail}"
        );
        let berry = format!(
            "# This file is generated by running \"yarn install\" inside your project.\n# Manual changes might be lost - proceed with caution!\n\n__metadata:\n  version: 8\n  cacheKey: 10c0\n\n\"ms@npm:^2.0.0\":\n  version: 2.1.3\n  resolution: \"ms@npm:2.1.3\"\n  checksum: {tail}"
        );
        let users = [user("a", "a", &["ms@^2.0.0"])];
        for (what, text) in [("yarn 1", v1), ("berry", berry)] {
            let got = timed(what, || {
                closures(LockFormat::YarnLock, text.as_bytes(), &users).unwrap()
            });
            if what == "yarn 1" {
                assert_eq!(got[0], set(&["ms@2.1.3"]), "{what}");
            }
        }
    }
}
