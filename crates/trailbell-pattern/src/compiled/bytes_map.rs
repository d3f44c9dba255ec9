//! A map keyed by byte strings for the lookups made once per field or value of every event:
//! field names among a node's children, exact values among a path's predicates.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

use rustc_hash::FxHashMap;

/// Up to this many keys are compared one by one; more are hashed.
const FEW: usize = 8;

/// A byte-keyed map. Most keys looked up are not in it, and most are ruled out by their length
/// alone, before any of their bytes is read.
#[derive(Clone, Debug)]
pub(crate) struct BytesMap<V> {
    /// Bit `n` set when some key is `n` bytes long (bit 63: 63 or more).
    lengths: u64,
    keys: Keys<V>,
}

/// Most maps hold a handful of keys, which comparing lengths, then first words, finds faster than
/// hashing the key; maps with many use a hash map.
#[derive(Clone, Debug)]
enum Keys<V> {
    /// Each key with its first eight bytes as a word.
    Few(Vec<(u64, Box<[u8]>, V)>),
    Many(FxHashMap<Key, V>),
}

/// A key of a hashed map: short keys are held in the bucket itself, so that comparing one reads
/// no other memory.
#[derive(Clone, Debug)]
pub(crate) enum Key {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

/// Keys up to this long are held inline.
const INLINE: usize = 22;

impl Key {
    fn new(key: &[u8]) -> Key {
        match u8::try_from(key.len()) {
            Ok(len) if key.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..key.len()].copy_from_slice(key);
                Key::Inline { len, bytes }
            }
            _ => Key::Heap(key.into()),
        }
    }
}

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Key::Heap(bytes) => bytes,
        }
    }
}

// Hashed and compared as the bytes they hold, as `Borrow` requires.
impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Borrow::<[u8]>::borrow(self).hash(state);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        Borrow::<[u8]>::borrow(self) == Borrow::<[u8]>::borrow(other)
    }
}

impl Eq for Key {}

impl<V> Default for BytesMap<V> {
    fn default() -> BytesMap<V> {
        BytesMap {
            lengths: 0,
            keys: Keys::Few(Vec::new()),
        }
    }
}

impl<V: Default> BytesMap<V> {
    /// The value of `key`, inserted as the default when missing.
    pub(crate) fn entry(&mut self, key: &[u8]) -> &mut V {
        self.lengths |= length_bit(key.len());
        if let Keys::Few(list) = &mut self.keys
            && list.len() == FEW
            && !list.iter().any(|(_, k, _)| k.as_ref() == key)
        {
            let map = list.drain(..).map(|(_, k, v)| (Key::new(&k), v)).collect();
            self.keys = Keys::Many(map);
        }
        match &mut self.keys {
            Keys::Few(list) => {
                let at = match list.iter().position(|(_, k, _)| k.as_ref() == key) {
                    Some(at) => at,
                    None => {
                        list.push((head_word(key), key.into(), V::default()));
                        list.len() - 1
                    }
                };
                &mut list[at].2
            }
            Keys::Many(map) => map.entry(Key::new(key)).or_default(),
        }
    }
}

impl<V> BytesMap<V> {
    #[inline]
    pub(crate) fn get(&self, key: &[u8]) -> Option<&V> {
        if self.lengths & length_bit(key.len()) == 0 {
            return None;
        }
        match &self.keys {
            Keys::Few(list) => {
                // Lengths rule out most keys before any byte of them is read. The first word holds
                // a key of up to eight bytes; with the last, one of up to sixteen.
                let mut word = None;
                list.iter()
                    .find(|(w, k, _)| {
                        k.len() == key.len()
                            && *w == *word.get_or_insert_with(|| head_word(key))
                            && (key.len() <= 8
                                || (key.len() <= 16 && tail_word(k) == tail_word(key))
                                || k.as_ref() == key)
                    })
                    .map(|(_, _, v)| v)
            }
            Keys::Many(map) => map.get(key),
        }
    }

    pub(crate) fn len(&self) -> usize {
        match &self.keys {
            Keys::Few(list) => list.len(),
            Keys::Many(map) => map.len(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The bit of [`BytesMap::lengths`] for keys `len` bytes long.
#[inline]
fn length_bit(len: usize) -> u64 {
    1 << len.min(63)
}

/// The first eight bytes of a key as a word, zero-padded.
#[inline]
fn head_word(key: &[u8]) -> u64 {
    if let Some(head) = key.first_chunk::<8>() {
        return u64::from_le_bytes(*head);
    }
    // Byte by byte: a copy of a length known only now would be a call to memcpy.
    key.iter()
        .enumerate()
        .fold(0, |word, (i, &b)| word | u64::from(b) << (8 * i))
}

/// The last eight bytes of a key of at least eight as a word.
#[inline]
fn tail_word(key: &[u8]) -> u64 {
    key.last_chunk::<8>()
        .map_or(0, |tail| u64::from_le_bytes(*tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_by_exact_bytes_only_before_and_after_growing() {
        let mut map: BytesMap<u32> = BytesMap::default();
        let keys = [
            "a",
            "abcdefgh",
            "abcdefghi",
            "abcdefghj",
            "abcdefgh-sixteen",
            "abcdefgh-sixteeN",
            "",
            "longer-than-sixty-three-bytes-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ];
        for (i, key) in keys.iter().enumerate() {
            *map.entry(key.as_bytes()) = i as u32;
        }
        // Entering a present key again finds it: still a handful.
        *map.entry(b"a") += 100;
        assert!(matches!(map.keys, Keys::Few(_)));
        let missing = [
            "b",
            "abcdefgi",
            "abcdefghk",
            "abcdefgh-Sixteen",
            "abcdefgh-sixtee",
            "Abcdefgh-sixteen",
            "ab",
            "abcdefg",
            "x",
            "longer-than-sixty-three-bytes-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxy",
        ];
        let check = |map: &BytesMap<u32>| {
            for (i, key) in keys.iter().enumerate() {
                let expected = if i == 0 { 100 } else { i as u32 };
                assert_eq!(map.get(key.as_bytes()), Some(&expected), "{key}");
            }
            for key in missing {
                assert_eq!(map.get(key.as_bytes()), None, "{key}");
            }
        };
        check(&map);
        assert_eq!(map.len(), keys.len());
        // Past eight keys the map hashes: every key is still found, and no other.
        *map.entry(b"ninth") = 9;
        assert!(matches!(map.keys, Keys::Many(_)));
        check(&map);
        assert_eq!(map.get(b"ninth"), Some(&9));
        assert_eq!(map.len(), keys.len() + 1);
    }
}
