//! shockwave's changed-file sets agree with git's on a randomly generated history.
//!
//! A seeded generator builds a few hundred commits (through `git fast-import`, so it takes well
//! under a second) with adds, edits, deletions, renames within and across services, copies, exec-bit
//! flips, symlinks, submodule pointers, directories replaced by files and back, empty files,
//! non-UTF-8 names, side branches and merges. Then, for many commit pairs, the paths shockwave
//! reports (`path` and `old_path` of `affected --format json`) must equal the paths
//! `git diff --no-renames` reports, with matching statuses; with the default merge-base mode, the
//! merge base must be one git would choose. A second test makes random worktree changes and compares
//! `--uncommitted` with git's staged, unstaged and untracked files.
//!
//! Set `AGREEMENT_SEED=<n>` to explore other histories; a failure prints the seed it used.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::Stdio;

use common::{AffectedJson, OutputExt, TestRepo};

const DEFAULT_SEED: u64 = 0x5eed_cafe_f00d_0001;
const COMMITS: usize = 260;

/// xorshift64*: small, fast and good enough to drive a test.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent`%.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

fn seed() -> u64 {
    std::env::var("AGREEMENT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    File,
    Exec,
    Link,
    Gitlink,
}

impl Kind {
    fn mode(self) -> &'static str {
        match self {
            Kind::File => "100644",
            Kind::Exec => "100755",
            Kind::Link => "120000",
            Kind::Gitlink => "160000",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    kind: Kind,
    /// File content, symlink target, or the commit id of a gitlink.
    data: Vec<u8>,
}

/// A commit's tree: path → entry. Never holds a path that is also a directory of another path.
type Tree = BTreeMap<Vec<u8>, Entry>;

/// Paths every commit keeps unchanged.
const FIXED: &[&[u8]] = &[b"pipeline.toml", b".gitignore"];

const CONFIG: &str = "[workspace]\nmembers = [\"services/*\", \"libs/*\"]\nunowned = \"ignore\"\n";

const BASES: &[&[u8]] = &[
    b"services/alpha",
    b"services/beta",
    b"services/gamma",
    b"libs/core",
    b"libs/util",
    b"tools",
    b"",
];
const SUBDIRS: &[&[u8]] = &[
    b"src",
    b"pkg",
    b"k8s",
    b"deep/er",
    b"\xff\xfedir",
    b"with space",
];
/// `src` and `pkg` double as file names so that files and directories collide naturally.
const NAMES: &[&[u8]] = &[
    b"main.go",
    b"util.go",
    b"a.txt",
    b"b.txt",
    b"conf.yaml",
    b"run.sh",
    b"README.md",
    b"src",
    b"pkg",
    b"caf\xe9.txt",
    b"\xc3\xbcml\xc3\xa4ut.txt",
];
/// A few shared contents, so that exact-content renames have several candidates.
const SHARED: &[&[u8]] = &[b"same\n", b"package main\n", b"", b"x\n"];

fn join(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts.iter().filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push(b'/');
        }
        out.extend_from_slice(p);
    }
    out
}

fn is_dir(tree: &Tree, path: &[u8]) -> bool {
    let mut prefix = path.to_vec();
    prefix.push(b'/');
    tree.range(prefix.clone()..)
        .next()
        .is_some_and(|(k, _)| k.starts_with(&prefix))
}

/// Whether `path` can take a new file: not present, not a directory, no ancestor is a file.
fn free(tree: &Tree, path: &[u8]) -> bool {
    if path.is_empty() || tree.contains_key(path) || is_dir(tree, path) {
        return false;
    }
    let mut end = path.len();
    while let Some(slash) = path[..end].iter().rposition(|&b| b == b'/') {
        if tree.contains_key(&path[..slash]) {
            return false;
        }
        end = slash;
    }
    true
}

