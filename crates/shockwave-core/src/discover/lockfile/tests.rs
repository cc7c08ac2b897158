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
            "/../../tests/fixtures/lockfiles/",
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

mod cost;
mod identity;
