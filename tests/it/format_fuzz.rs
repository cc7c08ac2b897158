//! A bounded fuzz of every manifest and lockfile format discovery reads, one target each:
//! `package.json`, `pnpm-workspace.yaml`, `package-lock.json`, `pnpm-lock.yaml`, `yarn.lock`
//! (yarn 1 and berry), `Cargo.toml`, `Cargo.lock`, `go.mod` and `go.work`. (`go.sum` is never
//! parsed: only its path is known, as the checksums of what go.mod pins.)
//!
//! Each mutated input is written into a small workspace of that format and goes through what a
//! command does with it: discovery (`discover::discover`), and for the formats judged by
//! closures the closure of every user (`lockfile::read`), its digest and its comparison with
//! the seed's. The properties: nothing panics; every input is read within [`SLOW`] of CPU and
//! the process never grows past [`MAX_RSS`]; every error names its file and line; a lockfile
//! that cannot be read is never a discovery error (the specifiers decide the edges then); a
//! closure compared with itself never changes.
//!
//! `cargo test` runs a fixed number of inputs per format from a fixed seed, so a failure
//! reproduces. Set `SHOCKWAVE_FUZZ_SECS=600` (and optionally `SHOCKWAVE_FUZZ_SEED`) for a longer
//! run of each target, as `tests/config_fuzz.rs` does; the count of inputs tried is printed with
//! `--nocapture`. A failing input is written to the temporary directory and its path printed.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::{Duration, Instant};

use shockwave::paths::FsDirs;

use crate::rng::Rng;
use shockwave::discover::go::gomod::{parse_go_mod, parse_go_work};
use shockwave::discover::lockfile::{self, Closures, Comparison};
use shockwave::discover::{discover, DiscoverError, LockFormat, LockUser, Sources};

/// Inputs tried per format by a plain `cargo test`.
const DEFAULT_INPUTS: u64 = 400;

/// CPU time one input may take (every thread of the process, so discovery's workers count):
/// every command reads these files, so a slow one is a denial of service. Linear reading of the
/// largest input a mutation makes takes well under a second in a debug build.
const SLOW: Duration = Duration::from_secs(10);

/// The most the process may ever hold: inputs are at most a few hundred KB.
const MAX_RSS: u64 = 1 << 30;

/// One format: where its input goes, the workspace around it, seeds and mutation tokens.
struct Target {
    name: &'static str,
    /// Workspace-relative file the input is written to.
    file: &'static str,
    /// The other files of the workspace.
    around: &'static [(&'static str, &'static str)],
    seeds: &'static [&'static str],
    tokens: &'static [&'static str],
    /// The checks beyond "no panic, bounded, positioned": what to run on the written input.
    run: fn(&Path, &[u8], &Target) -> Result<(), String>,
}

macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!("../fixtures/lockfiles/", $path))
    };
}

const NPM_MEMBERS: &[(&str, &str)] = &[
    (
        "packages/a/package.json",
        r#"{ "name": "a", "version": "1.0.0", "dependencies": { "is-number": "^7.0.0" } }"#,
    ),
    (
        "packages/b/package.json",
        r#"{ "name": "b", "version": "1.0.0", "dependencies": { "a": "1.0.0", "debug": "^4.3.4" } }"#,
    ),
    (
        "packages/c/package.json",
        r#"{ "name": "c", "version": "1.0.0", "dependencies": { "ms": "^2.0.0", "ajv": "^8.12.0", "ajv-keywords": "^5.1.0" }, "devDependencies": { "is-number": "6.0.0" } }"#,
    ),
];

const ROOT_PACKAGE_JSON: &str =
    r#"{ "name": "shop", "private": true, "workspaces": ["packages/*"] }"#;

const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"",
    "\\",
    "\\u0000",
    "\\ud800",
    "null",
    "true",
    "1e999",
    "-0",
    "\"name\"",
    "\"version\"",
    "\"workspaces\"",
    "\"packages\"",
    "\"dependencies\"",
    "\"devDependencies\"",
    "\"link\": true",
    "\"resolved\"",
    "\"node_modules/",
    "node_modules/",
    "\"lockfileVersion\": 3",
    "\"workspace:*\"",
    "\"npm:a@1\"",
    "\"file:../a\"",
    "\"../../\"",
    "\"packageManager\": \"pnpm@9.0.0\"",
    "\"/etc\"",
    "\u{feff}",
    "é",
    "\n",
];