/// The directories of the tree (every proper ancestor of every path).
fn dirs(tree: &Tree) -> Vec<Vec<u8>> {
    let mut out = BTreeSet::new();
    for p in tree.keys() {
        let mut end = p.len();
        while let Some(slash) = p[..end].iter().rposition(|&b| b == b'/') {
            out.insert(p[..slash].to_vec());
            end = slash;
        }
    }
    out.into_iter().collect()
}

struct Gen {
    rng: Rng,
    counter: u64,
    /// How often each kind of change was made, to check that the history covers them all.
    made: BTreeMap<&'static str, usize>,
}

impl Gen {
    fn content(&mut self) -> Vec<u8> {
        self.counter += 1;
        if self.rng.chance(15) {
            self.rng.pick(SHARED).to_vec()
        } else {
            format!("content {}\n", self.counter).into_bytes()
        }
    }

    fn path(&mut self, base: Option<&[u8]>) -> Vec<u8> {
        let base = base.unwrap_or_else(|| self.rng.pick(BASES));
        let mut parts: Vec<&[u8]> = vec![base];
        for _ in 0..self.rng.below(3) {
            parts.push(self.rng.pick(SUBDIRS));
        }
        parts.push(self.rng.pick(NAMES));
        join(&parts)
    }

    fn new_entry(&mut self) -> Entry {
        let roll = self.rng.below(100);
        if roll < 84 {
            Entry {
                kind: Kind::File,
                data: self.content(),
            }
        } else if roll < 91 {
            Entry {
                kind: Kind::Exec,
                data: self.content(),
            }
        } else if roll < 97 {
            Entry {
                kind: Kind::Link,
                data: self
                    .rng
                    .pick(&[&b"main.go"[..], b"../a.txt", b"../../libs/core", b"nowhere"])
                    .to_vec(),
            }
        } else {
            Entry {
                kind: Kind::Gitlink,
                data: self.sha(),
            }
        }
    }

    fn sha(&mut self) -> Vec<u8> {
        format!(
            "{:016x}{:016x}{:08x}",
            self.rng.next(),
            self.rng.next(),
            self.rng.next() as u32
        )
        .into_bytes()
    }

    /// A random entry that the generator may touch (not one of the fixed files).
    fn victim(&mut self, tree: &Tree, pred: impl Fn(&Entry) -> bool) -> Option<Vec<u8>> {
        let candidates: Vec<&Vec<u8>> = tree
            .iter()
            .filter(|(k, e)| !FIXED.contains(&k.as_slice()) && pred(e))
            .map(|(k, _)| k)
            .collect();
        (!candidates.is_empty()).then(|| candidates[self.rng.below(candidates.len())].clone())
    }

    /// Adds `entry` at a free random path (same service as `near` when given), trying a few times.
    fn place(&mut self, tree: &mut Tree, entry: Entry, near: Option<&[u8]>) -> bool {
        for _ in 0..8 {
            let base = near.and_then(|n| {
                BASES
                    .iter()
                    .copied()
                    .find(|b| !b.is_empty() && n.starts_with(b))
            });
            let path = self.path(base);
            if free(tree, &path) {
                tree.insert(path, entry);
                return true;
            }
        }
        false
    }

    /// One random change to `tree`.
    fn mutate(&mut self, tree: &mut Tree) {
        let before = tree.clone();
        let op = self.change(tree);
        if *tree != before {
            *self.made.entry(op).or_default() += 1;
        }
    }

