//! Sigma conditions (`selection and not 1 of filter_*`) read into disjunctive normal form: a list
//! of conjunctions of selection names, each possibly negated.

/// One selection in a conjunction: its name and whether it is negated.
pub(crate) type Literal = (String, bool);

/// An OR of ANDs.
pub(crate) type Dnf = Vec<Vec<Literal>>;

/// Reads `condition` over the selections `names`; `Err` says why it cannot be read.
pub(crate) fn parse(condition: &str, names: &[String]) -> Result<Dnf, String> {
    let tokens = tokenize(condition)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        names,
    };
    let dnf = parser.or()?;
    if parser.at != parser.tokens.len() {
        return Err(format!(
            "unexpected {:?} in the condition",
            parser.tokens[parser.at]
        ));
    }
    Ok(dnf)
}

fn tokenize(text: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        match c {
            '(' | ')' | '|' => {
                if !word.is_empty() {
                    tokens.push(std::mem::take(&mut word));
                }
                if c == '|' {
                    return Err("aggregations (`| count() ...`) cannot be expressed".to_owned());
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
        return Err("the condition is empty".to_owned());
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

    fn next(&mut self) -> Result<String, String> {
        let token = self
            .tokens
            .get(self.at)
            .cloned()
            .ok_or("the condition ends too early")?;
        self.at += 1;
        Ok(token)
    }

    fn or(&mut self) -> Result<Dnf, String> {
        let mut dnf = self.and()?;
        while self.peek() == Some("or") {
            self.at += 1;
            dnf.extend(self.and()?);
        }
        Ok(dnf)
    }

    fn and(&mut self) -> Result<Dnf, String> {
        let mut dnf = self.not()?;
        while self.peek() == Some("and") {
            self.at += 1;
            let right = self.not()?;
            dnf = product(&dnf, &right);
        }
        Ok(dnf)
    }

    fn not(&mut self) -> Result<Dnf, String> {
        if self.peek() == Some("not") {
            self.at += 1;
            return negate(&self.not()?);
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Dnf, String> {
        let token = self.next()?;
        match token.as_str() {
            "(" => {
                let inner = self.or()?;
                if self.next()? != ")" {
                    return Err("a parenthesis is not closed".to_owned());
                }
                Ok(inner)
            }
            "1" | "any" | "all" => {
                if self.next()? != "of" {
                    return Err(format!("expected `of` after {token:?}"));
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
                    return Err(format!("`{token} of {target}` names no selection"));
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
            other => Err(format!(
                "the condition names {other:?}, which is not a selection"
            )),
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
fn negate(dnf: &Dnf) -> Result<Dnf, String> {
    let mut out: Vec<Literal> = Vec::new();
    for conjunction in dnf {
        match conjunction.as_slice() {
            [(name, negated)] => out.push((name.clone(), !negated)),
            _ => {
                return Err("`not` over a conjunction of selections cannot be expressed".to_owned());
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
        assert!(parse("selection | count() > 5", &known).is_err());
        assert!(parse("selection and nothing", &known).is_err());
        assert!(parse("not (status_x and status_y)", &known).is_err());
        assert!(parse("(selection", &known).is_err());
    }
}
