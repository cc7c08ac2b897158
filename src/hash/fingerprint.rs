//! The fingerprint of one task: every input that goes into its hash, the encoding that hashes it
//! (the one place that defines a task hash's bytes) and the keyed digests env values enter as.
//! Nothing here reads files or the environment; [`super::hash_tasks`] fills fingerprints in.

use bstr::{BStr, ByteSlice};
use serde_json::{json, Value};

use super::encode::{Encode, Encoder};

/// Bump to invalidate every cache entry when the fingerprint's meaning changes.
/// 2: env values enter as their keyed digest ([`EnvDigest`]) rather than as raw bytes, and the
/// global-inputs hash counts its lists.
/// 3: a lockfile enters as the digest of each using service's resolved closure
/// ([`Fingerprint::lockfiles`]) instead of as a file.
pub const FINGERPRINT_VERSION: u32 = 3;

/// One input file: workspace-relative path, content id and git mode (borrowed from the index).
pub type FileInput<'a> = (&'a BStr, &'a gix::oid, u32);

/// Everything that went into one task's hash.
#[derive(Debug, Clone)]
pub struct Fingerprint<'a> {
    pub version: u32,
    pub service: String,
    pub target: String,
    pub command: String,
    pub root: String,
    pub outputs: Vec<String>,
    /// Sorted by path.
    pub files: Vec<FileInput<'a>>,
    /// Declared variables and the digests of their values (`None`: unset), sorted by name. The
    /// values themselves are never kept: they may be secrets, and a fingerprint is printed, logged
    /// and stored in summaries.
    pub env: Vec<(String, Option<EnvDigest>)>,
    pub global: blake3::Hash,
    /// Label (`service:target`) and hash of every needed task, sorted by label.
    pub needs: Vec<(String, blake3::Hash)>,
    /// Each lockfile the service resolves external dependencies through (workspace-relative
    /// path) and the digest of its closure there, sorted by path: what it installs, so churn in
    /// the lockfile that does not concern it leaves the hash alone.
    pub lockfiles: Vec<(String, blake3::Hash)>,
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

impl Fingerprint<'_> {
    pub fn hash(&self) -> blake3::Hash {
        Encoder::new(TASK_DOMAIN).put(self).finish()
    }

    /// The fields known before the needs are hashed (all but the last two), so that the bulk
    /// of every task's hash, its files, can be computed in parallel.
    pub(super) fn encode_own(&self, e: &mut Encoder) {
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

    /// The fields that follow: the needs' hashes, then the lockfiles.
    pub(super) fn encode_chained(&self, e: &mut Encoder) {
        e.put(&self.needs).put(&self.lockfiles);
    }

    /// The fingerprint as JSON (the format `hash --json` and run summaries carry).
    pub fn to_json(&self) -> Value {
        let files: serde_json::Map<String, Value> = self
            .files
            .iter()
            .map(|(p, id, mode)| {
                (
                    p.to_str_lossy().into_owned(),
                    json!(format!("{mode:o} {id}")),
                )
            })
            .collect();
        let env: serde_json::Map<String, Value> = self
            .env
            .iter()
            .map(|(k, v)| (k.clone(), json!(v.as_ref().map(EnvDigest::display))))
            .collect();
        let needs: serde_json::Map<String, Value> = self
            .needs
            .iter()
            .map(|(k, v)| (k.clone(), json!(v.to_hex().to_string())))
            .collect();
        let lockfiles: serde_json::Map<String, Value> = self
            .lockfiles
            .iter()
            .map(|(k, v)| (k.clone(), json!(v.to_hex().to_string())))
            .collect();
        json!({
            "version": self.version,
            "lockfiles": lockfiles,
            "command": self.command,
            "root": self.root,
            "outputs": self.outputs,
            "env": env,
            "global": self.global.to_hex().to_string(),
            "needs": needs,
            "files": files,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bstr::ByteSlice;
    use gix::ObjectId;

    static EMPTY: std::sync::LazyLock<ObjectId> =
        std::sync::LazyLock::new(|| ObjectId::empty_blob(gix::hash::Kind::Sha1));

    fn fp() -> Fingerprint<'static> {
        Fingerprint {
            version: FINGERPRINT_VERSION,
            service: "api".into(),
            target: "build".into(),
            command: "make".into(),
            root: "services/api".into(),
            outputs: vec!["bin/**".into()],
            files: vec![(b"services/api/main.go".as_bstr(), EMPTY.as_ref(), 0o100644)],
            env: vec![("GOFLAGS".into(), Some(EnvDigest::of("GOFLAGS", b"-v")))],
            global: blake3::hash(b"g"),
            needs: vec![],
            lockfiles: vec![("package-lock.json".into(), blake3::hash(b"closure"))],
        }
    }

    /// A fingerprint with every field set, pinned to its hash. If this test fails, every user's
    /// cache would silently become misses: bump FINGERPRINT_VERSION (and this value) on purpose,
    /// or undo the change to the encoding.
    #[test]
    fn golden_fingerprint_hash() {
        let mut f = fp();
        f.version = 3;
        f.needs = vec![("lib:build".into(), blake3::hash(b"lib"))];
        f.env.push(("UNSET".into(), None));
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

    const GOLDEN_TASK: &str = "1808ad4ddbebc29d63cbf16e5a12a657dcffd8968cea3852440b524e89c23eaf";

    #[test]
    fn every_field_changes_the_hash() {
        let base = fp().hash();
        type Change = Box<dyn Fn(&mut Fingerprint<'static>)>;
        let changes: Vec<(&str, Change)> = vec![
            ("version", Box::new(|f| f.version += 1)),
            ("service", Box::new(|f| f.service.push('x'))),
            ("target", Box::new(|f| f.target.push('x'))),
            ("command", Box::new(|f| f.command.push(' '))),
            ("root", Box::new(|f| f.root.push('x'))),
            ("outputs added", Box::new(|f| f.outputs.push("x/**".into()))),
            ("outputs changed", Box::new(|f| f.outputs[0].push('x'))),
            ("files removed", Box::new(|f| f.files.clear())),
            (
                "file path",
                Box::new(|f| f.files[0].0 = b"services/api/main2.go".as_bstr()),
            ),
            ("file id", Box::new(|f| f.files[0].1 = &OTHER)),
            ("file mode", Box::new(|f| f.files[0].2 = 0o100755)),
            ("env name", Box::new(|f| f.env[0].0.push('X'))),
            (
                "env value",
                Box::new(|f| f.env[0].1 = Some(EnvDigest::of("GOFLAGS", b"-x"))),
            ),
            ("env unset", Box::new(|f| f.env[0].1 = None)),
            ("env removed", Box::new(|f| f.env.clear())),
            ("global", Box::new(|f| f.global = blake3::hash(b"h"))),
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
        a.service = "ab".into();
        a.target = "c".into();
        let mut b = fp();
        b.service = "a".into();
        b.target = "bc".into();
        assert_ne!(a.hash(), b.hash());
        // An element moved from one list to the next.
        let mut a = fp();
        a.outputs = vec!["x".into(), "y".into()];
        a.files.clear();
        let mut b = fp();
        b.outputs = vec!["x".into()];
        b.files.clear();
        b.env.insert(0, ("y".into(), None));
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
