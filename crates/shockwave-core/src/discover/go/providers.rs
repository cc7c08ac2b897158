//! Which module provides an import path: the longest module path that is the import path or a
//! `/`-separated prefix of it. A lookup walks the import's parts once down a tree of the module
//! paths' parts, so a hostile import path of many parts costs its length, not its length times
//! its number of parts (as looking up each shorter prefix in turn would).

use std::collections::HashMap;

/// Module paths as a tree of their `/`-separated parts.
#[derive(Debug, Default)]
pub struct Providers<'a> {
    /// `(node, part)` → child node; node 0 is the root.
    child: HashMap<(u32, &'a str), u32>,
    /// Per node, the module whose path ends there.
    module: Vec<Option<usize>>,
}

impl<'a> Providers<'a> {
    /// The tree of `(path, module)` pairs; of two equal paths the later one is kept.
    pub fn new<I: IntoIterator<Item = (&'a str, usize)>>(paths: I) -> Self {
        let mut tree = Providers {
            child: HashMap::new(),
            module: vec![None],
        };
        for (path, module) in paths {
            let mut at = 0u32;
            for part in path.split('/') {
                let next = tree.module.len() as u32;
                at = *tree.child.entry((at, part)).or_insert_with(|| {
                    tree.module.push(None);
                    next
                });
            }
            tree.module[at as usize] = Some(module);
        }
        tree
    }

    /// Every module whose path is `import` or a `/`-separated prefix of it, shortest first.
    pub fn matches<'s>(&'s self, import: &'s str) -> impl Iterator<Item = usize> + 's {
        let mut at = 0u32;
        import
            .split('/')
            .map_while(move |part| {
                at = *self.child.get(&(at, part))?;
                Some(self.module[at as usize])
            })
            .flatten()
    }

    /// The module whose path is exactly `path`, if any.
    pub fn get(&self, path: &str) -> Option<usize> {
        let mut at = 0u32;
        for part in path.split('/') {
            at = *self.child.get(&(at, part))?;
        }
        self.module[at as usize]
    }

    /// The module providing `import`, if any.
    pub fn provider(&self, import: &str) -> Option<usize> {
        let mut at = 0u32;
        let mut found = None;
        for part in import.split('/') {
            match self.child.get(&(at, part)) {
                Some(&next) => at = next,
                None => break,
            }
            found = self.module[at as usize].or(found);
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::Providers;

    #[test]
    fn the_longest_module_path_wins() {
        let p = Providers::new([
            ("example.com/a", 0),
            ("example.com/a/b", 1),
            ("example.com/ab", 2),
            ("example.com/a", 3),
        ]);
        assert_eq!(p.provider("example.com/a"), Some(3));
        assert_eq!(p.provider("example.com/a/x/y"), Some(3));
        assert_eq!(p.provider("example.com/a/b/c"), Some(1));
        assert_eq!(p.provider("example.com/abc"), None);
        assert_eq!(p.provider("example.com"), None);
        assert_eq!(p.provider(""), None);
        assert_eq!(p.get("example.com/a/b"), Some(1));
        assert_eq!(p.matches("example.com/a/b/c").collect::<Vec<_>>(), [3, 1]);
        assert_eq!(p.matches("example.com/abc").count(), 0);
        assert_eq!(p.get("example.com/a/x"), None);
        assert_eq!(p.get("example.com"), None);
    }
}
