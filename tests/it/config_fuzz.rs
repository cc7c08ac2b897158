//! A bounded fuzz of config loading: mutated `pipeline.toml` files go through `config::load`
//! (parse and validation) and, when they load, through the task graph of every target. The
//! properties: nothing panics, every error that reaches the user carries a position
//! (`pipeline.toml:LINE:COL`), and rendering an error never panics either.
//!
//! `cargo test` runs a fixed number of inputs from a fixed seed, so a failure reproduces. Set
//! `SHOCKWAVE_FUZZ_SECS=600` (and optionally `SHOCKWAVE_FUZZ_SEED`) for a longer run; the count of
//! inputs tried is printed with `--nocapture`. A failing input is written to the temporary
//! directory and its path printed.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::rng::Rng;
use shockwave::config::{self, ConfigError};
use shockwave::diagnostic::Rendered;
use shockwave::tasks::TaskGraph;

/// Inputs tried by a plain `cargo test`.
const DEFAULT_INPUTS: u64 = 2_500;

/// An input that takes longer than this to load is a failure too (a config is read by every
/// command, so pathological compile times are a denial of service).
const SLOW: Duration = Duration::from_secs(3);

/// Seeds: the project's own config, the README's example and the error cases the tests know.
const SEEDS: &[&str] = &[
    include_str!("../../pipeline.toml"),
    r#"
[workspace]
members = ["services/*", "libs/*"]
default_base = "origin/main"
global_inputs = ["pipeline.toml", "go.work", "ci/**"]
ignore = ["**/*.md", "docs/**"]
unowned = "warn"

[targets.build]
command = "go build -o bin/ ./..."
needs = ["^build"]
inputs = ["**/*.go", "go.mod", "go.sum"]
outputs = ["bin/**"]
env = ["GOFLAGS"]
[targets.test]
command = "go test ./..."
needs = ["build"]
[targets.deploy]
command = "./deploy.sh"
needs = ["test"]
cache = false

[services.user-service]
root = "services/user-service"
deps = ["auth-lib"]
paths = ["proto/user/**"]
[services.user-service.targets.deploy]
command = "kubectl apply -k k8s/"
"#,
    "[workspace]\nmembers = [\"services/*\"]\n[targets.a]\ncommand=\"x\"\nneeds=[\"b\"]\n[targets.b]\ncommand=\"y\"\nneeds=[\"a\"]\n",
    "[workspace]\nmembers = [\"libs/*\"]\n[services.auth-lib]\ndeps = [\"db-lib\"]\n[services.db-lib]\ndeps = [\"auth-lib\"]\n",
    "[services.\"@shop/web\"]\nroot = \"services/user-service\"\npaths = [\"proto/{a,b}/**\", \"x/[ab]?\"]\n[services.\"@shop/web\".targets.t]\ncommand = \"t\"\ninputs = [\"./src/\"]\n",
];

