//! Rule tests: every rule's test events run through the compiled matcher and the reference
//! matcher, which must both give the expected answer.

use trailbell_pattern::{
    EventError, FilterError, FilterPattern, PatternError, ReferenceMatcher, RuleId,
};

use super::pack::CompiledRules;

/// Why a matcher could not answer a test, with the position of the problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TestError {
    /// The test event cannot be read (with its byte offset).
    #[error(transparent)]
    Event(#[from] EventError),
    /// The rule's pattern does not compile (a pack built by hand; with its JSON path).
    #[error(transparent)]
    Pattern(#[from] PatternError),
    /// The rule's filter pattern does not parse (with its position).
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// The test event is not JSON, for the filter pattern's evaluators.
    #[error("the event is not JSON: {message}")]
    NotJson {
        /// serde_json's message, which ends with the line and column.
        message: String,
        /// The line, from 1.
        line: usize,
        /// The column, from 1.
        column: usize,
    },
}

impl TestError {
    pub(crate) fn not_json(err: &serde_json::Error) -> TestError {
        TestError::NotJson {
            message: err.to_string(),
            line: err.line(),
            column: err.column(),
        }
    }
}

/// The outcome of every test of a pack.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestReport {
    /// Tests both matchers answered as expected.
    pub passed: usize,
    /// The others, in rule order then test order.
    pub failures: Vec<TestFailure>,
    /// The names of rules with no tests at all.
    pub untested: Vec<String>,
    /// Tests on which a rule's filter pattern answers otherwise than its event pattern, where the
    /// test does not pin the filter's answer with `filter_matches`: named, not failed.
    pub differences: Vec<FilterDifference>,
}

/// A test on which a rule's two languages disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterDifference {
    /// The rule's name.
    pub rule: String,
    /// The test's name.
    pub test: String,
    /// The event pattern's (expected and checked) answer; the filter pattern answered the other.
    pub event_pattern_matches: bool,
}

impl TestReport {
    /// Whether every test passed.
    pub fn all_passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// One test that did not give the expected answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestFailure {
    /// The rule's name.
    pub rule: String,
    /// The test's name.
    pub test: String,
    /// The file the rule came from.
    pub source: String,
    /// Whether the rule should have matched.
    pub expected: bool,
    /// The compiled matcher's answer, or why the event could not be read.
    pub compiled: Result<bool, TestError>,
    /// The reference matcher's answer, or why the event could not be read.
    pub reference: Result<bool, TestError>,
}

impl TestFailure {
    /// What went wrong, in one line without the rule and test names: `expected a match, got
    /// none`, or each matcher's answer when they disagree.
    pub fn describe(&self) -> String {
        let expected = answer(self.expected);
        if self.compiled == self.reference {
            let got = match &self.compiled {
                Ok(true) => "a match".to_owned(),
                Ok(false) => "none".to_owned(),
                Err(err) => format!("an unreadable event ({err})"),
            };
            format!("expected {expected}, got {got}")
        } else {
            format!(
                "expected {expected}; the compiled matcher answered {}, the reference matcher {}",
                outcome(&self.compiled),
                outcome(&self.reference)
            )
        }
    }
}

fn answer(matches: bool) -> &'static str {
    if matches { "a match" } else { "no match" }
}

fn outcome(result: &Result<bool, TestError>) -> String {
    match result {
        Ok(matches) => answer(*matches).to_owned(),
        Err(err) => format!("an error ({err})"),
    }
}

