//! Splits one preprocessed line into words: quoting, escapes, comments and unquoted braces.
//!
//! keepalived's rules (keepalived.conf(5), "Quoted strings"): `"` or `'` start a quoted part that
//! ends with the same character; quoted parts join the unquoted text next to them into one word;
//! escapes (`\n`, `\t`, `\x41`, `\101`, `\cC`, `\C`) apply inside quotes; `#` and `!` outside
//! quotes start a comment; `{` and `}` outside quotes are words of their own.

/// One word of a line, with its 1-based column and width in the (expanded) line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word after quote removal and escape processing.
    pub text: String,
    /// 1-based column (in characters) where the word starts.
    pub col: u32,
    /// Width of the word as written (characters, quotes included).
    pub len: u32,
    /// True when any part of the word was quoted (so `{` in quotes is not a brace).
    pub quoted: bool,
}

impl Word {
    /// True for an unquoted `{`.
    pub fn is_open(&self) -> bool {
        !self.quoted && self.text == "{"
    }
    /// True for an unquoted `}`.
    pub fn is_close(&self) -> bool {
        !self.quoted && self.text == "}"
    }
}

/// Returns the line without its comment (a `#` or `!` outside quotes), quote-aware.
pub fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'#' | b'!' => return &line[..i],
                _ => {}
            },
        }
        i += 1;
    }
    line
}

/// Splits a comment-free line into words. An unterminated quote runs to the end of the line
/// (reported by the caller through `unterminated`).
pub fn split_words(line: &str, unterminated: &mut bool) -> Vec<Word> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    let mut col: u32 = 0;
    *unterminated = false;
    loop {
        // Skip blanks.
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
                col += 1;
            } else {
                break;
            }
        }
        let Some(&first) = chars.peek() else { break };
        let start = col + 1;
        if first == '{' || first == '}' {
            chars.next();
            col += 1;
            words.push(Word {
                text: first.to_string(),
                col: start,
                len: 1,
                quoted: false,
            });
            continue;
        }
        let mut text = String::new();
        let mut quoted = false;
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == '{' || c == '}' {
                break;
            }
            chars.next();
            col += 1;
            if c == '"' || c == '\'' {
                quoted = true;
                let mut closed = false;
                while let Some(q) = chars.next() {
                    col += 1;
                    if q == c {
                        closed = true;
                        break;
                    }
                    if q == '\\' {
                        col += unescape(&mut chars, &mut text);
                    } else {
                        text.push(q);
                    }
                }
                if !closed {
                    *unterminated = true;
                }
            } else {
                text.push(c);
            }
        }
        words.push(Word {
            text,
            col: start,
            len: col + 1 - start,
            quoted,
        });
    }
    words
}

/// Decodes one escape after a backslash; returns the number of characters consumed.
fn unescape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, out: &mut String) -> u32 {
    let Some(c) = chars.next() else {
        out.push('\\');
        return 0;
    };
    let mut used = 1;
    match c {
        'a' => out.push('\x07'),
        'b' => out.push('\x08'),
        'E' | 'e' => out.push('\x1b'),
        'f' => out.push('\x0c'),
        'n' => out.push('\n'),
        'r' => out.push('\r'),
        't' => out.push('\t'),
        'v' => out.push('\x0b'),
        'x' => {
            let mut value = 0u32;
            let mut digits = 0;
            while digits < 2 {
                match chars.peek().and_then(|d| d.to_digit(16)) {
                    Some(d) => {
                        value = value * 16 + d;
                        chars.next();
                        digits += 1;
                    }
                    None => break,
                }
            }
            used += digits;
            if digits == 0 {
                out.push('x');
            } else {
                out.push(char::from_u32(value).unwrap_or('\u{fffd}'));
            }
        }
        '0'..='7' => {
            let mut value = c.to_digit(8).unwrap_or(0);
            let mut digits = 1;
            while digits < 3 {
                match chars.peek().and_then(|d| d.to_digit(8)) {
                    Some(d) => {
                        value = value * 8 + d;
                        chars.next();
                        digits += 1;
                    }
                    None => break,
                }
            }
            used += digits - 1;
            out.push(char::from_u32(value).unwrap_or('\u{fffd}'));
        }
        'c' => match chars.next() {
            Some(ctl) => {
                used += 1;
                let v = (ctl.to_ascii_uppercase() as u32) ^ 0x40;
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            None => out.push('c'),
        },
        other => out.push(other),
    }
    used
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        let mut bad = false;
        split_words(strip_comment(line), &mut bad)
            .into_iter()
            .map(|w| w.text)
            .collect()
    }

    #[test]
    fn quotes_join_adjacent_text() {
        assert_eq!(words(r#"abcd" efg h jkl "mnop"#), ["abcd efg h jkl mnop"]);
        assert_eq!(
            words(r#"abcd "efg h jkl" mnop"#),
            ["abcd", "efg h jkl", "mnop"]
        );
        assert_eq!(words("'a \"b\" c'"), ["a \"b\" c"]);
    }

    #[test]
    fn comments_and_braces() {
        assert_eq!(
            words("vrrp_instance VI_1 { # the first"),
            ["vrrp_instance", "VI_1", "{"]
        );
        assert_eq!(words("a{b}c ! x"), ["a", "{", "b", "}", "c"]);
        assert_eq!(words("script \"echo #1 !\""), ["script", "echo #1 !"]);
    }

    #[test]
    fn escapes_in_quotes() {
        assert_eq!(words(r#""a\tb\x41\101\\\"""#), ["a\tbAA\\\""]);
        assert_eq!(words(r#""\cA""#), ["\u{1}"]);
    }

    #[test]
    fn columns_and_unterminated() {
        let mut bad = false;
        let w = split_words("  state  \"MASTER", &mut bad);
        assert!(bad);
        assert_eq!((w[0].col, w[0].len), (3, 5));
        assert_eq!((w[1].col, w[1].text.as_str()), (10, "MASTER"));
    }
}
