//! Who owns a path: `ignore` first, then `global_inputs`, then the service with the deepest `root`
//! containing the path plus every service whose `paths` globs match it. Root lookup walks the path's
//! ancestors through a hash map, so it costs a few lookups per path however many services exist.
//! A Go service also owns the files of the packages in its closure: a file whose directory is one
//! of them or one of their asset folders (not its `_test.go` files nor `testdata/`, for a package
//! the service only imports).

use std::collections::HashMap;

use crate::glob::{self, Globs};

use crate::config::{ServiceId, Workspace};
use crate::discover::PackageInput;

/// What a changed path means for the workspace.
#[derive(Debug, PartialEq, Eq)]
pub enum PathClass {
    /// Matched `ignore`: affects nothing.
    Ignored,
    /// Matched `global_inputs`: affects every service.
    Global,
    /// Owned by these services (at least one).
    Owned,
    /// No service owns it.
    Unowned,
}

pub struct Ownership<'w> {
    ws: &'w Workspace,
    /// Service roots (workspace-relative, no trailing slash) to the services rooted there.
    roots: HashMap<&'w [u8], Vec<ServiceId>>,
    paths: Globs,
    /// Pattern index in `paths` → the service that declared it.
    path_owner: Vec<ServiceId>,
    /// Go package directory → the services whose closure holds it, with the entry.
    packages: HashMap<&'w [u8], Vec<(ServiceId, &'w PackageInput)>>,
}

impl<'w> Ownership<'w> {
    pub fn new(ws: &'w Workspace) -> Self {
        let mut roots: HashMap<&[u8], Vec<ServiceId>> = HashMap::with_capacity(ws.services().len());
        let mut patterns = Vec::new();
        let mut path_owner = Vec::new();
        let mut packages: HashMap<&[u8], Vec<(ServiceId, &PackageInput)>> = HashMap::new();
        for (id, s) in ws.services_by_id() {
            roots.entry(s.root.as_bytes()).or_default().push(id);
            for p in &s.packages {
                packages.entry(p.dir.as_bytes()).or_default().push((id, p));
                for a in &p.assets {
                    packages.entry(a.as_bytes()).or_default().push((id, p));
                }
            }
            // Patterns were validated when the config was loaded; one that still does not
            // compile (a discovered folder's pattern) is skipped alone.
            for p in s.paths.iter().filter(|p| glob::compile(p).is_ok()) {
                patterns.push(p.clone());
                path_owner.push(id);
            }
        }
        let paths = Globs::new(patterns).unwrap_or_else(|_| {
            path_owner.clear();
            Globs::empty()
        });
        Ownership {
            ws,
            roots,
            paths,
            path_owner,
            packages,
        }
    }

    /// Classifies a workspace-relative path and, for [`PathClass::Owned`], appends its owners to
    /// `owners` (cleared first; sorted, no duplicates).
    pub fn classify(
        &self,
        path: &[u8],
        owners: &mut Vec<ServiceId>,
        scratch: &mut Vec<usize>,
    ) -> PathClass {
        self.classify_into(path, owners, scratch, None)
    }