const YAML_TOKENS: &[&str] = &[
    ":",
    "- ",
    "? ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "'",
    "\"",
    "#",
    "&a ",
    "*a",
    "<<: *a",
    "!!str ",
    "|\n",
    ">\n",
    "---\n",
    "...\n",
    "\t",
    "  ",
    "\n",
    "\r\n",
    "~",
    "null",
    "packages:",
    "importers:",
    "snapshots:",
    "dependencies:",
    "version: link:../a",
    "version: file:packages/a",
    "lockfileVersion: '9.0'",
    "lockfileVersion: 5.4",
    "resolution: {integrity: sha512-x}",
    "(peer@1.0.0)",
    "'packages/*'",
    "'!packages/b'",
    "catalog:",
    "linkWorkspacePackages: true",
    "\u{feff}",
    "é",
];

const YARN_TOKENS: &[&str] = &[
    ":",
    "\"",
    ",",
    "@",
    "@npm:",
    "@workspace:",
    "  ",
    "    ",
    "\n",
    "\r\n",
    "#",
    "version ",
    "version: ",
    "resolved ",
    "resolution: ",
    "dependencies:",
    "optionalDependencies:",
    "dependenciesMeta:",
    "peerDependenciesMeta:",
    "  optional: true",
    "checksum: ",
    "integrity ",
    "__metadata:\n  version: 8\n",
    "# yarn lockfile v1\n",
    "\"a@^1, a@^2\":",
    "languageName: node",
    "linkType: soft",
    "é",
];

const TOML_TOKENS: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    ".",
    ",",
    "\"",
    "'",
    "'''",
    "\"\"\"",
    "#",
    "\n",
    "\t",
    "\\",
    "\\u0000",
    "1979-05-27",
    "inf",
    "nan",
    "true",
    "[workspace]",
    "members = [\"crates/*\"]",
    "exclude = [\"crates/c\"]",
    "[package]",
    "name = \"a\"",
    "[dependencies]",
    "a = { path = \"../a\" }",
    "x = { workspace = true }",
    "[workspace.dependencies]",
    "[workspace.package]",
    "version.workspace = true",
    "[workspace.lints.rust]",
    "[profile.dev]",
    "[patch.crates-io]",
    "[[package]]",
    "version = 4",
    "source = \"registry+https://github.com/rust-lang/crates.io-index\"",
    "dependencies = [\"a 0.1.0\"]",
    "path = \"../../..\"",
    "[target.'cfg(unix)'.dependencies]",
    "é",
];

const GO_TOKENS: &[&str] = &[
    "(",
    ")",
    "\"",
    "`",
    "//",
    "/*",
    "*/",
    "=>",
    "\n",
    "\t",
    " ",
    "module ",
    "go ",
    "toolchain ",
    "require ",
    "replace ",
    "exclude ",
    "retract ",
    "use ",
    "godebug ",
    "// indirect",
    "example.com/a",
    "example.com/a/b",
    "v1.2.3",
    "v0.0.0-20200101000000-abcdefabcdef",
    "./a",
    "../",
    "/etc",
    ".",
    "\\",
    "é",
];

const GO_FILES: &[(&str, &str)] = &[
    (
        "cmd/app/main.go",
        "package main\n\nimport (\n\t\"fmt\"\n\t\"example.com/shop/pkg/log\"\n\t\"github.com/google/uuid\"\n\t\"golang.org/x/net/http2\"\n)\n\nfunc main() { fmt.Println(log.X, uuid.New(), http2.X) }\n",
    ),
    (
        "pkg/log/log.go",
        "package log\n\nimport \"golang.org/x/sys/unix\"\n\nvar X = unix.Getpid\n",
    ),
    ("a/go.mod", "module example.com/a\n\ngo 1.22\n"),
    ("a/a.go", "package a\n"),
    ("b/go.mod", "module example.com/b\n\ngo 1.22\n\nrequire example.com/a v0.0.0\n"),
    ("b/main.go", "package main\n\nimport _ \"example.com/a\"\n\nfunc main() {}\n"),
];

const GO_MOD: &str = "module example.com/shop

go 1.22

toolchain go1.22.4

require (
\tgithub.com/google/uuid v1.6.0
\tgolang.org/x/net v0.20.0
\tgolang.org/x/net/html v0.1.0
\tgolang.org/x/sys v0.16.0 // indirect
\texample.com/a v0.0.0
)

