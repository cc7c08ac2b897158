//! Two revisions' closures of one lockfile compared user by user, with the entries each change
//! adds and removes as a `lockfile` reason lists them.
//!
//! A thousand users of one long chain of packages all change when the chain does: comparing
//! their closures as strings, and building the lists from every entry, cost minutes. Here both
//! revisions' labels are numbered once in one sorted table, a user's closures are compared as
//! sorted numbers, and only the first [`LISTED`] entries of each side become strings.

use std::cell::RefCell;

use super::Closures;

/// The most entries a `lockfile` reason lists on each side; the rest are counted. A change that
/// moves a long shared chain would otherwise list it again for every user (a thousand users of
/// a 38,000-package chain made a 1 GB JSON answer).
pub const LISTED: usize = 50;

/// What one user's closure gained and lost, as listed: entries without their integrity
/// (` #sha512-…`, pnpm) unless the same package with another integrity is on the other side,
/// where it is the change; sorted; at most [`LISTED`] per side, and how many more there are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub more_added: usize,
    pub more_removed: usize,
}

/// The labels of two revisions' closures in one numbering.
pub struct Comparison<'a> {
    old: &'a Closures,
    new: &'a Closures,
    /// Every label of either revision, sorted, distinct.
    labels: Vec<&'a str>,
    /// Per old (new) rank, its number in `labels`.
    from_old: Vec<u32>,
    from_new: Vec<u32>,
    /// Per label, the number of its bare form (without ` #integrity`) among all bare forms,
    /// and that form's length.
    bare: Vec<u32>,
    bare_len: Vec<u32>,
    /// Per bare form, the number of the last listing that saw it on the other side, and of
    /// the last that listed it bare.
    marks: RefCell<Marks>,
}

impl<'a> Comparison<'a> {
    pub fn new(old: &'a Closures, new: &'a Closures) -> Self {
        let (a, b) = (old.labels_sorted(), new.labels_sorted());
        let mut labels: Vec<&str> = Vec::with_capacity(a.len().max(b.len()));
        let (mut from_old, mut from_new) =
            (Vec::with_capacity(a.len()), Vec::with_capacity(b.len()));
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let next = match (a.get(i), b.get(j)) {
                (Some(x), Some(y)) => x.min(y),
                (Some(x), None) => x,
                (None, Some(y)) => y,
                (None, None) => break,
            };
            let n = labels.len() as u32;
            if a.get(i) == Some(next) {
                from_old.push(n);
                i += 1;
            }
            if b.get(j) == Some(next) {
                from_new.push(n);
                j += 1;
            }
            labels.push(next);
        }
        let bare_len: Vec<u32> = labels.iter().map(|l| bare(l).len() as u32).collect();
        let mut bare_forms: Vec<(&str, u32)> = labels
            .iter()
            .zip(&bare_len)
            .enumerate()
            .map(|(n, (l, &len))| (&l[..len as usize], n as u32))
            .collect();
        bare_forms.sort_unstable();
        let mut bare_of = vec![0u32; labels.len()];
        let mut count = 0u32;
        for (k, &(form, n)) in bare_forms.iter().enumerate() {
            if k > 0 && bare_forms[k - 1].0 != form {
                count += 1;
            }
            bare_of[n as usize] = count;
        }
        Comparison {
            old,
            new,
            labels,
            from_old,
            from_new,
            bare: bare_of,
            bare_len,
            marks: RefCell::new(Marks {
                listing: 0,
                other: vec![0; count as usize + 1],
                shown: vec![0; count as usize + 1],
            }),
        }
    }

    /// The entries user `user`'s closure gained and lost (full labels, sorted), or `None` when
    /// it did not change.
    pub fn entries(&self, user: usize) -> Option<(Vec<&'a str>, Vec<&'a str>)> {
        let (added, removed) = self.numbers(user)?;
        let text = |ns: Vec<u32>| ns.into_iter().map(|n| self.labels[n as usize]).collect();
        Some((text(added), text(removed)))
    }

    /// User `user`'s change as a `lockfile` reason lists it, or `None` when it did not change.
    pub fn change(&self, user: usize) -> Option<Change> {
        let (added, removed) = self.numbers(user)?;
        let (added_list, more_added) = self.listed(&added, &removed);
        let (removed_list, more_removed) = self.listed(&removed, &added);
        Some(Change {
            added: added_list,
            removed: removed_list,
            more_added,
            more_removed,
        })
    }

    /// The label numbers only at head and only at base, each sorted; `None` when equal.
    fn numbers(&self, user: usize) -> Option<(Vec<u32>, Vec<u32>)> {
        let side = |closures: &Closures, to: &[u32]| {
            let mut ns: Vec<u32> = closures
                .ranks(user)
                .into_iter()
                .map(|r| to[r as usize])
                .collect();
            ns.sort_unstable();
            ns.dedup();
            ns
        };
        let (old, new) = (
            side(self.old, &self.from_old),
            side(self.new, &self.from_new),
        );
        if old == new {
            return None;
        }
        let (mut added, mut removed) = (Vec::new(), Vec::new());
        let (mut i, mut j) = (0, 0);
        while i < old.len() && j < new.len() {
            match old[i].cmp(&new[j]) {
                std::cmp::Ordering::Equal => (i, j) = (i + 1, j + 1),
                std::cmp::Ordering::Less => {
                    removed.push(old[i]);
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    added.push(new[j]);
                    j += 1;
                }
            }
        }
        removed.extend(&old[i..]);
        added.extend(&new[j..]);
        Some((added, removed))
    }

    /// One side as listed (see [`Change`]): its first [`LISTED`] entries, and the number left.
    fn listed(&self, side: &[u32], other: &[u32]) -> (Vec<String>, usize) {
        let mut marks = self.marks.borrow_mut();
        let listing = marks.next();
        for &n in other {
            marks.other[self.bare[n as usize] as usize] = listing;
        }
        // Each entry once: in full where its bare form is on the other side, else bare, a bare
        // form shown once however many integrities it had.
        let mut shown: Vec<&str> = Vec::with_capacity(side.len());
        for &n in side {
            let (label, form) = (self.labels[n as usize], self.bare[n as usize] as usize);
            if marks.other[form] == listing {
                shown.push(label);
            } else if std::mem::replace(&mut marks.shown[form], listing) != listing {
                shown.push(&label[..self.bare_len[n as usize] as usize]);
            }
        }
        // Only the first few are listed: find them without sorting the rest.
        let more = shown.len().saturating_sub(LISTED);
        if more > 0 {
            shown.select_nth_unstable(LISTED - 1);
            shown.truncate(LISTED);
        }
        shown.sort_unstable();
        (shown.into_iter().map(str::to_owned).collect(), more)
    }
}