    /// Makes one random change and names it.
    fn change(&mut self, tree: &mut Tree) -> &'static str {
        let roll = self.rng.below(100);
        let name = match roll {
            0..=24 => "add",
            25..=44 => "edit",
            45..=54 => "delete",
            55..=69 => "rename",
            70..=73 => "rename with edit",
            74..=79 => "exec bit",
            80..=83 => "directory to file",
            84..=87 => "file to directory",
            88..=91 => "type change",
            92..=95 => "copy",
            _ => "swap",
        };
        match roll {
            // Add.
            0..=24 => {
                let e = self.new_entry();
                self.place(tree, e, None);
            }
            // Edit content (or a link target, or a submodule pointer).
            25..=44 => {
                if let Some(p) = self.victim(tree, |_| true) {
                    let e = tree.get_mut(&p).unwrap();
                    match e.kind {
                        Kind::File | Kind::Exec => {
                            self.counter += 1;
                            e.data
                                .extend_from_slice(format!("edit {}\n", self.counter).as_bytes());
                        }
                        Kind::Link => e.data = b"elsewhere".to_vec(),
                        Kind::Gitlink => e.data = self.sha(),
                    }
                }
            }
            // Delete.
            45..=54 => {
                if let Some(p) = self.victim(tree, |_| true) {
                    tree.remove(&p);
                }
            }
            // Rename within the service, or across.
            55..=69 => {
                if let Some(p) = self.victim(tree, |_| true) {
                    let e = tree.remove(&p).unwrap();
                    let near = self.rng.chance(50).then_some(p.as_slice());
                    if !self.place(tree, e.clone(), near) {
                        tree.insert(p, e);
                    }
                }
            }
            // Rename with an edit.
            70..=73 => {
                if let Some(p) = self.victim(tree, |e| matches!(e.kind, Kind::File | Kind::Exec)) {
                    let mut e = tree.remove(&p).unwrap();
                    e.data.extend_from_slice(b"moved\n");
                    if !self.place(tree, e.clone(), None) {
                        tree.insert(p, e);
                    }
                }
            }
            // Exec bit.
            74..=79 => {
                if let Some(p) = self.victim(tree, |e| matches!(e.kind, Kind::File | Kind::Exec)) {
                    let e = tree.get_mut(&p).unwrap();
                    e.kind = if e.kind == Kind::File {
                        Kind::Exec
                    } else {
                        Kind::File
                    };
                }
            }
            // A directory replaced by a file.
            80..=83 => {
                // Not `services` or `libs` themselves, which would wipe out half the history's services.
                let candidates: Vec<Vec<u8>> = dirs(tree)
                    .into_iter()
                    .filter(|d| d.as_slice() != b"services" && d.as_slice() != b"libs")
                    .collect();
                if !candidates.is_empty() {
                    let d = candidates[self.rng.below(candidates.len())].clone();
                    let mut prefix = d.clone();
                    prefix.push(b'/');
                    tree.retain(|k, _| !k.starts_with(&prefix));
                    let data = self.content();
                    tree.insert(
                        d,
                        Entry {
                            kind: Kind::File,
                            data,
                        },
                    );
                }
            }
            // A file replaced by a directory.
            84..=87 => {
                if let Some(p) = self.victim(tree, |e| e.kind != Kind::Gitlink) {
                    let old = tree.remove(&p).unwrap();
                    let mut inner = p.clone();
                    inner.extend_from_slice(b"/main.go");
                    tree.insert(inner, old);
                    if self.rng.chance(50) {
                        let mut more = p;
                        more.extend_from_slice(b"/deep/x.txt");
                        let data = self.content();
                        tree.insert(
                            more,
                            Entry {
                                kind: Kind::File,
                                data,
                            },
                        );
                    }
                }
            }
            // File ↔ symlink ↔ submodule at the same path.
            88..=91 => {
                if let Some(p) = self.victim(tree, |_| true) {
                    let e = tree.get_mut(&p).unwrap();
                    *e = match e.kind {
                        Kind::File | Kind::Exec if self.rng.chance(80) => Entry {
                            kind: Kind::Link,
                            data: b"main.go".to_vec(),
                        },
                        Kind::File | Kind::Exec => Entry {
                            kind: Kind::Gitlink,
                            data: self.sha(),
                        },
                        Kind::Link | Kind::Gitlink => Entry {
                            kind: Kind::File,
                            data: b"a file again\n".to_vec(),
                        },
                    };
                }
            }
            // Copy (the same content twice).
            92..=95 => {
                if let Some(p) = self.victim(tree, |_| true) {
                    let e = tree[&p].clone();
                    self.place(tree, e, None);
                }
            }
            // Swap two files' contents.
            _ => {
                let a = self.victim(tree, |e| e.kind == Kind::File);
                let b = self.victim(tree, |e| e.kind == Kind::File);
                if let (Some(a), Some(b)) = (a, b) {
                    let da = tree[&a].data.clone();
                    let db = std::mem::replace(&mut tree.get_mut(&b).unwrap().data, da);
                    tree.get_mut(&a).unwrap().data = db;
                }
            }
        }
        name
    }
}