    /// [`Self::classify`], also telling which owners hold the path only through a Go package of
    /// their closure (cleared first): those get a `package` reason rather than a `file` one.
    pub fn classify_into(
        &self,
        path: &[u8],
        owners: &mut Vec<ServiceId>,
        scratch: &mut Vec<usize>,
        mut by_package: Option<&mut Vec<(ServiceId, &'w PackageInput)>>,
    ) -> PathClass {
        owners.clear();
        if let Some(v) = by_package.as_deref_mut() {
            v.clear();
        }
        if self.ws.ignore().is_match(path) {
            return PathClass::Ignored;
        }
        if self.ws.global_inputs().is_match(path) {
            return PathClass::Global;
        }
        self.root_owners(path, owners);
        if !self.path_owner.is_empty() {
            scratch.clear();
            self.paths.matches_into(path, scratch);
            owners.extend(scratch.iter().map(|&i| self.path_owner[i]));
            owners.sort_unstable();
            owners.dedup();
        }
        if !self.packages.is_empty() {
            self.add_package_owners(path, owners, by_package);
        }
        if owners.is_empty() {
            PathClass::Unowned
        } else {
            PathClass::Owned
        }
    }

    /// Adds the services whose closure holds `path`'s directory and that do not own it already.
    fn add_package_owners(
        &self,
        path: &[u8],
        owners: &mut Vec<ServiceId>,
        mut by_package: Option<&mut Vec<(ServiceId, &'w PackageInput)>>,
    ) {
        let dir = path
            .iter()
            .rposition(|&b| b == b'/')
            .map_or(&b""[..], |i| &path[..i]);
        let Some(entries) = self.packages.get(dir) else {
            return;
        };
        // A `_test.go` file is a test of the package in whose own folder it lies; in an asset
        // folder it is data.
        let test = path.ends_with(b"_test.go");
        let before = owners.len();
        for &(id, p) in entries {
            let test = test && p.dir.as_bytes() == dir;
            if (p.tests || !test) && owners[..before].binary_search(&id).is_err() {
                owners.push(id);
                if let Some(v) = by_package.as_deref_mut() {
                    v.push((id, p));
                }
            }
        }
        if owners.len() > before {
            owners.sort_unstable();
            owners.dedup();
        }
    }

    /// Whether the workspace-relative `path` lies under service `id`'s root and matches the
    /// `outputs` of one of its targets: a product of the service, which its task hashes leave out.
    pub fn is_output_of(&self, id: ServiceId, path: &[u8]) -> bool {
        let s = self.ws.service(id);
        if s.outputs.is_empty() {
            return false;
        }
        let rel = if s.root.is_empty() {
            path
        } else {
            match path
                .strip_prefix(s.root.as_bytes())
                .and_then(|r| r.strip_prefix(b"/"))
            {
                Some(r) => r,
                None => return false,
            }
        };
        s.outputs.is_match(rel)
    }

    /// The services whose root is the deepest directory containing `path`.
    pub fn root_owners(&self, path: &[u8], owners: &mut Vec<ServiceId>) {
        // A changed path equal to a root is the service itself: a submodule checked out as the
        // service's folder (its pointer moved), or the folder replaced by a file.
        if let Some(ids) = self.roots.get(path) {
            owners.extend_from_slice(ids);
            return;
        }
        let mut end = path.len();
        while let Some(slash) = path[..end].iter().rposition(|&b| b == b'/') {
            if let Some(ids) = self.roots.get(&path[..slash]) {
                owners.extend_from_slice(ids);
                return;
            }
            end = slash;
        }
        if let Some(ids) = self.roots.get(&b""[..]) {
            owners.extend_from_slice(ids);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;
    use std::path::Path;

    fn ws(dirs: &[&str], text: &str) -> (tempfile::TempDir, Workspace) {
        let t = tempfile::tempdir().unwrap();
        for d in dirs {
            std::fs::create_dir_all(t.path().join(d)).unwrap();
        }
        let w = parse(text, Path::new("pipeline.toml"), t.path()).unwrap();
        (t, w)
    }

    fn owners_of(o: &Ownership, path: &str) -> (PathClass, Vec<String>) {
        let mut v = Vec::new();
        let c = o.classify(path.as_bytes(), &mut v, &mut Vec::new());
        (c, v.iter().map(|&i| o.ws.service(i).name.clone()).collect())
    }

    #[test]
    fn deepest_root_wins_and_paths_add_owners() {
        let (_t, w) = ws(
            &["apps/web", "apps/web/admin", "proto"],
            r#"
[workspace]
ignore = ["**/*.md"]
global_inputs = ["ci/**"]
[services.web]
root = "apps/web"
[services.admin]
root = "apps/web/admin"
paths = ["proto/**"]
[services.api]
root = "apps/api-not-prefix"
"#
            .replace("apps/api-not-prefix", "proto")
            .as_str(),
        );
        let o = Ownership::new(&w);
        assert_eq!(
            owners_of(&o, "apps/web/main.go"),
            (PathClass::Owned, vec!["web".into()])
        );
        assert_eq!(
            owners_of(&o, "apps/web/admin/x/y.go"),
            (PathClass::Owned, vec!["admin".into()])
        );
        assert_eq!(owners_of(&o, "apps/webby/x.go").0, PathClass::Unowned);
        assert_eq!(
            owners_of(&o, "proto/a.proto"),
            (PathClass::Owned, vec!["admin".into(), "api".into()])
        );
        assert_eq!(owners_of(&o, "apps/web/README.md").0, PathClass::Ignored);
        assert_eq!(owners_of(&o, "ci/build.sh").0, PathClass::Global);
    }

    #[test]
    fn a_path_equal_to_a_root_belongs_to_that_service() {
        let (_t, w) = ws(&["libs/pay"], "[services.pay]\nroot = \"libs/pay\"\n");
        let o = Ownership::new(&w);
        assert_eq!(
            owners_of(&o, "libs/pay"),
            (PathClass::Owned, vec!["pay".into()])
        );
        assert_eq!(owners_of(&o, "libs/payments").0, PathClass::Unowned);
        assert_eq!(owners_of(&o, "libs").0, PathClass::Unowned);
    }

    #[test]
    fn root_service_owns_leftovers() {
        let (_t, w) = ws(
            &["svc"],
            "[services.all]\nroot = \".\"\n[services.svc]\nroot = \"svc\"\n",
        );
        let o = Ownership::new(&w);
        assert_eq!(owners_of(&o, "top.txt").1, ["all"]);
        assert_eq!(owners_of(&o, "svc/a").1, ["svc"]);
    }
}
