//! The fingerprint of one task: every input that goes into its hash, the encoding that hashes it
//! (the one place that defines a task hash's bytes) and the keyed digests env values enter as.
//! Nothing here reads files or the environment; [`super::hash_tasks`] gathers a task's
//! [`OwnPart`] and builds its fingerprint once its needs' hashes are known.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bstr::{BStr, ByteSlice};
use serde::{Deserialize, Serialize};

use super::encode::{Encode, Encoder};

/// Bump to invalidate every cache entry when the fingerprint's meaning changes.
/// 2: env values enter as their keyed digest ([`EnvDigest`]) rather than as raw bytes, and the
/// global-inputs hash counts its lists.
/// 3: a lockfile enters as the digest of each using service's resolved closure
/// ([`Fingerprint::lockfiles`]) instead of as a file.
pub const FINGERPRINT_VERSION: u32 = 3;

/// One input file: workspace-relative path, content id and git mode (borrowed from the index).
pub type FileInput<'a> = (&'a BStr, &'a gix::oid, u32);

/// Everything that went into one task's hash: its [`OwnPart`] and its needs' hashes, built
/// whole once those are known and read-only afterwards.
#[derive(Debug, Clone)]
pub struct Fingerprint<'a> {
    own: OwnPart<'a>,
    /// Label (`service:target`) and hash of every needed task, sorted by label.
    needs: Vec<(String, blake3::Hash)>,
}

/// Everything in a task's hash but its needs' hashes: what is known before the tasks it needs
/// are hashed, so that this bulk (its files above all) is gathered for every task in parallel.
#[derive(Debug, Clone)]
pub(super) struct OwnPart<'a> {
    pub(super) version: u32,
    pub(super) service: String,
    pub(super) target: String,
    pub(super) command: String,
    pub(super) root: String,
    pub(super) outputs: Vec<String>,
    /// Sorted by path.
    pub(super) files: Vec<FileInput<'a>>,
    /// Declared variables and the digests of their values (`None`: unset), sorted by name. The
    /// values themselves are never kept: they may be secrets, and a fingerprint is printed, logged
    /// and stored in summaries.
    pub(super) env: Vec<(String, Option<EnvDigest>)>,
    pub(super) global: blake3::Hash,
    /// Each lockfile the service resolves external dependencies through (workspace-relative
    /// path) and the digest of its closure there, sorted by path: what it installs, so churn in
    /// the lockfile that does not concern it leaves the hash alone. Hashed after the needs.
    pub(super) lockfiles: Vec<(String, blake3::Hash)>,
}

impl OwnPart<'_> {
    /// The fields hashed before the needs (all but the lockfiles), in order.
    pub(super) fn encode(&self, e: &mut Encoder) {
        e.put(&self.version)
            .put(&self.service)
            .put(&self.target)
            .put(&self.command)
            .put(&self.root)
            .put(&self.outputs)
            .put(&self.files)
            .put(&self.env)
            .put(&self.global);
    }
}

/// A keyed blake3 digest of one environment variable's value: what enters the task hash and the
/// only form in which a value is ever shown or stored. Equal values give equal digests, so a
/// summary still shows that a value changed, but the value cannot be read back from it. The key
/// is derived from the variable's name, so the same secret under two names shows two digests.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EnvDigest(blake3::Hash);

impl EnvDigest {
    pub fn of(name: &str, value: &[u8]) -> EnvDigest {
        let mut h = blake3::Hasher::new_derive_key("shockwave 2026-12 env value digest v1");
        for part in [name.as_bytes(), value] {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part);
        }
        EnvDigest(h.finalize())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// The short form every output uses: `set, blake3:1a2b3c4d`.
    pub fn display(&self) -> String {
        format!("set, blake3:{}", &self.0.to_hex()[..8])
    }
}

/// Shows only the short digest, so a `{:?}` in a log line cannot leak more than any output does.
impl std::fmt::Debug for EnvDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

/// The fields in the order they are hashed: the one place that defines a task hash's bytes.
impl Encode for Fingerprint<'_> {
    fn encode(&self, e: &mut Encoder) {
        self.encode_own(e);
        self.encode_chained(e);
    }
}

/// The domain every task hash starts with.
pub(super) const TASK_DOMAIN: &[u8] = b"shockwave-task\0";