/// One generated commit.
struct Node {
    /// fast-import mark (1-based).
    mark: usize,
    parents: Vec<usize>,
    tree: Tree,
}

fn data_cmd(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(format!("data {}\n", bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
    out.push(b'\n');
}

/// Generates the history and imports it; returns the commit ids and the generated commits, oldest
/// first (index `i` of one is index `i` of the other).
fn build_history(repo: &TestRepo, seed: u64) -> (Vec<String>, Vec<Node>) {
    let mut gen = Gen {
        rng: Rng::new(seed),
        counter: 0,
        made: BTreeMap::new(),
    };
    let mut initial = Tree::new();
    initial.insert(
        b"pipeline.toml".to_vec(),
        Entry {
            kind: Kind::File,
            data: CONFIG.as_bytes().to_vec(),
        },
    );
    initial.insert(
        b".gitignore".to_vec(),
        Entry {
            kind: Kind::File,
            data: b"*.log\n".to_vec(),
        },
    );
    for _ in 0..30 {
        let e = gen.new_entry();
        gen.place(&mut initial, e, None);
    }
    let mut nodes: Vec<Node> = vec![Node {
        mark: 1,
        parents: vec![],
        tree: initial,
    }];
    // Tips of the branches being grown; each new commit extends one of them.
    let mut tips: Vec<usize> = vec![0];
    while nodes.len() < COMMITS {
        let roll = gen.rng.below(100);
        let tip_slot = gen.rng.below(tips.len());
        let parent = tips[tip_slot];
        let mut parents = vec![parent];
        if roll < 6 && nodes.len() > 10 {
            // Start a side branch from a recent commit.
            let from = nodes.len() - 1 - gen.rng.below(10.min(nodes.len()));
            tips.push(from);
            parents = vec![from];
        } else if roll < 14 && tips.len() > 1 {
            // Merge another branch into this one, which then ends.
            let other_slot = (tip_slot + 1 + gen.rng.below(tips.len() - 1)) % tips.len();
            parents.push(tips[other_slot]);
            tips.remove(other_slot);
        }
        let mut tree = nodes[parents[0]].tree.clone();
        if parents.len() == 2 {
            // A merge takes some files from the other side.
            let other = nodes[parents[1]].tree.clone();
            for (k, v) in other {
                if gen.rng.chance(50) && free(&tree, &k) {
                    tree.insert(k, v);
                }
            }
        }
        for _ in 0..1 + gen.rng.below(4) {
            gen.mutate(&mut tree);
        }
        let id = nodes.len();
        let slot = tips.iter().position(|&t| t == parents[0]).unwrap_or(0);
        tips[slot] = id;
        nodes.push(Node {
            mark: id + 1,
            parents,
            tree,
        });
    }

    let mut stream = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        stream.extend_from_slice(b"commit refs/heads/main\n");
        stream.extend_from_slice(format!("mark :{}\n", node.mark).as_bytes());
        stream.extend_from_slice(
            format!(
                "committer Gen <gen@example.com> {} +0000\n",
                1_700_000_000 + i * 60
            )
            .as_bytes(),
        );
        data_cmd(&mut stream, format!("commit {i}").as_bytes());
        for (n, &p) in node.parents.iter().enumerate() {
            let verb = if n == 0 { "from" } else { "merge" };
            stream.extend_from_slice(format!("{verb} :{}\n", nodes[p].mark).as_bytes());
        }
        stream.extend_from_slice(b"deleteall\n");
        for (path, e) in &node.tree {
            match e.kind {
                Kind::Gitlink => {
                    stream.extend_from_slice(
                        format!("M 160000 {} ", String::from_utf8_lossy(&e.data)).as_bytes(),
                    );
                    stream.extend_from_slice(path);
                    stream.push(b'\n');
                }
                _ => {
                    stream.extend_from_slice(format!("M {} inline ", e.kind.mode()).as_bytes());
                    stream.extend_from_slice(path);
                    stream.push(b'\n');
                    data_cmd(&mut stream, &e.data);
                }
            }
        }
        stream.push(b'\n');
        // Keep every commit reachable (side branches end up unreferenced otherwise).
        stream
            .extend_from_slice(format!("reset refs/tags/c{i}\nfrom :{}\n\n", node.mark).as_bytes());
    }
    let marks = repo.path().join(".git/marks");
    let mut child = repo
        .git_cmd(&[
            "fast-import",
            "--quiet",
            "--done",
            &format!("--export-marks={}", marks.display()),
        ])
        .stdin(Stdio::piped())
        .spawn()
        .expect("run git fast-import");
    {
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&stream).unwrap();
        stdin.write_all(b"done\n").unwrap();
    }
    assert!(child.wait().unwrap().success(), "git fast-import failed");
    let marks = std::fs::read_to_string(marks).unwrap();
    let mut ids = vec![String::new(); nodes.len()];
    for line in marks.lines() {
        let (mark, sha) = line.split_once(' ').unwrap();
        let mark: usize = mark.trim_start_matches(':').parse().unwrap();
        ids[mark - 1] = sha.to_string();
    }
    for op in [
        "add",
        "edit",
        "delete",
        "rename",
        "rename with edit",
        "exec bit",
        "directory to file",
        "file to directory",
        "type change",
        "copy",
        "swap",
    ] {
        let n = gen.made.get(op).copied().unwrap_or(0);
        assert!(
            n >= 3,
            "seed {seed:#x}: the history has only {n} changes of kind `{op}`: {:?}",
            gen.made
        );
    }
    // The final tip is checked out so that pipeline.toml is in the worktree.
    repo.git(&["checkout", "-q", "-f", "main"]);
    (ids, nodes)
}