impl CompiledRules {
    /// Runs every rule's tests. Each test event goes through the whole pack with both the
    /// compiled matcher and [`ReferenceMatcher`]; it passes when both say the test's rule matches
    /// exactly when the test expects it to.
    ///
    /// ```
    /// let report = trailbell::rules::RulePack::builtin().compile()?.run_tests();
    /// assert!(report.all_passed(), "{:?}", report.failures);
    /// assert!(report.passed > 0);
    /// # Ok::<(), trailbell::rules::RulesError>(())
    /// ```
    pub fn run_tests(&self) -> TestReport {
        let mut reference = ReferenceMatcher::new();
        // Same order as the compiled matcher, so ids agree. The patterns were validated when the
        // pack was read; one that fails here answers with its error in every test.
        let reference_ids: Vec<Result<RuleId, PatternError>> = self
            .rules()
            .iter()
            .map(|rule| reference.add_rule(&rule.name, &rule.event_pattern))
            .collect();

        // Filter patterns were validated when the pack was read; one that fails here (a pack
        // built by hand) is reported once per test.
        let filters: Vec<Option<Result<FilterPattern, FilterError>>> = self
            .rules()
            .iter()
            .map(|rule| rule.filter_pattern.as_deref().map(FilterPattern::parse))
            .collect();
        let mut report = TestReport::default();
        let mut cache = self.matcher().new_cache();
        let mut ids = Vec::new();
        for (index, rule) in self.rules().iter().enumerate() {
            if rule.tests.is_empty() {
                report.untested.push(rule.name.clone());
            }
            for test in &rule.tests {
                let event = test.event.as_bytes();
                let mut this_rule = None;
                let compiled = self
                    .matcher()
                    .matches_with(&mut cache, event, &mut ids)
                    .map(|()| {
                        this_rule = ids.iter().copied().find(|id| id.index() == index);
                        this_rule.is_some()
                    })
                    .map_err(TestError::from);
                let reference = match &reference_ids[index] {
                    Ok(reference_id) => reference
                        .matches(event)
                        .map(|found| found.contains(reference_id))
                        .map_err(TestError::from),
                    Err(err) => Err(TestError::from(err.clone())),
                };
                // An exception that matches too silences the alert, for both matchers.
                let excepted = this_rule.is_some_and(|id| self.suppressed_by(id, event).is_some());
                let (compiled, reference) = if excepted {
                    (compiled.map(|_| false), reference.map(|_| false))
                } else {
                    (compiled, reference)
                };
                if compiled == Ok(test.matches) && reference == Ok(test.matches) {
                    report.passed += 1;
                } else {
                    report.failures.push(TestFailure {
                        rule: rule.name.clone(),
                        test: test.name.clone(),
                        source: rule.source.clone(),
                        expected: test.matches,
                        compiled,
                        reference,
                    });
                }
                if let Some(filter) = &filters[index] {
                    self.run_filter_test(index, filter, test, &mut report);
                }
            }
        }
        report
    }
}

impl CompiledRules {
    /// One test through the rule's filter pattern: the compiled path and the direct evaluator
    /// must both give `filter_matches` (else `matches`). A failure is named `<test> (filter_pattern)`.
    fn run_filter_test(
        &self,
        index: usize,
        filter: &Result<FilterPattern, FilterError>,
        test: &super::RuleTest,
        report: &mut TestReport,
    ) {
        let Some(rule) = self.rules().get(index) else {
            return;
        };
        let expected = test.filter_matches.unwrap_or(test.matches);
        let pinned = test.filter_matches.is_some();
        let (compiled, direct) = match filter {
            Ok(filter) => super::filter::filter_answers(filter, &test.event),
            Err(err) => (
                Err(TestError::from(err.clone())),
                Err(TestError::from(err.clone())),
            ),
        };
        // An exception silences the filter's alert as it does the event pattern's.
        let excepted = self.suppressed_at(index, test.event.as_bytes()).is_some();
        let (compiled, direct) = if excepted {
            (compiled.map(|_| false), direct.map(|_| false))
        } else {
            (compiled, direct)
        };
        if compiled == Ok(expected) && direct == Ok(expected) {
            report.passed += 1;
        } else if !pinned && compiled == Ok(!expected) && direct == Ok(!expected) {
            // Both filter paths agree with each other: a difference between the languages.
            report.passed += 1;
            report.differences.push(FilterDifference {
                rule: rule.name.clone(),
                test: test.name.clone(),
                event_pattern_matches: test.matches,
            });
        } else {
            report.failures.push(TestFailure {
                rule: rule.name.clone(),
                test: format!("{} (filter_pattern)", test.name),
                source: rule.source.clone(),
                expected,
                compiled,
                reference: direct,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(
        compiled: Result<bool, TestError>,
        reference: Result<bool, TestError>,
    ) -> TestFailure {
        TestFailure {
            rule: "r".to_owned(),
            test: "t".to_owned(),
            source: "rules/r.toml".to_owned(),
            expected: true,
            compiled,
            reference,
        }
    }

    #[test]
    fn a_failure_says_what_was_expected_and_what_came() {
        assert_eq!(
            failure(Ok(false), Ok(false)).describe(),
            "expected a match, got none"
        );
        assert_eq!(
            failure(Ok(false), Ok(true)).describe(),
            "expected a match; the compiled matcher answered no match, the reference matcher a match"
        );
    }
}