impl<'a> Fingerprint<'a> {
    /// The fingerprint of a task with `own` for its own part that needs the tasks `needs`
    /// labels and hashes (sorted by label).
    pub(super) fn new(own: OwnPart<'a>, needs: Vec<(String, blake3::Hash)>) -> Fingerprint<'a> {
        Fingerprint { own, needs }
    }
}

impl Fingerprint<'_> {
    #[cfg(test)]
    pub fn hash(&self) -> blake3::Hash {
        Encoder::new(TASK_DOMAIN).put(self).finish()
    }

    /// The fields known before the needs are hashed (all but the last two), so that the bulk
    /// of every task's hash, its files, can be computed in parallel.
    pub(super) fn encode_own(&self, e: &mut Encoder) {
        self.own.encode(e);
    }

    /// The fields that follow: the needs' hashes, then the lockfiles.
    pub(super) fn encode_chained(&self, e: &mut Encoder) {
        e.put(&self.needs).put(&self.own.lockfiles);
    }

    pub fn command(&self) -> &str {
        &self.own.command
    }

    /// The service's root, workspace-relative.
    pub fn root(&self) -> &str {
        &self.own.root
    }

    /// The target's `outputs` patterns.
    pub fn outputs(&self) -> &[String] {
        &self.own.outputs
    }

    /// The input files, sorted by path.
    pub fn files(&self) -> &[FileInput<'_>] {
        &self.own.files
    }

    /// Declared variables and their values' digests (`None`: unset), sorted by name.
    pub fn env(&self) -> &[(String, Option<EnvDigest>)] {
        &self.own.env
    }

    /// The global-inputs hash.
    pub fn global(&self) -> &blake3::Hash {
        &self.own.global
    }

    /// Label and hash of every needed task, sorted by label.
    pub fn needs(&self) -> &[(String, blake3::Hash)] {
        &self.needs
    }

    /// The fingerprint as JSON (the record `hash --json` and run summaries carry), borrowing
    /// its text: only the hashes, digests and file entries are formatted.
    pub fn record(&self) -> FingerprintRecord<'_> {
        let own = &self.own;
        FingerprintRecord {
            command: Some(Cow::from(own.command.as_str())),
            env: own
                .env
                .iter()
                .map(|(k, v)| (Cow::from(k.as_str()), v.map(|d| Cow::Owned(d.display()))))
                .collect(),
            files: own
                .files
                .iter()
                .map(|(p, id, mode)| (p.to_str_lossy(), Cow::Owned(format!("{mode:o} {id}"))))
                .collect(),
            global: Some(hex(&own.global)),
            lockfiles: Some(hex_map(&own.lockfiles)),
            needs: hex_map(&self.needs),
            outputs: Some(own.outputs.iter().map(|o| Cow::from(o.as_str())).collect()),
            root: Some(Cow::from(own.root.as_str())),
            version: Some(own.version),
        }
    }
}

fn hex(h: &blake3::Hash) -> Cow<'static, str> {
    Cow::Owned(h.to_hex().to_string())
}

/// Labels or paths with their hashes, as the record holds them.
fn hex_map(list: &[(String, blake3::Hash)]) -> BTreeMap<Cow<'_, str>, Cow<'_, str>> {
    list.iter()
        .map(|(k, h)| (Cow::from(k.as_str()), hex(h)))
        .collect()
}