/// `git diff --name-status --no-renames -z` as (lossy path → status letter).
fn git_diff(repo: &TestRepo, args: &[&str]) -> BTreeMap<String, char> {
    let mut all = vec![
        "diff",
        "--name-status",
        "--no-renames",
        "-z",
        "--no-ext-diff",
        "--ignore-submodules=none",
    ];
    all.extend_from_slice(args);
    let raw = repo.git_bytes(&all);
    let mut out = BTreeMap::new();
    let mut fields = raw.split(|&b| b == 0).filter(|f| !f.is_empty());
    while let (Some(status), Some(path)) = (fields.next(), fields.next()) {
        out.insert(
            String::from_utf8_lossy(path).into_owned(),
            status[0] as char,
        );
    }
    out
}

/// shockwave's changes as (path → letter), a rename contributing `D` at its old path and `A` at its
/// new one, which is how git reports it without rename detection.
fn shockwave_letters(json: &serde_json::Value) -> BTreeMap<String, char> {
    let mut out = BTreeMap::new();
    for (path, status, old) in json.changed() {
        let letter = match status.as_str() {
            "added" => 'A',
            "deleted" => 'D',
            "modified" => 'M',
            "type_changed" => 'T',
            "renamed" => {
                let old = old.expect("a rename has an old_path");
                assert!(out.insert(old, 'D').is_none(), "path listed twice");
                'A'
            }
            other => panic!("unknown status {other}"),
        };
        assert!(out.insert(path, letter).is_none(), "path listed twice");
    }
    out
}

/// The member services (`services/*`, `libs/*`) of the checked-out tip: its folders at that depth,
/// submodule folders included (git creates them empty).
fn member_folders(tree: &Tree) -> BTreeSet<String> {
    let gitlinks = tree
        .iter()
        .filter(|(_, e)| e.kind == Kind::Gitlink)
        .map(|(p, _)| p.clone());
    dirs(tree)
        .into_iter()
        .chain(gitlinks)
        .filter_map(|d| String::from_utf8(d).ok())
        .filter(|d| {
            let parts: Vec<&str> = d.split('/').collect();
            parts.len() == 2 && (parts[0] == "services" || parts[0] == "libs")
        })
        .collect()
}