replace golang.org/x/net v0.20.0 => golang.org/x/net v0.21.0

replace example.com/a => ./a

exclude golang.org/x/net v0.19.0
";

const TARGETS: &[Target] = &[
    Target {
        name: "package.json",
        file: "package.json",
        around: NPM_MEMBERS,
        seeds: &[
            ROOT_PACKAGE_JSON,
            r#"{"name":"shop","workspaces":{"packages":["packages/*","!packages/c"]},"packageManager":"npm@10.0.0","dependencies":{"a":"workspace:*","b":"file:packages/b","x":"npm:a@^1"},"scripts":{"build":"tsc"}}"#,
        ],
        tokens: JSON_TOKENS,
        run: |root, _, _| discovered(root, js()),
    },
    Target {
        name: "pnpm-workspace.yaml",
        file: "pnpm-workspace.yaml",
        around: &[("package.json", r#"{"name":"shop","packageManager":"pnpm@9.15.0"}"#)],
        seeds: &[
            "packages:\n  - \"packages/*\"\n",
            "packages:\n  - 'packages/*'\n  - '!packages/c'\nlinkWorkspacePackages: deep\ncatalog:\n  react: ^18.0.0\n",
        ],
        tokens: YAML_TOKENS,
        run: |root, _, _| discovered(root, js()),
    },
    Target {
        name: "package-lock.json",
        file: "package-lock.json",
        around: &[("package.json", ROOT_PACKAGE_JSON)],
        seeds: &[
            fixture!("npm/package-lock.json"),
            fixture!("npm/v2.package-lock.json"),
        ],
        tokens: JSON_TOKENS,
        run: |root, bytes, t| lockfile_and_links(root, bytes, t, LockFormat::NpmLock),
    },
    Target {
        name: "pnpm-lock.yaml",
        file: "pnpm-lock.yaml",
        around: &[
            ("package.json", r#"{"name":"shop","packageManager":"pnpm@9.15.0"}"#),
            ("pnpm-workspace.yaml", "packages:\n  - \"packages/*\"\n"),
        ],
        seeds: &[
            fixture!("pnpm/pnpm-lock.yaml"),
            fixture!("pnpm/v6.pnpm-lock.yaml"),
        ],
        tokens: YAML_TOKENS,
        run: |root, bytes, t| lockfile_and_links(root, bytes, t, LockFormat::PnpmLock),
    },
    Target {
        name: "yarn.lock v1",
        file: "yarn.lock",
        around: &[(
            "package.json",
            r#"{"name":"shop","workspaces":["packages/*"],"packageManager":"yarn@1.22.22"}"#,
        )],
        seeds: &[fixture!("yarn1/yarn.lock"), fixture!("yarn1/after.yarn.lock")],
        tokens: YARN_TOKENS,
        run: |root, bytes, t| lockfile_and_links(root, bytes, t, LockFormat::YarnLock),
    },
    Target {
        name: "yarn.lock berry",
        file: "yarn.lock",
        around: &[(
            "package.json",
            r#"{"name":"shop","workspaces":["packages/*"],"packageManager":"yarn@4.5.0"}"#,
        )],
        seeds: &[fixture!("berry/yarn.lock"), fixture!("berry/after.yarn.lock")],
        tokens: YARN_TOKENS,
        run: |root, bytes, t| lockfile_and_links(root, bytes, t, LockFormat::YarnLock),
    },
    Target {
        name: "Cargo.toml",
        file: "Cargo.toml",
        around: &[
            (
                "crates/a/Cargo.toml",
                "[package]\nname = \"a\"\nversion.workspace = true\nedition = \"2021\"\n\n[dependencies]\nitoa = { workspace = true }\n\n[lints]\nworkspace = true\n",
            ),
            (
                "crates/b/Cargo.toml",
                "[package]\nname = \"b\"\nversion = \"0.1.0\"\n\n[dependencies]\na = { path = \"../a\" }\n[dev-dependencies]\nc = { path = \"../c\" }\n",
            ),
            ("crates/c/Cargo.toml", "[package]\nname = \"c\"\nversion = \"0.1.0\"\n"),
        ],
        seeds: &[
            fixture!("cargo/Cargo.toml"),
            "[workspace]\nmembers = [\"crates/*\"]\nexclude = [\"crates/x\"]\nresolver = \"2\"\n\n[workspace.package]\nversion = \"0.1.0\"\nrust-version = \"1.80\"\n\n[workspace.dependencies]\nitoa = \"1\"\nserde = { version = \"1\", features = [\"derive\"] }\n\n[workspace.lints.rust]\nunsafe_code = \"forbid\"\n\n[profile.release]\nlto = true\n\n[patch.crates-io]\nitoa = { path = \"vendor/itoa\" }\n",
            "[package]\nname = \"root\"\nversion = \"0.1.0\"\n\n[dependencies]\nb = { path = \"crates/b\" }\n\n[workspace]\nmembers = [\"crates/a\", \"crates/b\", \"crates/c\"]\n",
        ],
        tokens: TOML_TOKENS,
        run: cargo_manifest,
    },
    Target {
        name: "Cargo.lock",
        file: "Cargo.lock",
        around: &[],
        seeds: &[
            fixture!("cargo/Cargo.lock"),
            fixture!("cargo-old/v1.Cargo.lock"),
            fixture!("cargo-old/v2.Cargo.lock"),
        ],
        tokens: TOML_TOKENS,
        run: |_, bytes, t| closures(LockFormat::CargoLock, bytes, t, &users(&["a", "b", "c"])),
    },
    Target {
        name: "go.mod",
        file: "go.mod",
        around: GO_FILES,
        seeds: &[GO_MOD, "module example.com/shop\n\ngo 1.22\n"],
        tokens: GO_TOKENS,
        run: go_mod,
    },
    Target {
        name: "go.work",
        file: "go.work",
        around: GO_FILES,
        seeds: &[
            "go 1.22\n\nuse (\n\t./a\n\t./b\n)\n",
            "go 1.22\n\nuse ./a\nuse ./b\n\nreplace example.com/a => ./a\n",
        ],
        tokens: GO_TOKENS,
        run: |root, bytes, _| {
            if let Ok(text) = std::str::from_utf8(bytes) {
                positioned_result(parse_go_work("go.work", text).map(drop))?;
            }
            discovered(root, go())
        },
    },
];

/// The discovery sources of one ecosystem.
fn sources(js: bool, cargo: bool, go: bool) -> Sources {
    Sources {
        js,
        cargo,
        go,
        folders: false,
    }
}

fn js() -> Sources {
    sources(true, false, false)
}

fn go() -> Sources {
    sources(false, false, true)
}

/// Users `a`, `b`, `c` as discovery would find them in these workspaces: by folder for npm and
/// pnpm, by name (with declared ranges for yarn 1) for yarn and Cargo.
fn users(keys: &[&str]) -> Vec<LockUser> {
    keys.iter()
        .map(|k| LockUser {
            service: k.rsplit('/').next().unwrap_or(k).to_owned(),
            key: (*k).to_owned(),
            direct: vec![
                "is-number@^7.0.0".into(),
                "ms@^2.0.0".into(),
                "debug@^4.3.4".into(),
            ],
        })
        .collect()
}

/// An error that names no line, if any.
fn unpositioned(errors: &[DiscoverError]) -> Option<String> {
    errors
        .iter()
        .find(|e| e.line.is_none())
        .map(|e| format!("an error without a line: {e}"))
}

fn positioned_result(result: Result<(), DiscoverError>) -> Result<(), String> {
    match result {
        Err(e) if e.line.is_none() => Err(format!("an error without a line: {e}")),
        _ => Ok(()),
    }
}

/// Discovery of the workspace: a result, or errors that each name a line.
fn discovered(root: &Path, sources: Sources) -> Result<(), String> {
    match discover(root, &mut FsDirs::new(root), sources, &[]) {
        Ok(_) => Ok(()),
        Err(errors) if errors.is_empty() => Err("failed without an error".into()),
        Err(errors) => unpositioned(&errors).map_or(Ok(()), Err),
    }
}

/// Every user's closure, digest and comparison with itself and with the first seed's.
fn closures(
    format: LockFormat,
    bytes: &[u8],
    t: &Target,
    users: &[LockUser],
) -> Result<(), String> {
    let read = match lockfile::read(format, bytes, users) {
        Ok(read) => read,
        Err(e) if e.line.is_none() => return Err(format!("an error without a line: {e}")),
        Err(_) => return Ok(()),
    };
    let seed = lockfile::read(format, t.seeds[0].as_bytes(), users).ok();
    let same = Comparison::new(&read, &read);
    let against = seed.as_ref().map(|s: &Closures| Comparison::new(s, &read));
    for user in 0..read.len() {
        read.digest(user);
        if same.change(user).is_some() {
            return Err(format!("user {user}'s closure differs from itself"));
        }
        if let Some(c) = against.as_ref().and_then(|a| a.change(user)) {
            if c.added.len() > lockfile::LISTED || c.removed.len() > lockfile::LISTED {
                return Err("a change lists more than the cap".into());
            }
        }
    }
    Ok(())
}

/// A package manager's lockfile: its closures, and discovery with it (a lockfile that cannot
/// be read for its links is a note, never an error).
fn lockfile_and_links(
    root: &Path,
    bytes: &[u8],
    t: &Target,
    format: LockFormat,
) -> Result<(), String> {
    let keys: &[&str] = match (format, t.name) {
        (LockFormat::YarnLock, _) => &["a", "b", "c"],
        _ => &["packages/a", "packages/b", "packages/c", ""],
    };
    closures(format, bytes, t, &users(keys))?;
    match discover(root, &mut FsDirs::new(root), js(), &[]) {
        Ok(_) => Ok(()),
        Err(errors) => Err(format!(
            "a lockfile made discovery fail: {}",
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        )),
    }
}

fn cargo_manifest(root: &Path, bytes: &[u8], t: &Target) -> Result<(), String> {
    let mut users = users(&["crates/a/Cargo.toml", "crates/b/Cargo.toml", "root"]);
    users[0].direct = vec![
        "workspace.package.version".into(),
        "workspace.dependencies.itoa".into(),
        "workspace.lints".into(),
    ];
    users[1].direct = Vec::new();
    users[2].direct = vec!["<root package>".into()];
    closures(LockFormat::CargoManifest, bytes, t, &users)?;
    discovered(root, sources(false, true, false))
}

fn go_mod(root: &Path, bytes: &[u8], t: &Target) -> Result<(), String> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        positioned_result(parse_go_mod("go.mod", text).map(drop))?;
    }
    let mut users = users(&["cmd/app", "pkg/log"]);
    users[0].direct = vec![
        "github.com/google/uuid".into(),
        "golang.org/x/net/http2".into(),
    ];
    users[1].direct = vec!["golang.org/x/sys/unix".into()];
    closures(LockFormat::GoMod, bytes, t, &users)?;
    discovered(root, go())
}

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, t: &Target) {
    let len = input.len();
    match rng.below(11) {
        // Flip, set or drop one byte.
        0 if len > 0 => input[rng.below(len)] ^= 1 << rng.below(8),
        1 if len > 0 => input[rng.below(len)] = rng.next() as u8,
        2 if len > 0 => {
            input.remove(rng.below(len));
        }
        // Insert a token.
        3 | 4 => {
            let tok = t.tokens[rng.below(t.tokens.len())].as_bytes();
            let at = rng.below(len + 1);
            input.splice(at..at, tok.iter().copied());
        }
        // Delete or duplicate a range.
        5 if len > 0 => {
            let a = rng.below(len);
            let b = (a + rng.below(64)).min(len);
            input.drain(a..b);
        }
        6 if len > 0 => {
            let a = rng.below(len);
            let b = (a + rng.below(512)).min(len);
            let copy = input[a..b].to_vec();
            let at = rng.below(input.len() + 1);
            input.splice(at..at, copy);
        }
        // A line from another seed.
        7 => {
            let seed = t.seeds[rng.below(t.seeds.len())];
            let lines: Vec<&str> = seed.lines().collect();
            let line = format!("{}\n", lines[rng.below(lines.len())]);
            let at = rng.below(len + 1);
            input.splice(at..at, line.bytes());
        }
        // A long run of one token (deep nesting, long lines, many entries), or a long line
        // at the very end without a newline.
        8 | 9 => {
            let tok = t.tokens[rng.below(t.tokens.len())];
            let n = [10, 100, 300, 2_000, 70_000][rng.below(5)];
            let run = tok.repeat(n.min(200_000 / tok.len().max(1)));
            let at = if rng.below(4) == 0 {
                while input.last() == Some(&b'\n') {
                    input.pop();
                }
                input.len()
            } else {
                rng.below(len + 1)
            };
            input.splice(at..at, run.bytes());
        }
        // Invalid UTF-8.
        _ => {
            let at = rng.below(len + 1);
            let bad = [
                [0xffu8].as_slice(),
                &[0xc3],
                &[0xed, 0xa0, 0x80],
                &[0xf4, 0x90],
            ];
            input.splice(at..at, bad[rng.below(bad.len())].iter().copied());
        }
    }
}

