//! A hand-written recursive-descent parser for filter patterns.
//!
//! Grammar of the JSON form (`&&` binds tighter than `||`, as AWS's examples show):
//!
//! ```text
//! pattern  := '{' or '}'
//! or       := and ('||' and)*
//! and      := primary ('&&' primary)*
//! primary  := '(' or ')' | selector test
//! selector := '$' ('.' name | '[' digits ']' | '[*]')+
//! test     := ('=' | '!=') value | ('<' | '<=' | '>' | '>=') number
//!           | 'IS' ('TRUE' | 'FALSE' | 'NULL') | 'NOT' 'EXISTS'
//! value    := '"' chars '"' | '%' regex '%' | bare
//! ```

use regex_lite::{Regex, RegexBuilder};

use super::ast::{CompareOp, Cond, Expr, Form, Step, Term, Terms, Test, Value};
use super::error::FilterError;

/// CloudWatch Logs' limit on a filter pattern's length (`filterPattern`, 1024 characters).
pub(crate) const MAX_PATTERN_CHARS: usize = 1024;

/// How deep parentheses may nest, so that a hostile pattern cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

/// Symbols AWS documents as allowed in a regex besides letters and digits.
const REGEX_SYMBOLS: &str = "_#=@/;,-^$?[]{}|\\*+.";

