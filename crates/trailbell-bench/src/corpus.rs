//! Generated event corpora, stored back to back in one buffer.

use crate::{citylots, cloudtrail};

/// Which events a rule set runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CorpusKind {
    /// City lots with plain coordinate arrays (~926 bytes).
    CityLots,
    /// The same lots with `{"x","y","z"}` point objects inside the arrays and `firstCoordinates`.
    CityLots2,
    /// CloudTrail management events in EventBridge envelopes.
    CloudTrail,
}

impl CorpusKind {
    /// Short name used in output.
    pub fn name(self) -> &'static str {
        match self {
            CorpusKind::CityLots => "citylots",
            CorpusKind::CityLots2 => "citylots2",
            CorpusKind::CloudTrail => "cloudtrail",
        }
    }
}

/// `n` events of one kind.
pub struct Corpus {
    /// What the events are.
    pub kind: CorpusKind,
    buf: Vec<u8>,
    ends: Vec<usize>,
}

impl Corpus {
    /// Generates the first `n` events of `kind` for `seed`.
    pub fn generate(kind: CorpusKind, seed: u64, n: usize) -> Corpus {
        let mut buf = Vec::with_capacity(n * 1_300);
        let mut ends = Vec::with_capacity(n);
        let accounts = cloudtrail::accounts(seed);
        for i in 0..n as u64 {
            let text = match kind {
                CorpusKind::CityLots => citylots::feature(seed, i).to_json(),
                CorpusKind::CityLots2 => citylots::feature(seed, i).to_json_structured(),
                CorpusKind::CloudTrail => cloudtrail::event(seed, &accounts, i),
            };
            buf.extend_from_slice(text.as_bytes());
            ends.push(buf.len());
        }
        Corpus { kind, buf, ends }
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there are no events.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Event `i`.
    pub fn get(&self, i: usize) -> &[u8] {
        &self.buf[self.span(i)]
    }

    /// Where event `i` lies in the corpus's bytes.
    pub fn span(&self, i: usize) -> std::ops::Range<usize> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        start..self.ends[i]
    }

    /// Events `first..end` (at least one, none past the last) whose bytes together stay within
    /// `max_bytes` where they can, and those bytes.
    pub fn batch(&self, first: usize, max_bytes: usize) -> (usize, &[u8]) {
        let start = self.span(first).start;
        let mut end = first + 1;
        while end < self.len() && self.ends[end] - start <= max_bytes {
            end += 1;
        }
        (end, &self.buf[start..self.ends[end - 1]])
    }

    /// The events in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Total size in bytes.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Average event size in bytes.
    pub fn avg_bytes(&self) -> usize {
        self.buf.len().checked_div(self.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_the_events_in_order_within_their_size() {
        let corpus = Corpus::generate(CorpusKind::CityLots, 1, 50);
        for max_bytes in [1, 2_000, 10_000, usize::MAX] {
            let mut first = 0;
            let mut seen = Vec::new();
            while first < corpus.len() {
                let (end, bytes) = corpus.batch(first, max_bytes);
                assert!(end > first, "every batch holds an event");
                assert!(bytes.len() <= max_bytes || end == first + 1, "{max_bytes}");
                let joined: Vec<u8> = (first..end).flat_map(|i| corpus.get(i).to_vec()).collect();
                assert_eq!(bytes, joined.as_slice());
                seen.extend(first..end);
                first = end;
            }
            assert_eq!(seen, (0..corpus.len()).collect::<Vec<_>>());
        }
    }
}