/// An independent ownership oracle: the services (named after their folder) whose folder contains
/// a changed path. No service here has `paths` or `deps`, and `ignore` is empty.
fn expected_owners<'a>(
    services: &BTreeSet<String>,
    changed: impl Iterator<Item = &'a String>,
) -> Vec<String> {
    let mut out = BTreeSet::new();
    for path in changed {
        for s in services {
            // A path equal to a service root (a submodule, or a file that replaced the folder)
            // belongs to that service too.
            if path == s || path.starts_with(&format!("{s}/")) {
                out.insert(s.rsplit('/').next().unwrap().to_string());
            }
        }
    }
    out.into_iter().collect()
}

/// Which interesting kinds of change one pair showed.
fn features(json: &serde_json::Value, git: &BTreeMap<String, char>) -> BTreeSet<&'static str> {
    let mut out = BTreeSet::new();
    for letter in git.values() {
        out.insert(match letter {
            'A' => "A",
            'D' => "D",
            'M' => "M",
            'T' => "T",
            _ => "other",
        });
    }
    let service = |p: &str| p.split('/').take(2).collect::<Vec<_>>().join("/");
    for (path, status, old) in json.changed() {
        if path.contains('\u{FFFD}') {
            out.insert("non-UTF-8 path");
        }
        if status == "renamed" {
            out.insert("renamed");
            if old.as_deref().map(service) != Some(service(&path)) {
                out.insert("renamed across services");
            }
        }
    }
    for (path, letter) in git {
        let inside = format!("{path}/");
        let below: Vec<char> = git
            .range(inside.clone()..)
            .take_while(|(p, _)| p.starts_with(&inside))
            .map(|(_, &l)| l)
            .collect();
        if *letter == 'A' && below.contains(&'D') {
            out.insert("directory to file");
        }
        if *letter == 'D' && below.contains(&'A') {
            out.insert("file to directory");
        }
    }
    out
}

fn describe(nodes: &[Node], a: usize, b: usize) -> String {
    format!("commits {a} → {b} (parents of {b}: {:?})", nodes[b].parents)
}