/// Fragments a mutation may insert: TOML syntax, our keys, glob metacharacters, path tricks.
const TOKENS: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    "\"",
    "'",
    "'''",
    "\"\"\"",
    ".",
    ",",
    "#",
    "\n",
    "\r\n",
    "\t",
    " ",
    "\\",
    "\\u0000",
    "\\uD800",
    "^",
    "**",
    "*",
    "?",
    "[!",
    "{a,",
    "../",
    "/",
    "./",
    "..",
    "~",
    "\u{feff}",
    "é",
    "\u{10ffff}",
    "0x",
    "1e9",
    "-",
    "true",
    "inf",
    "nan",
    "1979-05-27T07:32:00Z",
    "members",
    "default_base",
    "global_inputs",
    "ignore",
    "unowned",
    "targets",
    "services",
    "workspace",
    "command",
    "needs",
    "inputs",
    "outputs",
    "env",
    "cache",
    "root",
    "deps",
    "paths",
    "^build",
    "build",
    "test",
    "deploy",
    "\"all\"",
    "\"warn\"",
    "[targets.build]",
    "[services.x]",
    "[services.x.targets.build]",
    "deps = [\"x\"]",
    "needs = [\"build\"]",
    "root = \"..\"",
    "root = \"/etc\"",
    "members = [\"../*\"]",
    "members = [\"**\"]",
    "a.b.c",
    "x = { y = 1 }",
];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    let len = input.len();
    match rng.below(10) {
        // Flip, set or drop one byte.
        0 if len > 0 => input[rng.below(len)] ^= 1 << rng.below(8),
        1 if len > 0 => input[rng.below(len)] = rng.next() as u8,
        2 if len > 0 => {
            input.remove(rng.below(len));
        }
        // Insert a token.
        3 | 4 => {
            let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
            let at = rng.below(len + 1);
            input.splice(at..at, t.iter().copied());
        }
        // Delete or duplicate a range.
        5 if len > 0 => {
            let a = rng.below(len);
            let b = (a + rng.below(64)).min(len);
            input.drain(a..b);
        }
        6 if len > 0 => {
            let a = rng.below(len);
            let b = (a + rng.below(128)).min(len);
            let copy = input[a..b].to_vec();
            let at = rng.below(input.len() + 1);
            input.splice(at..at, copy);
        }
        // A line from another seed.
        7 => {
            let seed = SEEDS[rng.below(SEEDS.len())];
            let lines: Vec<&str> = seed.lines().collect();
            let line = format!("{}\n", lines[rng.below(lines.len())]);
            let at = rng.below(len + 1);
            input.splice(at..at, line.bytes());
        }
        // A long run of one token (deep nesting, long lines, huge columns).
        8 => {
            let t = TOKENS[rng.below(TOKENS.len())];
            let n = [10, 100, 300, 2_000, 70_000][rng.below(5)];
            let run = t.repeat(n.min(200_000 / t.len().max(1)));
            let at = rng.below(len + 1);
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

/// The workspace a config is loaded in: the directories the seeds name, so that valid configs
/// get as far as validation and task graphs.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for d in [
        "services/user-service",
        "services/order-service",
        "libs/auth-lib",
        "libs/db-lib",
        "fixtures/services/api-gateway",
        "fixtures/libs/log-lib",
        "proto/user",
    ] {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
    }
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    dir
}

/// What went wrong with one input, if anything.
fn check_one(path: &Path) -> Result<(), String> {
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
        match config::load(path) {
            Ok(ws) => {
                let every: Vec<_> = ws.service_ids().collect();
                let targets: Vec<String> = ws.target_names().iter().cloned().collect();
                if let Err(shockwave::tasks::TaskError::Cycle {
                    at: None, chain, ..
                }) = TaskGraph::build(&ws, &every, &targets)
                {
                    return Err(format!("task cycle without a position: {chain}"));
                }
                Ok(())
            }
            Err(ConfigError::Invalid {
                source_text,
                diagnostics,
                ..
            }) => {
                if diagnostics.is_empty() {
                    return Err("an invalid config with no diagnostic".into());
                }
                let rendered = Rendered {
                    file: "pipeline.toml",
                    source: &source_text,
                    diagnostics: &diagnostics,
                }
                .to_string();
                for d in &diagnostics {
                    if d.span.is_none() {
                        return Err(format!("an error without a position: {}", d.message));
                    }
                }
                if rendered.len() > 64 * 1024 + 2_000 * diagnostics.len() {
                    return Err(format!("a {}-byte error message", rendered.len()));
                }
                Ok(())
            }
            Err(ConfigError::Read { source, .. }) => Err(format!("read error: {source}")),
            Err(other) => Err(format!("unexpected error: {other}")),
        }
    }));
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

#[test]
fn mutated_configs_never_panic_and_every_error_has_a_position() {
    let budget = std::env::var("SHOCKWAVE_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs);
    let seed = std::env::var("SHOCKWAVE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_c0f1_u64);
    let mut rng = Rng(seed | 1);
    let dir = workspace();
    let path: PathBuf = dir.path().join("pipeline.toml");
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
        let mut input = SEEDS[rng.below(SEEDS.len())].as_bytes().to_vec();
        for _ in 0..1 + rng.below(6) {
            mutate(&mut rng, &mut input);
        }
        std::fs::write(&path, &input).unwrap();
        tried += 1;
        let t0 = Instant::now();
        let mut result = check_one(&path);
        if result.is_ok() && t0.elapsed() > SLOW {
            result = Err(format!("took {:?} to load", t0.elapsed()));
        }
        if let Err(why) = result {
            let keep = std::env::temp_dir().join(format!("shockwave-fuzz-{tried}.toml"));
            std::fs::write(&keep, &input).unwrap();
            failures.push(format!("{why} (input: {})", keep.display()));
        }
    }
    let _ = std::panic::take_hook();
    println!(
        "config fuzz: {tried} inputs in {:.1}s (seed {seed})",
        start.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {tried} inputs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
