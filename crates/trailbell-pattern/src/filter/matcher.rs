//! Many filter patterns in one compiled matcher, with the direct check on the few candidates of
//! inexact translations.

use crate::{EventError, Matcher, MatcherBuilder};

use super::FilterPattern;

/// Collects named filter patterns; [`build`](FilterMatcherBuilder::build) compiles them.
#[derive(Debug, Default)]
pub struct FilterMatcherBuilder {
    filters: Vec<(String, FilterPattern)>,
}

impl FilterMatcherBuilder {
    /// An empty builder.
    pub fn new() -> FilterMatcherBuilder {
        FilterMatcherBuilder::default()
    }

    /// Adds a filter pattern under a name; answers are indexes in the order added.
    pub fn add(&mut self, name: &str, filter: FilterPattern) -> usize {
        self.filters.push((name.to_owned(), filter));
        self.filters.len() - 1
    }

    /// Compiles every exact or partial translation into one [`Matcher`].
    pub fn build(self) -> FilterMatcher {
        let mut builder = MatcherBuilder::new();
        let mut compiled_to_filter = Vec::new();
        let mut always = Vec::new();
        let mut exact = Vec::with_capacity(self.filters.len());
        for (index, (name, filter)) in self.filters.iter().enumerate() {
            let translation = filter.translation();
            // A translation is made of validated parts; one the engine still refuses (a limit)
            // is checked directly on every record instead, which is slower but never wrong.
            let added = translation
                .on_record()
                .and_then(|pattern| builder.add_rule(name, &pattern).ok());
            exact.push(added.is_some() && translation.is_exact());
            match added {
                Some(_) => compiled_to_filter.push(index),
                None => always.push(index),
            }
        }
        FilterMatcher {
            matcher: builder.build(),
            filters: self.filters,
            compiled_to_filter,
            always,
            exact,
        }
    }
}

/// Filter patterns compiled together.
///
/// ```
/// use trailbell_pattern::{FilterMatcherBuilder, FilterPattern};
///
/// let mut builder = FilterMatcherBuilder::new();
/// builder.add("root", FilterPattern::parse(
///     r#"{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS}"#)?);
/// builder.add("errors", FilterPattern::parse(r#"{$.errorCode="AccessDenied*"}"#)?);
/// let matcher = builder.build();
/// let record = br#"{"userIdentity": {"type": "Root"}, "errorCode": "AccessDenied"}"#;
/// assert_eq!(matcher.matches(record)?, vec![0, 1]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct FilterMatcher {
    matcher: Matcher,
    filters: Vec<(String, FilterPattern)>,
    compiled_to_filter: Vec<usize>,
    always: Vec<usize>,
    exact: Vec<bool>,
}

impl FilterMatcher {
    /// The indexes of the filters that match a record (its JSON bytes), ascending.
    pub fn matches(&self, record: &[u8]) -> Result<Vec<usize>, EventError> {
        let candidates = self.matcher.matches(record)?;
        let mut out: Vec<usize> = Vec::new();
        let mut parsed = None;
        let mut check = |index: usize, out: &mut Vec<usize>| {
            let value = parsed.get_or_insert_with(|| {
                serde_json::from_slice::<serde_json::Value>(record).unwrap_or_default()
            });
            if self.filters[index].1.matches_record(value) {
                out.push(index);
            }
        };
        for id in candidates {
            let Some(&index) = self.compiled_to_filter.get(id.index()) else {
                continue;
            };
            if self.exact[index] {
                out.push(index);
            } else {
                check(index, &mut out);
            }
        }
        for &index in &self.always {
            check(index, &mut out);
        }
        out.sort_unstable();
        Ok(out)
    }

    /// The name a filter was added under.
    pub fn name(&self, index: usize) -> &str {
        self.filters.get(index).map_or("", |(name, _)| name)
    }
}
