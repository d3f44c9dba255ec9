//! The field-name layer: a trie of the field paths that some predicate names. The scanner follows
//! it through the event and skips every subtree it does not lead to.

use rustc_hash::FxHashMap;

/// A node of the path trie; node 0 is the event's top level.
pub(crate) type PathId = u32;

#[derive(Clone, Debug, Default)]
pub(crate) struct PathTrie {
    nodes: Vec<PathNode>,
}

#[derive(Clone, Debug, Default)]
struct PathNode {
    children: FxHashMap<Box<str>, PathId>,
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
            at = match self.nodes[at as usize].children.get(name) {
                Some(&child) => child,
                None => {
                    let child = self.nodes.len() as PathId;
                    self.nodes.push(PathNode::default());
                    self.nodes[at as usize].children.insert(name.clone(), child);
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

    pub(crate) fn child(&self, node: PathId, name: &str) -> Option<PathId> {
        self.nodes.get(node as usize)?.children.get(name).copied()
    }

    pub(crate) fn has_children(&self, node: PathId) -> bool {
        self.nodes
            .get(node as usize)
            .is_some_and(|n| !n.children.is_empty())
    }

    pub(crate) fn has_predicates(&self, node: PathId) -> bool {
        self.nodes
            .get(node as usize)
            .is_some_and(|n| n.has_predicates)
    }
}