pub(crate) fn parse(text: &str) -> Result<Form, FilterError> {
    let chars = text.chars().count();
    if chars > MAX_PATTERN_CHARS {
        return Err(FilterError::new(
            text,
            0,
            format!("the pattern is {chars} characters long, more than {MAX_PATTERN_CHARS}"),
        ));
    }
    let mut p = Parser { text, pos: 0 };
    p.skip_ws();
    match p.peek() {
        Some('{') => {
            p.pos += 1;
            let expr = p.or(0)?;
            p.skip_ws();
            p.expect('}', "expected `}` closing the JSON pattern")?;
            p.skip_ws();
            if p.pos < text.len() {
                return Err(p.error("unexpected text after the closing `}`"));
            }
            Ok(Form::Json(expr))
        }
        Some('[') => Err(p.error(
            "space-delimited patterns (`[...]`) are not supported by trailbell: CloudTrail records are JSON",
        )),
        _ => p.terms().map(Form::Terms),
    }
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        self.text.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn error(&self, reason: impl Into<String>) -> FilterError {
        FilterError::new(self.text, self.pos, reason)
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char, reason: &str) -> Result<(), FilterError> {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    /// A keyword, case-insensitively, followed by a non-word character.
    fn keyword(&mut self, word: &str) -> bool {
        let rest = self.rest();
        let Some(head) = rest.get(..word.len()) else {
            return false;
        };
        let after = rest[word.len()..].chars().next();
        if head.eq_ignore_ascii_case(word)
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    fn or(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut items = vec![self.and(depth)?];
        loop {
            self.skip_ws();
            if self.eat("||") {
                items.push(self.and(depth)?);
            } else {
                break;
            }
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut items = vec![self.primary(depth)?];
        loop {
            self.skip_ws();
            if self.eat("&&") {
                items.push(self.primary(depth)?);
            } else {
                break;
            }
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, FilterError> {
        self.skip_ws();
        match self.peek() {
            Some('(') => {
                if depth >= MAX_DEPTH {
                    return Err(self.error(format!("parentheses nest more than {MAX_DEPTH} deep")));
                }
                self.pos += 1;
                let inner = self.or(depth + 1)?;
                self.skip_ws();
                self.expect(')', "expected `)`")?;
                Ok(inner)
            }
            Some('$') => self.condition().map(Expr::Cond),
            None => {
                Err(self.error("expected a property selector starting with `$`, found the end"))
            }
            Some(_) => Err(self.error("expected a property selector starting with `$` or `(`")),
        }
    }

    fn condition(&mut self) -> Result<Cond, FilterError> {
        let selector = self.selector()?;
        self.skip_ws();
        let at = self.pos;
        let test = if self.eat("!=") {
            Test::Equals {
                negated: true,
                value: self.value()?,
            }
        } else if self.eat("<=") {
            self.compare(CompareOp::Le)?
        } else if self.eat(">=") {
            self.compare(CompareOp::Ge)?
        } else if self.eat("<") {
            self.compare(CompareOp::Lt)?
        } else if self.eat(">") {
            self.compare(CompareOp::Gt)?
        } else if self.eat("=") {
            Test::Equals {
                negated: false,
                value: self.value()?,
            }
        } else if self.keyword("IS") {
            self.skip_ws();
            if self.keyword("TRUE") {
                Test::IsTrue
            } else if self.keyword("FALSE") {
                Test::IsFalse
            } else if self.keyword("NULL") {
                Test::IsNull
            } else {
                return Err(self.error("expected TRUE, FALSE or NULL after IS"));
            }
        } else if self.keyword("NOT") {
            self.skip_ws();
            if !self.keyword("EXISTS") {
                return Err(self.error("expected EXISTS after NOT"));
            }
            Test::NotExists
        } else {
            self.pos = at;
            return Err(self.error(
                "expected an operator (=, !=, <, <=, >, >=, IS TRUE, IS FALSE, IS NULL, NOT EXISTS)",
            ));
        };
        Ok(Cond { selector, test })
    }

    fn selector(&mut self) -> Result<Vec<Step>, FilterError> {
        self.expect('$', "expected `$`")?;
        let mut steps = Vec::new();
        loop {
            match self.peek() {
                Some('.') => {
                    self.pos += 1;
                    let start = self.pos;
                    while self.peek().is_some_and(is_name_char) {
                        self.bump();
                    }
                    if self.pos == start {
                        return Err(self.error("expected a property name after `.`"));
                    }
                    steps.push(Step::Field(self.text[start..self.pos].to_owned()));
                }
                Some('[') => {
                    self.pos += 1;
                    if self.eat("*]") {
                        steps.push(Step::AnyIndex);
                        continue;
                    }
                    let start = self.pos;
                    while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                        self.bump();
                    }
                    let index = self.text[start..self.pos].parse::<usize>().map_err(|_| {
                        FilterError::new(self.text, start, "expected an array index or `*`")
                    })?;
                    self.expect(']', "expected `]`")?;
                    steps.push(Step::Index(index));
                }
                _ => break,
            }
        }
        if steps.is_empty() {
            return Err(self.error("expected `.` or `[` after `$`"));
        }
        Ok(steps)
    }

    fn compare(&mut self, op: CompareOp) -> Result<Test, FilterError> {
        self.skip_ws();
        let at = self.pos;
        match self.value()? {
            Value::Number(number) => Ok(Test::Compare { op, number }),
            _ => Err(FilterError::new(
                self.text,
                at,
                format!("`{}` compares numbers only", op.symbol()),
            )),
        }
    }

    fn value(&mut self) -> Result<Value, FilterError> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            Some('"') => {
                let text = self.quoted()?;
                Ok(string_value(text))
            }
            Some('%') => {
                let regex = self.regex()?;
                Ok(Value::Regex(regex))
            }
            _ => {
                while self.peek().is_some_and(|c| !is_bare_end(c))
                    && !self.rest().starts_with("&&")
                    && !self.rest().starts_with("||")
                {
                    self.bump();
                }
                let bare = &self.text[start..self.pos];
                if bare.is_empty() {
                    return Err(self.error("expected a value"));
                }
                if is_number(bare) {
                    let number: f64 = bare
                        .parse()
                        .map_err(|_| FilterError::new(self.text, start, "invalid number"))?;
                    if !number.is_finite() {
                        return Err(FilterError::new(
                            self.text,
                            start,
                            format!("the number {bare} is out of range"),
                        ));
                    }
                    return Ok(Value::Number(number));
                }
                Ok(string_value(bare.to_owned()))
            }
        }
    }

    /// A double-quoted string; `\"` is a quote and `\\` a backslash, other escapes stay as written.
    fn quoted(&mut self) -> Result<String, FilterError> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(FilterError::new(
                        self.text,
                        open,
                        "unterminated quoted string",
                    ));
                }
                Some('"') => return Ok(out),
                Some('\\') => match self.peek() {
                    Some(c @ ('"' | '\\')) => {
                        self.bump();
                        out.push(c);
                    }
                    _ => out.push('\\'),
                },
                Some(c) => out.push(c),
            }
        }
    }

    /// `%regex%`, checked against AWS's documented character set.
    fn regex(&mut self) -> Result<Regex, FilterError> {
        let open = self.pos;
        self.pos += 1;
        let start = self.pos;
        while self.peek().is_some_and(|c| c != '%') {
            let at = self.pos;
            let Some(c) = self.bump() else { break };
            if c == '(' || c == ')' {
                return Err(FilterError::new(
                    self.text,
                    at,
                    "regex groups `(` and `)` are not supported",
                ));
            }
            if !(c.is_ascii_alphanumeric() || REGEX_SYMBOLS.contains(c)) {
                return Err(FilterError::new(
                    self.text,
                    at,
                    format!("the character {c:?} is not allowed in a regex"),
                ));
            }
        }
        let body = &self.text[start..self.pos];
        if self.bump() != Some('%') {
            return Err(FilterError::new(
                self.text,
                open,
                "unterminated regex: expected `%`",
            ));
        }
        if body.is_empty() {
            return Err(FilterError::new(self.text, open, "empty regex"));
        }
        RegexBuilder::new(body)
            .size_limit(1 << 20)
            .nest_limit(32)
            .build()
            .map_err(|err| {
                let first = err.to_string();
                let line = first.lines().last().unwrap_or("").trim().to_owned();
                FilterError::new(self.text, start, format!("invalid regex: {line}"))
            })
    }

    fn terms(&mut self) -> Result<Terms, FilterError> {
        let mut terms = Terms::default();
        loop {
            self.skip_ws();
            let Some(c) = self.peek() else { break };
            let kind = match c {
                '?' => {
                    self.pos += 1;
                    1
                }
                '-' if self.rest().len() > 1 => {
                    self.pos += 1;
                    2
                }
                _ => 0,
            };
            let term = match self.peek() {
                Some('"') => Term::Text(self.quoted()?),
                Some('%') => Term::Regex(self.regex()?),
                Some(c) if !c.is_whitespace() => {
                    let start = self.pos;
                    while self.peek().is_some_and(|c| !c.is_whitespace() && c != '"') {
                        self.bump();
                    }
                    Term::Text(self.text[start..self.pos].to_owned())
                }
                _ => return Err(self.error("expected a term after `?` or `-`")),
            };
            match kind {
                1 => terms.any.push(term),
                2 => terms.none.push(term),
                _ => terms.all.push(term),
            }
        }
        Ok(terms)
    }
}

fn is_name_char(c: char) -> bool {
    !(c.is_whitespace() || "[].()=!<>&|\"{}%$".contains(c))
}

fn is_bare_end(c: char) -> bool {
    c.is_whitespace() || "(){}\"".contains(c)
}

/// `-?digits(.digits)?([eE][+-]?digits)?`, the numbers AWS's examples use.
fn is_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    if bytes.first() == Some(&b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return false;
    }
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == bytes.len()
}

/// A string value: exact, a wildcard, or only stars (any value).
fn string_value(text: String) -> Value {
    if !text.contains('*') {
        return Value::Text(text);
    }
    if text.chars().all(|c| c == '*') {
        return Value::Any;
    }
    Value::Wildcard(text.split('*').map(str::to_owned).collect())
}