/// CPU time of the whole process (discovery's worker threads included).
fn process_cpu() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec to write into; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// The most memory the process has held so far, in bytes.
fn peak_rss() -> u64 {
    // SAFETY: getrusage writes into the zeroed struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0, "getrusage");
    usage.ru_maxrss as u64 * 1024
}

/// What went wrong with one input, if anything.
fn check_one(root: &Path, input: &[u8], t: &Target) -> Result<(), String> {
    std::fs::write(root.join(t.file), input).map_err(|e| format!("write: {e}"))?;
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| (t.run)(root, input, t)));
    match outcome {
        Ok(r) => r,
        Err(panic) => Err(format!(
            "panic: {}",
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
    }
}

fn fuzz(name: &str) {
    let t = TARGETS
        .iter()
        .find(|t| t.name == name)
        .expect("a target of that name");
    let budget = std::env::var("SHOCKWAVE_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs);
    let seed = std::env::var("SHOCKWAVE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_f0a7_u64);
    let mut rng = Rng(seed | 1);
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in t.around {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    if t.file.ends_with("lock.json") || t.file.ends_with(".yaml") || t.file == "yarn.lock" {
        for (path, text) in NPM_MEMBERS {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    // Panics are caught and reported as failures; keep their default message off the output.
    std::panic::set_hook(Box::new(|_| {}));
    let start = Instant::now();
    let mut tried = 0u64;
    let mut failures = Vec::new();
    loop {
        let done = match budget {
            Some(b) => start.elapsed() >= b,
            None => tried >= DEFAULT_INPUTS,
        };
        if done || failures.len() >= 5 {
            break;
        }
        let mut input = t.seeds[rng.below(t.seeds.len())].as_bytes().to_vec();
        for _ in 0..1 + rng.below(6) {
            mutate(&mut rng, &mut input, t);
        }
        tried += 1;
        let cpu = process_cpu();
        let mut result = check_one(dir.path(), &input, t);
        let took = process_cpu() - cpu;
        if result.is_ok() && took > SLOW {
            result = Err(format!("took {took:?} of CPU"));
        }
        if result.is_ok() && peak_rss() > MAX_RSS {
            result = Err(format!("the process grew to {} MiB", peak_rss() >> 20));
        }
        if let Err(why) = result {
            let keep = std::env::temp_dir().join(format!(
                "shockwave-fuzz-{}-{tried}",
                t.name.replace([' ', '.'], "-")
            ));
            std::fs::write(&keep, &input).unwrap();
            let why: String = why.chars().take(400).collect();
            failures.push(format!("{why} (input: {})", keep.display()));
            if why.starts_with("the process grew") {
                break;
            }
        }
    }
    let _ = std::panic::take_hook();
    println!(
        "{} fuzz: {tried} inputs in {:.1}s (seed {seed}), peak {} MiB",
        t.name,
        start.elapsed().as_secs_f64(),
        peak_rss() >> 20
    );
    assert!(
        failures.is_empty(),
        "{} of {tried} {} inputs failed:\n{}",
        failures.len(),
        t.name,
        failures.join("\n")
    );
}

#[test]
fn fuzz_package_json() {
    fuzz("package.json");
}

#[test]
fn fuzz_pnpm_workspace_yaml() {
    fuzz("pnpm-workspace.yaml");
}

#[test]
fn fuzz_package_lock_json() {
    fuzz("package-lock.json");
}

#[test]
fn fuzz_pnpm_lock_yaml() {
    fuzz("pnpm-lock.yaml");
}

#[test]
fn fuzz_yarn_lock_v1() {
    fuzz("yarn.lock v1");
}

#[test]
fn fuzz_yarn_lock_berry() {
    fuzz("yarn.lock berry");
}

#[test]
fn fuzz_cargo_toml() {
    fuzz("Cargo.toml");
}

#[test]
fn fuzz_cargo_lock() {
    fuzz("Cargo.lock");
}

#[test]
fn fuzz_go_mod() {
    fuzz("go.mod");
}

#[test]
fn fuzz_go_work() {
    fuzz("go.work");
}
