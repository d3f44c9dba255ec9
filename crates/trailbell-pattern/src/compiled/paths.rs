//! The field-name layer: a trie of the field paths that some predicate names. The scanner follows
//! it through the event and skips every subtree it does not lead to.

use super::bytes_map::BytesMap;

/// A node of the path trie; node 0 is the event's top level.
pub(crate) type PathId = u32;

#[derive(Clone, Debug, Default)]
pub(crate) struct PathTrie {
    nodes: Vec<PathNode>,
}

#[derive(Clone, Debug, Default)]
struct PathNode {
    children: BytesMap<PathId>,
    /// Whether some predicate reads the leaf values at this path.
    has_predicates: bool,
}

impl PathTrie {
    pub(crate) fn new() -> PathTrie {
        PathTrie {
            nodes: vec![PathNode::default()],
        }
    }

    pub(crate) fn insert(&mut self, path: &[Box<str>]) -> PathId {
        let mut at: PathId = 0;
        for name in path {
            at = match self.nodes[at as usize].children.get(name.as_bytes()) {
                Some(&child) => child,
                None => {
                    let child = self.nodes.len() as PathId;
                    self.nodes.push(PathNode::default());
                    *self.nodes[at as usize].children.entry(name.as_bytes()) = child;
                    child
                }
            };
        }
        self.nodes[at as usize].has_predicates = true;
        at
    }

    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    #[inline]
    pub(crate) fn child(&self, node: PathId, name: &[u8]) -> Option<PathId> {
        self.nodes.get(node as usize)?.children.get(name).copied()
    }

    pub(crate) fn has_children(&self, node: PathId) -> bool {
        self.nodes
            .get(node as usize)
            .is_some_and(|n| !n.children.is_empty())
    }

    pub(crate) fn child_count(&self, node: PathId) -> usize {
        self.nodes
            .get(node as usize)
            .map_or(0, |n| n.children.len())
    }

    pub(crate) fn has_predicates(&self, node: PathId) -> bool {
        self.nodes
            .get(node as usize)
            .is_some_and(|n| n.has_predicates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_are_found_by_exact_name_only() {
        let mut trie = PathTrie::new();
        let names = [
            "a",
            "ab",
            "abcdefgh",
            "abcdefghi",
            "abcdefghj",
            "x\u{0}",
            "",
            "longer-than-sixty-three-bytes-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ];
        let ids: Vec<PathId> = names
            .iter()
            .map(|n| trie.insert(&[Box::from(*n)]))
            .collect();
        for (name, id) in names.iter().zip(&ids) {
            assert_eq!(trie.child(0, name.as_bytes()), Some(*id), "{name}");
        }
        for missing in [
            "b",
            "abcdefgi",
            "abcdefghk",
            "abcdefg",
            "x",
            "longer-than-sixty-three-bytes-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxy",
        ] {
            assert_eq!(trie.child(0, missing.as_bytes()), None, "{missing}");
        }
        assert_eq!(trie.child_count(0), names.len());
        // Past eight children the node switches to a hash map: every name is still found.
        let more: Vec<String> = (0..20).map(|i| format!("n{i}")).collect();
        for name in &more {
            trie.insert(&[Box::from(name.as_str())]);
        }
        for name in names.iter().copied().chain(more.iter().map(String::as_str)) {
            assert!(trie.child(0, name.as_bytes()).is_some(), "{name}");
        }
        assert_eq!(trie.child(0, b"n20"), None);
    }
}
