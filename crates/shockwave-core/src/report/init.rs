//! What workspace discovery found, in words: the one-line summary (`14 npm packages, 3 Go
//! modules`) and the `pipeline.toml` that `init` writes. Pure functions of the workspace.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::config::Workspace;
use crate::discover::{Ecosystem, Kind};

/// The services discovery found, by kind: `14 npm packages, 3 Go modules`.
pub fn found(ws: &Workspace) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for s in ws.services() {
        if s.name == crate::config::ROOT_PACKAGE {
            *counts.entry("root package").or_default() += 1;
            continue;
        }
        let kind = match s.ecosystem {
            Some(Ecosystem::Npm) => "npm package",
            Some(Ecosystem::Pnpm) => "pnpm package",
            Some(Ecosystem::Yarn) => "yarn package",
            Some(Ecosystem::Cargo) => "Cargo crate",
            Some(Ecosystem::Go) if s.kind == crate::discover::Kind::Package => "Go package",
            Some(Ecosystem::Go) if s.packages.iter().any(|p| p.tests) => "Go service",
            Some(Ecosystem::Go) => "Go module",
            Some(Ecosystem::Python) => "Python service",
            Some(Ecosystem::Java) => "Java service",
            Some(Ecosystem::Dotnet) => ".NET service",
            Some(Ecosystem::Docker) => "Docker service",
            None => continue,
        };
        *counts.entry(kind).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(kind, n)| format!("{n} {kind}{}", if n == 1 { "" } else { "s" }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A `pipeline.toml` for the discovered `ws`: discovery stays on, the workspace-level
/// manifests are written as global inputs, and every service is listed as a commented table,
/// since it only repeats what discovery finds.
pub fn pipeline_toml(ws: &Workspace, turbo_tables: Option<&str>) -> String {
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    let list = |items: &[&str]| {
        let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
        format!("[{}]", quoted.join(", "))
    };
    // Editors that read taplo's directive (Even Better TOML) check and complete the file
    // against the schema `shockwave schema` prints.
    let mut out = String::from("#:schema ./schema/pipeline.schema.json\n");
    let _ = writeln!(
        out,
        "# Written by `shockwave init` from the workspace manifests: {}.\n\
         # Services and their dependencies are read from the manifests on every run (discover);\n\
         # the [services.*] tables below only repeat what was found, so they are commented out:\n\
         # uncomment one to refine it (extra deps, paths, per-service targets).\n",
        found(ws)
    );
    let globals: Vec<&str> = ws
        .global_inputs()
        .patterns
        .iter()
        .map(String::as_str)
        .collect();
    let _ = writeln!(out, "[workspace]\ndiscover = \"auto\"");
    let _ = writeln!(
        out,
        "# A change to a workspace-level manifest affects every service.\nglobal_inputs = {}",
        list(&globals)
    );
    if !ws.global_env().is_empty() {
        let env: Vec<&str> = ws.global_env().iter().map(String::as_str).collect();
        let _ = writeln!(
            out,
            "# Variables whose values enter every task's hash.\nglobal_env = {}",
            list(&env)
        );
    }
    let _ = writeln!(out, "# default_base = \"origin/main\"\n");
    if let Some(tables) = turbo_tables {
        let _ = writeln!(out, "{tables}");
    } else {
        let _ = write!(out, "{}", default_targets(ws));
    }
    for s in ws
        .services()
        .iter()
        .filter(|s| s.name != crate::config::ROOT_PACKAGE)
    {
        let eco = s.ecosystem.map_or("", |e| e.as_str());
        let _ = writeln!(out, "# [services.{}]  # {eco}", quote(&s.name));
        let _ = writeln!(out, "# root = {}", quote(&s.root));
        if !s.deps.is_empty() {
            let deps: Vec<&str> = s
                .deps
                .iter()
                .map(|&d| ws.service(d).name.as_str())
                .collect();
            let _ = writeln!(out, "# deps = {}", list(&deps));
        }
    }
    out
}

/// The comment that says which targets the discovered units have without configuration and what
/// each runs, naming the workspace's own package manager, with how to override one.
fn default_targets(ws: &Workspace) -> String {
    let mut out = String::new();
    let eco = |pred: &dyn Fn(Ecosystem, Kind) -> bool| {
        ws.services()
            .iter()
            .filter_map(|s| s.ecosystem.map(|e| (e, s.kind)))
            .find(|&(e, k)| pred(e, k))
    };
    if let Some((pm, _)) = eco(&|e, _| e.is_npm_family()) {
        let mut scripts: Vec<&str> = ws
            .services()
            .iter()
            .filter(|s| s.ecosystem.is_some_and(Ecosystem::is_npm_family))
            .flat_map(|s| {
                s.targets
                    .iter()
                    .filter(|(_, t)| t.script)
                    .map(|(n, _)| n.as_str())
            })
            .collect();
        scripts.sort_unstable();
        scripts.dedup();
        let pm = pm.as_str();
        let _ = writeln!(
            out,
            "# Targets found in package.json scripts ({}) run through {pm}\n\
             # (`{pm} run NAME`) unless [targets.NAME] has a command. Each runs after the same\n\
             # script of the package's workspace dependencies; `needs` replaces that order:\n\
             # [targets.build]\n# needs = [\"^build\"]\n# outputs = [\"dist/**\"]\n",
            scripts.join(", ")
        );
    }
    if eco(&|e, _| e == Ecosystem::Cargo).is_some() {
        let _ = writeln!(
            out,
            "# Cargo crates have build, test and lint: `cargo build -p NAME`, `cargo test -p NAME`,\n\
             # `cargo clippy -p NAME`, unless [targets.NAME] has a command:\n\
             # [targets.lint]\n# command = \"cargo clippy -p $SHOCKWAVE_SERVICE -- -D warnings\"\n"
        );
    }
    if eco(&|e, _| e == Ecosystem::Go).is_some() {
        let _ = writeln!(
            out,
            "# Go packages have build and test (`go build .`, `go test .` in their folder), Go services\n\
             # `go build -o /dev/null ./...` and `go test ./...`, unless [targets.NAME] has a command:\n\
             # [targets.test]\n# command = \"go test -race ./...\"\n"
        );
    }
    out
}
