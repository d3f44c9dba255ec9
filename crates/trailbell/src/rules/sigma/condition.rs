//! Sigma conditions (`selection and not 1 of filter_*`) read into disjunctive normal form: a list
//! of conjunctions of selection names, each possibly negated.

/// One selection in a conjunction: its name and whether it is negated.
pub(crate) type Literal = (String, bool);

/// An OR of ANDs.
pub(crate) type Dnf = Vec<Vec<Literal>>;

/// Why a condition cannot be read; `at` is the position of the token (from 0) in the condition.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    /// `| count() ...`.
    #[error("aggregations (`| count() ...`) cannot be expressed")]
    Aggregation,
    /// Nothing but blanks.
    #[error("the condition is empty")]
    Empty,
    /// A token after a whole condition.
    #[error("unexpected {token:?} in the condition")]
    Unexpected {
        /// The token.
        token: String,
        /// Its position.
        at: usize,
    },
    /// A condition cut short.
    #[error("the condition ends too early")]
    EndsEarly,
    /// `(` without `)`.
    #[error("a parenthesis is not closed")]
    Unclosed {
        /// The position of what stands where `)` should.
        at: usize,
    },
    /// `1`, `any` or `all` not followed by `of`.
    #[error("expected `of` after {token:?}")]
    ExpectedOf {
        /// The quantifier.
        token: String,
        /// Its position.
        at: usize,
    },
    /// `1 of x*` where no selection starts with `x`.
    #[error("`{quantifier} of {target}` names no selection")]
    NoSelection {
        /// `1`, `any` or `all`.
        quantifier: String,
        /// The pattern of names.
        target: String,
    },
    /// A name that is not a selection of the rule.
    #[error("the condition names {name:?}, which is not a selection")]
    UnknownSelection {
        /// The name.
        name: String,
        /// Its position.
        at: usize,
    },
    /// `not (a and b)`.
    #[error("`not` over a conjunction of selections cannot be expressed")]
    NotOverConjunction,
}

/// Reads `condition` over the selections `names`; `Err` says why it cannot be read.
pub(crate) fn parse(condition: &str, names: &[String]) -> Result<Dnf, ConditionError> {
    let tokens = tokenize(condition)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        names,
    };
    let dnf = parser.or()?;
    if let Some(token) = parser.tokens.get(parser.at) {
        return Err(ConditionError::Unexpected {
            token: token.clone(),
            at: parser.at,
        });
    }
    Ok(dnf)
}

fn tokenize(text: &str) -> Result<Vec<String>, ConditionError> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        match c {
            '(' | ')' | '|' => {
                if !word.is_empty() {
                    tokens.push(std::mem::take(&mut word));
                }
                if c == '|' {
                    return Err(ConditionError::Aggregation);
                }
                tokens.push(c.to_string());
            }
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    tokens.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    if tokens.is_empty() {
        return Err(ConditionError::Empty);
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<String>,
    at: usize,
    names: &'a [String],
}

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn next(&mut self) -> Result<String, ConditionError> {
        let token = self
            .tokens
            .get(self.at)
            .cloned()
            .ok_or(ConditionError::EndsEarly)?;
        self.at += 1;
        Ok(token)
    }

    fn or(&mut self) -> Result<Dnf, ConditionError> {
        let mut dnf = self.and()?;
        while self.peek() == Some("or") {
            self.at += 1;
            dnf.extend(self.and()?);
        }
        Ok(dnf)
    }

    fn and(&mut self) -> Result<Dnf, ConditionError> {
        let mut dnf = self.not()?;
        while self.peek() == Some("and") {
            self.at += 1;
            let right = self.not()?;
            dnf = product(&dnf, &right);
        }
        Ok(dnf)
    }

    fn not(&mut self) -> Result<Dnf, ConditionError> {
        if self.peek() == Some("not") {
            self.at += 1;
            return negate(&self.not()?);
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Dnf, ConditionError> {
        let token = self.next()?;
        match token.as_str() {
            "(" => {
                let inner = self.or()?;
                if self.next()? != ")" {
                    return Err(ConditionError::Unclosed { at: self.at - 1 });
                }
                Ok(inner)
            }
            "1" | "any" | "all" => {
                if self.next()? != "of" {
                    return Err(ConditionError::ExpectedOf {
                        token,
                        at: self.at - 2,
                    });
                }
                let target = self.next()?;
                let chosen: Vec<String> = self
                    .names
                    .iter()
                    .filter(|name| match target.as_str() {
                        "them" => !name.starts_with('_'),
                        glob => matches_glob(glob, name),
                    })
                    .cloned()
                    .collect();
                if chosen.is_empty() {
                    return Err(ConditionError::NoSelection {
                        quantifier: token,
                        target,
                    });
                }
                Ok(if token == "all" {
                    vec![chosen.into_iter().map(|name| (name, false)).collect()]
                } else {
                    chosen.into_iter().map(|name| vec![(name, false)]).collect()
                })
            }
            name if self.names.iter().any(|known| known == name) => {
                Ok(vec![vec![(name.to_owned(), false)]])
            }
            other => Err(ConditionError::UnknownSelection {
                name: other.to_owned(),
                at: self.at - 1,
            }),
        }
    }
}

/// `a*` matches names starting with `a`; no other wildcard is used in conditions.
fn matches_glob(glob: &str, name: &str) -> bool {
    match glob.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => glob == name,
    }
}

fn product(left: &Dnf, right: &Dnf) -> Dnf {
    let mut out = Vec::new();
    for a in left {
        for b in right {
            let mut both = a.clone();
            both.extend(b.iter().cloned());
            out.push(both);
        }
    }
    out
}

/// De Morgan: not (A or B) is (not A) and (not B); a conjunction of more than one literal under
/// a negation would need an OR of negations, which is left unsupported (no rule uses it).
fn negate(dnf: &Dnf) -> Result<Dnf, ConditionError> {
    let mut out: Vec<Literal> = Vec::new();
    for conjunction in dnf {
        match conjunction.as_slice() {
            [(name, negated)] => out.push((name.clone(), !negated)),
            _ => {
                return Err(ConditionError::NotOverConjunction);
            }
        }
    }
    Ok(vec![out])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn conditions_become_an_or_of_ands() {
        let known = names(&[
            "selection",
            "filter_main_a",
            "filter_main_b",
            "status_x",
            "status_y",
        ]);
        assert_eq!(
            parse("selection and not 1 of filter_main_*", &known).expect("reads"),
            vec![vec![
                ("selection".to_owned(), false),
                ("filter_main_a".to_owned(), true),
                ("filter_main_b".to_owned(), true)
            ]]
        );
        assert_eq!(
            parse("selection and 1 of status_*", &known).expect("reads"),
            vec![
                vec![
                    ("selection".to_owned(), false),
                    ("status_x".to_owned(), false)
                ],
                vec![
                    ("selection".to_owned(), false),
                    ("status_y".to_owned(), false)
                ]
            ]
        );
        assert_eq!(
            parse("all of status_*", &known).expect("reads"),
            vec![vec![
                ("status_x".to_owned(), false),
                ("status_y".to_owned(), false)
            ]]
        );
        assert_eq!(
            parse("selection | count() > 5", &known),
            Err(ConditionError::Aggregation)
        );
        assert_eq!(
            parse("selection and nothing", &known),
            Err(ConditionError::UnknownSelection {
                name: "nothing".to_owned(),
                at: 2
            })
        );
        assert!(parse("not (status_x and status_y)", &known).is_err());
        assert!(parse("(selection", &known).is_err());
    }
}
