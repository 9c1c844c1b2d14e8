//! The expression language of constraints: `check = "ihl * 4 >= LEN && ihl * 4 <= len"`.
//!
//! A small recursive-descent parser (integers, names, `Key.VALUE`, the
//! operators `! * / % + - < <= > >= == != && ||` and parentheses, with C's
//! precedence) into a syntax tree whose names are still text; `validate`
//! resolves them against the format and types the tree, the emitter writes
//! it as Rust over `i128` (wide enough that no arithmetic of fields of at
//! most 64 bits can overflow, which `validate` checks).

use std::fmt;

/// A parsed expression, names unresolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Int(u64),
    /// `ihl`, `len`, `LEN`, a constant.
    Name(String),
    /// `IpProtocol.UDP`: a named value of a key, in any spec file.
    Value(String, String),
    Not(Box<Expr>),
    Binary(Op, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Mul,
    Div,
    Rem,
    Add,
    Sub,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

impl Op {
    pub fn text(self) -> &'static str {
        match self {
            Op::Mul => "*",
            Op::Div => "/",
            Op::Rem => "%",
            Op::Add => "+",
            Op::Sub => "-",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::And => "&&",
            Op::Or => "||",
        }
    }

    /// Binding strength: higher binds tighter.
    fn precedence(self) -> u8 {
        match self {
            Op::Mul | Op::Div | Op::Rem => 5,
            Op::Add | Op::Sub => 4,
            Op::Lt | Op::Le | Op::Gt | Op::Ge => 3,
            Op::Eq | Op::Ne => 2,
            Op::And => 1,
            Op::Or => 0,
        }
    }

    pub fn is_arithmetic(self) -> bool {
        self.precedence() >= 4
    }

    pub fn is_comparison(self) -> bool {
        (2..=3).contains(&self.precedence())
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Int(v) => write!(f, "{v}"),
            Expr::Name(n) => f.write_str(n),
            Expr::Value(k, v) => write!(f, "{k}.{v}"),
            Expr::Not(e) => write!(f, "!({e})"),
            Expr::Binary(op, a, b) => write!(f, "({a} {} {b})", op.text()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Int(u64),
    Name(String),
    Dot,
    Not,
    Op(Op),
    Open,
    Close,
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let op2 = match two.as_str() {
            "<=" => Some(Op::Le),
            ">=" => Some(Op::Ge),
            "==" => Some(Op::Eq),
            "!=" => Some(Op::Ne),
            "&&" => Some(Op::And),
            "||" => Some(Op::Or),
            _ => None,
        };
        if let Some(op) = op2 {
            out.push(Token::Op(op));
            i += 2;
            continue;
        }
        let op1 = match c {
            '*' => Some(Op::Mul),
            '/' => Some(Op::Div),
            '%' => Some(Op::Rem),
            '+' => Some(Op::Add),
            '-' => Some(Op::Sub),
            '<' => Some(Op::Lt),
            '>' => Some(Op::Gt),
            _ => None,
        };
        if let Some(op) = op1 {
            out.push(Token::Op(op));
            i += 1;
            continue;
        }
        match c {
            ' ' | '\t' | '\n' => i += 1,
            '!' => {
                out.push(Token::Not);
                i += 1
            }
            '.' => {
                out.push(Token::Dot);
                i += 1
            }
            '(' => {
                out.push(Token::Open);
                i += 1
            }
            ')' => {
                out.push(Token::Close);
                i += 1
            }
            '0'..='9' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().filter(|&&c| c != '_').collect();
                let value = match word.strip_prefix("0x") {
                    Some(hex) => u64::from_str_radix(hex, 16),
                    None => word.parse(),
                }
                .map_err(|_| format!("`{word}` is not a number"))?;
                out.push(Token::Int(value));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push(Token::Name(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected `{other}`")),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    /// Operators binding at least as tightly as `min`, left-associative.
    fn binary(&mut self, min: u8) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while let Some(Token::Op(op)) = self.peek().cloned() {
            if op.precedence() < min {
                break;
            }
            self.at += 1;
            let right = self.binary(op.precedence() + 1)?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Token::Not) => Ok(Expr::Not(Box::new(self.unary()?))),
            Some(Token::Int(v)) => Ok(Expr::Int(v)),
            Some(Token::Name(n)) => {
                if self.peek() == Some(&Token::Dot) {
                    self.at += 1;
                    match self.next() {
                        Some(Token::Name(v)) => Ok(Expr::Value(n, v)),
                        _ => Err(format!("`{n}.` must be followed by a value name")),
                    }
                } else {
                    Ok(Expr::Name(n))
                }
            }
            Some(Token::Open) => {
                let e = self.binary(0)?;
                match self.next() {
                    Some(Token::Close) => Ok(e),
                    _ => Err("missing `)`".into()),
                }
            }
            Some(t) => Err(format!("unexpected {t:?}")),
            None => Err("the expression ends too early".into()),
        }
    }
}

/// Parses one expression; the error says what is wrong with the text.
pub fn parse(text: &str) -> Result<Expr, String> {
    let mut p = Parser {
        tokens: tokens(text)?,
        at: 0,
    };
    let e = p.binary(0)?;
    match p.peek() {
        None => Ok(e),
        Some(t) => Err(format!("unexpected {t:?} after a complete expression")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_cs() {
        let e = parse("ihl * 4 >= LEN && ihl * 4 <= len || !x").unwrap();
        assert_eq!(
            e.to_string(),
            "((((ihl * 4) >= LEN) && ((ihl * 4) <= len)) || !(x))"
        );
        assert_eq!(parse("a - b - c").unwrap().to_string(), "((a - b) - c)");
        assert_eq!(
            parse("(a + 0x10) * 2 == IpProtocol.UDP")
                .unwrap()
                .to_string(),
            "(((a + 16) * 2) == IpProtocol.UDP)"
        );
    }

    #[test]
    fn refuses_bad_text() {
        for bad in ["a +", "a b", "(a", "a $ b", "Key.", "0xzz"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
