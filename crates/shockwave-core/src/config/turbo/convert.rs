//! A root turbo.json and the packages' own written out as pipeline.toml tables, for `init`:
//! the same settings `read` gives validation, so the converted file behaves as turbo.json does.

use std::collections::BTreeMap;
use std::path::Path;

use super::read::{read_package, read_root};
use super::{overlay, TurboError, ROOT_PACKAGE};
use crate::config::raw::{RawTarget, SpannedStr};
use crate::discover::{Ecosystem, Kind};

/// The targets of the turbo.json at `root` written as pipeline.toml tables: `[targets.*]` for its
/// tasks, `[services."pkg".targets.*]` for `pkg#task` entries and packages' own turbo.json, the
/// root package as a service of its own. `packages`: each npm-family package's name and folder;
/// `manager` runs the root package's scripts.
/// (Its global inputs and variables are the workspace's, written by `init` with the others.)
pub fn pipeline_tables(
    root: &Path,
    packages: &[(String, String)],
    manager: Ecosystem,
) -> Result<Option<String>, TurboError> {
    let Some(turbo) = read_root(root)? else {
        return Ok(None);
    };
    let known = turbo.task_names();
    let mut per_service: BTreeMap<String, BTreeMap<String, RawTarget>> = BTreeMap::new();
    for (name, tasks) in &turbo.packages {
        let entry = per_service.entry(name.clone()).or_default();
        entry.extend(tasks.iter().map(|(k, v)| (k.get_ref().clone(), v.clone())));
    }
    for (name, dir) in packages {
        if let Some((tasks, _)) = read_package(root, dir, &known)? {
            let entry = per_service.entry(name.clone()).or_default();
            for (k, v) in tasks {
                match entry.get_mut(k.get_ref()) {
                    Some(existing) => overlay(existing, v),
                    None => {
                        entry.insert(k.into_inner(), v);
                    }
                }
            }
        }
    }
    let mut out = String::new();
    out.push_str("# Tasks converted from turbo.json: dependsOn → needs (`pkg#task` as written), inputs\n# ($TURBO_DEFAULT$ → \"**\"), outputs, env, cache, persistent, interactive.\n");
    for (name, t) in &turbo.targets {
        out.push_str(&format!("\n[targets.{}]\n", key(name.get_ref())));
        write_target(&mut out, t, None);
    }
    for (service, tasks) in &per_service {
        for (name, t) in tasks {
            out.push_str(&format!(
                "\n[services.{}.targets.{}]\n",
                key(service),
                key(name)
            ));
            write_target(&mut out, t, None);
        }
    }
    if !turbo.root_tasks.is_empty() {
        out.push_str(&format!(
            "\n# The root package's own tasks (`//#task` in turbo.json).\n[services.{}]\nroot = \".\"\n",
            key(ROOT_PACKAGE)
        ));
        for (name, t) in &turbo.root_tasks {
            out.push_str(&format!(
                "\n[services.{}.targets.{}]\n",
                key(ROOT_PACKAGE),
                key(name.get_ref())
            ));
            let command =
                crate::discover::default_command(manager, Kind::Service, "", name.get_ref());
            write_target(&mut out, t, command.as_deref());
        }
    }
    Ok(Some(out))
}

/// A TOML key: bare when it can be, quoted otherwise.
fn key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare {
        name.to_string()
    } else {
        toml::Value::String(name.to_string()).to_string()
    }
}

fn write_target(out: &mut String, t: &RawTarget, command: Option<&str>) {
    let list = |v: &[SpannedStr]| {
        let items: Vec<String> = v
            .iter()
            .map(|s| toml::Value::String(s.get_ref().clone()).to_string())
            .collect();
        format!("[{}]", items.join(", "))
    };
    if let Some(c) = command {
        out.push_str(&format!(
            "command = {}\n",
            toml::Value::String(c.to_string())
        ));
    }
    for (name, value) in [
        ("needs", &t.needs),
        ("inputs", &t.inputs),
        ("outputs", &t.outputs),
        ("env", &t.env),
    ] {
        if let Some(v) = value {
            out.push_str(&format!("{name} = {}\n", list(v)));
        }
    }
    for (name, value) in [
        ("cache", t.cache),
        ("persistent", t.persistent),
        ("interactive", t.interactive),
    ] {
        if let Some(v) = value {
            out.push_str(&format!("{name} = {v}\n"));
        }
    }
}