/// Per-listing marks over the bare forms, reset by numbering listings rather than clearing.
struct Marks {
    listing: u32,
    other: Vec<u32>,
    shown: Vec<u32>,
}

impl Marks {
    /// The number of a new listing: no mark carries it yet.
    fn next(&mut self) -> u32 {
        self.listing = self.listing.wrapping_add(1);
        if self.listing == 0 {
            self.other.fill(0);
            self.shown.fill(0);
            self.listing = 1;
        }
        self.listing
    }
}

/// A label without its integrity (` #sha512-…`), which pnpm labels end with.
fn bare(label: &str) -> &str {
    label.rsplit_once(" #").map_or(label, |(head, _)| head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::lockfile::read;
    use crate::discover::{LockFormat, LockUser};

    /// A pnpm lockfile: user `u` depends on `a` (integrity `sha512-{a}`) and on a chain of
    /// `chain` packages at version `1.0.{v}`.
    fn lock(a: &str, v: u32, chain: usize) -> String {
        let mut out = format!(
            "lockfileVersion: '9.0'\n\nimporters:\n\n  packages/u:\n    dependencies:\n      a:\n        specifier: ^1\n        version: 1.0.0\n      c0:\n        specifier: ^1\n        version: 1.0.{v}\n\npackages:\n\n  a@1.0.0:\n    resolution: {{integrity: sha512-{a}}}\n\nsnapshots:\n\n  a@1.0.0: {{}}\n"
        );
        for k in 0..chain {
            if k + 1 < chain {
                out.push_str(&format!(
                    "  c{k}@1.0.{v}:\n    dependencies:\n      c{}: 1.0.{v}\n",
                    k + 1
                ));
            } else {
                out.push_str(&format!("  c{k}@1.0.{v}: {{}}\n"));
            }
        }
        out
    }

    fn users() -> Vec<LockUser> {
        vec![LockUser {
            service: "u".into(),
            key: "packages/u".into(),
            direct: Vec::new(),
        }]
    }

    #[test]
    fn lists_are_capped_with_a_count_and_a_moved_integrity_is_shown() {
        let old = read(
            LockFormat::PnpmLock,
            lock("AAAA", 0, 70).as_bytes(),
            &users(),
        )
        .unwrap();
        let new = read(
            LockFormat::PnpmLock,
            lock("BBBB", 1, 70).as_bytes(),
            &users(),
        )
        .unwrap();
        let change = Comparison::new(&old, &new).change(0).unwrap();
        assert_eq!(change.added.len(), LISTED);
        assert_eq!(change.more_added, 71 - LISTED);
        assert_eq!(change.removed.len(), LISTED);
        assert_eq!(change.more_removed, 71 - LISTED);
        assert_eq!(change.added[0], "a@1.0.0 #sha512-BBBB");
        assert_eq!(change.removed[0], "a@1.0.0 #sha512-AAAA");
        assert_eq!(change.added[1], "c0@1.0.1");
        let mut sorted = change.added.clone();
        sorted.sort();
        assert_eq!(sorted, change.added, "the first entries in order");
        assert_eq!(Comparison::new(&old, &old).change(0), None);
    }

    #[test]
    fn an_integrity_alone_is_left_out_where_nothing_else_moved_with_it() {
        let old = read(
            LockFormat::PnpmLock,
            lock("AAAA", 0, 2).as_bytes(),
            &users(),
        )
        .unwrap();
        let new = read(
            LockFormat::PnpmLock,
            lock("AAAA", 1, 2).as_bytes(),
            &users(),
        )
        .unwrap();
        let change = Comparison::new(&old, &new).change(0).unwrap();
        assert_eq!(change.added, ["c0@1.0.1", "c1@1.0.1"]);
        assert_eq!(change.removed, ["c0@1.0.0", "c1@1.0.0"]);
        assert_eq!((change.more_added, change.more_removed), (0, 0));
    }
}