/// A fingerprint as JSON: what `hash --json` lists and run summaries store for every task, and
/// what `hash --diff` reads back from either. Written borrowing from a [`Fingerprint`]
/// ([`Fingerprint::record`]); read back owned, as `FingerprintRecord<'static>`.
///
/// An env value appears only as its digest's short form (`set, blake3:1a2b3c4d`, `null` when
/// unset; summaries of older versions hold values in clear, which are read but never shown), a
/// file as `"<mode> <content id>"` (the id alone in older listings), a needed task and a
/// lockfile closure as a hex hash. A field other than the three maps may be missing from what
/// is read (`lockfiles` is, in listings older than fingerprint version 3) and stays missing when
/// written back, so a merged summary keeps its tasks' fingerprints as they were.
///
/// The fields are declared in alphabetical order because serde writes them in declaration
/// order, and earlier versions wrote this object with sorted keys: the output keeps its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FingerprintRecord<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Cow<'a, str>>,
    /// Variable name → digest (`None`: unset).
    pub env: BTreeMap<Cow<'a, str>, Option<Cow<'a, str>>>,
    /// Workspace-relative path → `"<mode> <content id>"`.
    pub files: BTreeMap<Cow<'a, str>, Cow<'a, str>>,
    /// The global-inputs hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global: Option<Cow<'a, str>>,
    /// Lockfile path → closure digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lockfiles: Option<BTreeMap<Cow<'a, str>, Cow<'a, str>>>,
    /// Needed task's label → its hash.
    pub needs: BTreeMap<Cow<'a, str>, Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Vec<Cow<'a, str>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root: Option<Cow<'a, str>>,
    /// [`FINGERPRINT_VERSION`] when it was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use bstr::ByteSlice;
    use gix::ObjectId;

    static EMPTY: std::sync::LazyLock<ObjectId> =
        std::sync::LazyLock::new(|| ObjectId::empty_blob(gix::hash::Kind::Sha1));

    fn fp() -> Fingerprint<'static> {
        let own = OwnPart {
            version: FINGERPRINT_VERSION,
            service: "api".into(),
            target: "build".into(),
            command: "make".into(),
            root: "services/api".into(),
            outputs: vec!["bin/**".into()],
            files: vec![(b"services/api/main.go".as_bstr(), EMPTY.as_ref(), 0o100644)],
            env: vec![("GOFLAGS".into(), Some(EnvDigest::of("GOFLAGS", b"-v")))],
            global: blake3::hash(b"g"),
            lockfiles: vec![("package-lock.json".into(), blake3::hash(b"closure"))],
        };
        Fingerprint::new(own, vec![])
    }

    /// A fingerprint with every field set, pinned to its hash. If this test fails, every user's
    /// cache would silently become misses: bump FINGERPRINT_VERSION (and this value) on purpose,
    /// or undo the change to the encoding.
    #[test]
    fn golden_fingerprint_hash() {
        let mut f = fp();
        f.own.version = 3;
        f.needs = vec![("lib:build".into(), blake3::hash(b"lib"))];
        f.own.env.push(("UNSET".into(), None));
        assert_eq!(
            FINGERPRINT_VERSION, 3,
            "the version is part of the golden value"
        );
        assert_eq!(f.hash().to_hex().as_str(), GOLDEN_TASK);
        // `hash_tasks` hashes the two halves apart, keeping the first across a compaction.
        let mut own = Encoder::new(TASK_DOMAIN);
        f.encode_own(&mut own);
        own.compact();
        let mut e = own.clone();
        f.encode_chained(&mut e);
        assert_eq!(e.finish().to_hex().as_str(), GOLDEN_TASK);
    }

    /// The JSON record of a fingerprint with every field set, pinned: each value's form, and the
    /// keys in sorted order as earlier versions wrote them (`hash --json` and summaries keep
    /// their bytes). Read back, it is the same record.
    #[test]
    fn record_json_is_pinned_and_reads_back() {
        let mut f = fp();
        f.needs = vec![("lib:build".into(), blake3::hash(b"lib"))];
        f.own.env.push(("UNSET".into(), None));
        let text = serde_json::to_string(&f.record()).unwrap();
        assert_eq!(text, GOLDEN_RECORD);
        let sorted: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(sorted.to_string(), text, "keys out of alphabetical order");
        let back: FingerprintRecord<'static> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, f.record());
    }

    const GOLDEN_RECORD: &str = concat!(
        r#"{"command":"make","env":{"GOFLAGS":"set, blake3:99a992c0","#,
        r#""UNSET":null},"files":{"services/api/main.go":"100644 e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"},"#,
        r#""global":"805a31dee1a2a0d3fbe08c612de4fe6be78166a3c4d3a4db7805ad839ed47d4d","#,
        r#""lockfiles":{"package-lock.json":"88111ed98d6c75eb453ca99ad1923b78016ab679731a0e8c180b907cce7cad33"},"#,
        r#""needs":{"lib:build":"7b97ab9f4caded92ea611929635d0b484871c44e3173bdc0b3c7a46ad0699af5"},"#,
        r#""outputs":["bin/**"],"root":"services/api","version":3}"#
    );

    /// A record as older versions wrote it — no `lockfiles`, an env value in clear, a file's id
    /// without its mode — is read and written back as it was: a merged summary keeps it.
    #[test]
    fn older_records_read_and_write_back_unchanged() {
        let old = r#"{"command":"make","env":{"TOKEN":"hunter2"},"files":{"a.c":"e69de29"},"global":"g","needs":{},"outputs":[],"root":"","version":1}"#;
        let record: FingerprintRecord<'static> = serde_json::from_str(old).unwrap();
        assert_eq!(record.lockfiles, None);
        assert_eq!(serde_json::to_string(&record).unwrap(), old);
        // A hand-written one with only some fields stays that way too.
        let some = r#"{"env":{},"files":{"f":"100644 b"},"needs":{}}"#;
        let record: FingerprintRecord<'static> =
            serde_json::from_str(r#"{"files":{"f":"100644 b"}}"#).unwrap();
        assert_eq!(serde_json::to_string(&record).unwrap(), some);
    }

    const GOLDEN_TASK: &str = "1808ad4ddbebc29d63cbf16e5a12a657dcffd8968cea3852440b524e89c23eaf";

    #[test]
    fn every_field_changes_the_hash() {
        let base = fp().hash();
        type Change = Box<dyn Fn(&mut Fingerprint<'static>)>;
        let changes: Vec<(&str, Change)> = vec![
            ("version", Box::new(|f| f.own.version += 1)),
            ("service", Box::new(|f| f.own.service.push('x'))),
            ("target", Box::new(|f| f.own.target.push('x'))),
            ("command", Box::new(|f| f.own.command.push(' '))),
            ("root", Box::new(|f| f.own.root.push('x'))),
            (
                "outputs added",
                Box::new(|f| f.own.outputs.push("x/**".into())),
            ),
            ("outputs changed", Box::new(|f| f.own.outputs[0].push('x'))),
            ("files removed", Box::new(|f| f.own.files.clear())),
            (
                "file path",
                Box::new(|f| f.own.files[0].0 = b"services/api/main2.go".as_bstr()),
            ),
            ("file id", Box::new(|f| f.own.files[0].1 = &OTHER)),
            ("file mode", Box::new(|f| f.own.files[0].2 = 0o100755)),
            ("env name", Box::new(|f| f.own.env[0].0.push('X'))),
            (
                "env value",
                Box::new(|f| f.own.env[0].1 = Some(EnvDigest::of("GOFLAGS", b"-x"))),
            ),
            ("env unset", Box::new(|f| f.own.env[0].1 = None)),
            ("env removed", Box::new(|f| f.own.env.clear())),
            ("global", Box::new(|f| f.own.global = blake3::hash(b"h"))),
            (
                "needs added",
                Box::new(|f| f.needs.push(("lib:build".into(), blake3::hash(b"x")))),
            ),
        ];
        for (what, change) in &changes {
            let mut f = fp();
            change(&mut f);
            assert_ne!(f.hash(), base, "{what} did not change the hash");
        }
        let with_need = |label: &str, h: &[u8]| {
            let mut f = fp();
            f.needs.push((label.into(), blake3::hash(h)));
            f.hash()
        };
        assert_ne!(with_need("lib:build", b"x"), with_need("lib:test", b"x"));
        assert_ne!(with_need("lib:build", b"x"), with_need("lib:build", b"y"));
        assert_eq!(
            fp().hash(),
            base,
            "the hash is a pure function of the fingerprint"
        );
    }

    static OTHER: std::sync::LazyLock<ObjectId> =
        std::sync::LazyLock::new(|| ObjectId::empty_tree(gix::hash::Kind::Sha1));

    #[test]
    fn length_prefixes_keep_fields_apart() {
        let mut a = fp();
        a.own.service = "ab".into();
        a.own.target = "c".into();
        let mut b = fp();
        b.own.service = "a".into();
        b.own.target = "bc".into();
        assert_ne!(a.hash(), b.hash());
        // An element moved from one list to the next.
        let mut a = fp();
        a.own.outputs = vec!["x".into(), "y".into()];
        a.own.files.clear();
        let mut b = fp();
        b.own.outputs = vec!["x".into()];
        b.own.files.clear();
        b.own.env.insert(0, ("y".into(), None));
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn env_digest_shows_no_value_and_depends_on_name_and_value() {
        let d = EnvDigest::of("TOKEN", b"hunter2");
        assert!(!format!("{d:?} {}", d.display()).contains("hunter2"));
        assert_eq!(d, EnvDigest::of("TOKEN", b"hunter2"));
        assert_ne!(d, EnvDigest::of("TOKEN", b"hunter3"));
        assert_ne!(d, EnvDigest::of("OTHER", b"hunter2"));
        assert!(!format!("{:?}", fp()).contains("-v\""));
    }
}