#[test]
fn changed_files_agree_with_git_diff() {
    let seed = seed();
    let repo = TestRepo::new();
    let started = std::time::Instant::now();
    let (ids, nodes) = build_history(&repo, seed);
    eprintln!(
        "seed {seed:#x}: {} commits generated in {:?}",
        ids.len(),
        started.elapsed()
    );

    let services = member_folders(&nodes.last().unwrap().tree);
    assert!(
        services.len() >= 3,
        "seed {seed:#x}: too few services at the tip: {services:?}"
    );
    let mut rng = Rng::new(seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for _ in 0..60 {
        let b = 1 + rng.below(ids.len() - 1);
        pairs.push((nodes[b].parents[0], b));
    }
    for _ in 0..80 {
        pairs.push((rng.below(ids.len()), rng.below(ids.len())));
    }
    for _ in 0..5 {
        let a = rng.below(ids.len());
        pairs.push((a, a));
    }
    // Every merge commit against its second parent.
    pairs.extend(
        nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.parents.len() == 2)
            .map(|(i, n)| (n.parents[1], i))
            .take(10),
    );

    let (failures, seen): (Vec<Vec<String>>, Vec<BTreeSet<&str>>) = std::thread::scope(|s| {
        let workers: Vec<_> = pairs
            .chunks(pairs.len().div_ceil(4))
            .map(|chunk| {
                let (repo, ids, nodes, services) = (&repo, &ids, &nodes, &services);
                s.spawn(move || {
                    let mut failures = Vec::new();
                    let mut seen = BTreeSet::new();
                    for &(a, b) in chunk {
                        let json = repo.affected_json(&[
                            "--exact-base",
                            "--base",
                            &ids[a],
                            "--head",
                            &ids[b],
                        ]);
                        let ours = shockwave_letters(&json);
                        let git = git_diff(repo, &[&ids[a], &ids[b]]);
                        if ours != git {
                            failures.push(format!(
                                "{}: shockwave {ours:?}\n  git {git:?}",
                                describe(nodes, a, b)
                            ));
                        }
                        seen.extend(features(&json, &git));
                        let owners = expected_owners(services, git.keys());
                        if json.affected_names() != owners {
                            failures.push(format!(
                                "{}: shockwave affects {:?}, the changed paths are under {owners:?}",
                                describe(nodes, a, b),
                                json.affected_names()
                            ));
                        }
                    }
                    (failures, seen)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).unzip()
    });
    let failures: Vec<String> = failures.into_iter().flatten().collect();
    let seen: BTreeSet<&str> = seen.into_iter().flatten().collect();
    assert!(
        failures.is_empty(),
        "seed {seed:#x}: {} of {} pairs disagree:\n{}",
        failures.len(),
        pairs.len(),
        failures.join("\n")
    );
    let wanted = BTreeSet::from([
        "A",
        "D",
        "M",
        "T",
        "renamed",
        "renamed across services",
        "non-UTF-8 path",
        "directory to file",
        "file to directory",
    ]);
    assert!(
        seen.is_superset(&wanted),
        "seed {seed:#x}: the pairs never showed {:?}",
        wanted.difference(&seen).collect::<Vec<_>>()
    );
    eprintln!(
        "seed {seed:#x}: {} pairs agree, showing {seen:?}; total {:?}",
        pairs.len(),
        started.elapsed()
    );
}

#[test]
fn merge_bases_agree_with_git_merge_base() {
    let seed = seed() ^ 0x51;
    let repo = TestRepo::new();
    let (ids, nodes) = build_history(&repo, seed);
    let merges = nodes.iter().filter(|n| n.parents.len() == 2).count();
    assert!(
        merges >= 5,
        "the generator should produce merges (got {merges})"
    );
    let mut rng = Rng::new(seed);
    let mut failures = Vec::new();
    for _ in 0..40 {
        let (a, b) = (rng.below(ids.len()), rng.below(ids.len()));
        let json = repo.affected_json(&["--base", &ids[a], "--head", &ids[b]]);
        let mb = json["merge_base"].as_str().unwrap().to_string();
        let all = repo.git(&["merge-base", "--all", &ids[a], &ids[b]]);
        if !all.lines().any(|l| l == mb) {
            failures.push(format!(
                "{}: shockwave chose {mb}, git has {all:?}",
                describe(&nodes, a, b)
            ));
            continue;
        }
        let ours = shockwave_letters(&json);
        let git = git_diff(&repo, &[&mb, &ids[b]]);
        if ours != git {
            failures.push(format!(
                "{}: shockwave {ours:?}\n  git {git:?}",
                describe(&nodes, a, b)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "seed {seed:#x}:\n{}",
        failures.join("\n")
    );
}

/// Random worktree changes on a checked-out commit: edits (some the same size, right after the
/// checkout, which git calls racy), deletions, untracked and ignored files, exec bits, a file turned
/// into a symlink, staged edits and additions, staged deletions and intent-to-add entries.
fn dirty_the_worktree(repo: &TestRepo, tree: &Tree, rng: &mut Rng) {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let files: Vec<&Vec<u8>> = tree
        .iter()
        .filter(|(k, e)| {
            !FIXED.contains(&k.as_slice()) && matches!(e.kind, Kind::File | Kind::Exec)
        })
        .map(|(k, _)| k)
        .collect();
    let path = |p: &[u8]| OsStr::from_bytes(p).to_owned();
    for n in 0..1 + rng.below(6) {
        if files.is_empty() {
            return;
        }
        let f = path(rng.pick(&files).as_slice());
        let rel = f.to_str().map(str::to_string);
        let exists = repo.abs(&f).symlink_metadata().is_ok();
        match rng.below(11) {
            0 if exists => {
                // Same size as before: only the content id can tell.
                let len = std::fs::read(repo.abs(&f)).map(|d| d.len()).unwrap_or(0);
                repo.write(&f, vec![b'z'; len]);
            }
            1 if exists => {
                repo.write(&f, format!("worktree edit {n}\n"));
            }
            2 if exists => {
                repo.remove(&f);
            }
            3 => {
                try_write(
                    repo,
                    &format!("services/beta/new{n}/untracked.txt"),
                    "new\n",
                );
            }
            4 => {
                try_write(repo, &format!("libs/core/debug{n}.log"), "ignored\n");
            }
            5 if exists && repo.abs(&f).is_file() => {
                let exec = tree[f.as_bytes()].kind == Kind::Exec;
                repo.chmod_exec(&f, !exec);
            }
            6 if exists => {
                repo.remove(&f);
                repo.symlink("main.go", &f);
            }
            7 if exists && rel.is_some() => {
                repo.write(&f, format!("staged edit {n}\n"));
                try_git(repo, &["add", "--", rel.as_deref().unwrap()]);
            }
            8 => {
                let p = format!("tools/staged{n}.txt");
                if try_write(repo, &p, "staged\n") {
                    try_git(repo, &["add", "--", &p]);
                }
            }
            9 if rel.is_some() => {
                try_git(
                    repo,
                    &[
                        "rm",
                        "-q",
                        "--cached",
                        "--ignore-unmatch",
                        "--",
                        rel.as_deref().unwrap(),
                    ],
                );
            }
            10 => {
                let p = format!("services/gamma/intent{n}.txt");
                if try_write(repo, &p, "intent\n") {
                    try_git(repo, &["add", "-N", "--", &p]);
                }
            }
            _ => {}
        }
    }
}

/// Writes a file unless a parent path is a file in this commit; true when written.
fn try_write(repo: &TestRepo, rel: &str, content: &str) -> bool {
    let p = repo.abs(rel);
    std::fs::create_dir_all(p.parent().unwrap()).is_ok() && std::fs::write(&p, content).is_ok()
}

/// Runs a staging command that git may refuse (a path inside a submodule folder, say).
fn try_git(repo: &TestRepo, args: &[&str]) {
    let _ = repo.git_cmd(args).stderr(Stdio::null()).status();
}

/// git's view of `--uncommitted`: HEAD vs index, index vs worktree, untracked not ignored.
fn git_uncommitted(repo: &TestRepo) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = git_diff(repo, &["--cached", "HEAD"]).into_keys().collect();
    out.extend(git_diff(repo, &[]).into_keys());
    let untracked = repo.git_bytes(&["ls-files", "-z", "--others", "--exclude-standard"]);
    out.extend(
        untracked
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned()),
    );
    out
}

#[test]
fn uncommitted_agrees_with_git_status() {
    let seed = seed() ^ 0x77;
    let repo = TestRepo::new();
    let (ids, nodes) = build_history(&repo, seed);
    let mut rng = Rng::new(seed);
    let mut failures = Vec::new();
    for round in 0..25 {
        let c = rng.below(ids.len());
        repo.git(&["checkout", "-q", "-f", "--detach", &ids[c]]);
        repo.git(&["clean", "-q", "-f", "-f", "-d", "-x"]);
        dirty_the_worktree(&repo, &nodes[c].tree, &mut rng);
        // shockwave first: git refreshes the index's stat data as a side effect.
        let out = repo.run(&["affected", "--uncommitted", "--format", "json"]);
        out.success();
        let ours = out.json().changed_paths();
        let git = git_uncommitted(&repo);
        if ours != git {
            let only_ours: Vec<_> = ours.difference(&git).collect();
            let only_git: Vec<_> = git.difference(&ours).collect();
            failures.push(format!(
                "round {round} on commit {c}: only shockwave {only_ours:?}, only git {only_git:?}\n  status:\n{}",
                repo.git(&["status", "--short", "--untracked-files=all"])
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "seed {seed:#x}:\n{}",
        failures.join("\n")
    );
}
