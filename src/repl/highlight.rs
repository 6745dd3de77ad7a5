//! Syntax colouring of the line being edited: keywords, strings, numbers and comments.
//!
//! A small forgiving scanner rather than the logos lexer: the line being typed is usually
//! not valid yet (an unterminated string, a half-typed number), and colouring must never
//! fail. Only ANSI escape codes are inserted, so the display width never changes.

/// Python's keywords (CPython 3.11 `keyword.kwlist`), for colouring and completion.
pub const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

const KEYWORD: &str = "\x1b[1;35m";
const STRING: &str = "\x1b[32m";
const NUMBER: &str = "\x1b[36m";
const COMMENT: &str = "\x1b[2;37m";
const RESET: &str = "\x1b[0m";

/// Returns `src` with ANSI colour codes around keywords, strings, numbers and comments.
/// Stripping the escape codes gives `src` back exactly.
pub fn highlight(src: &str) -> String {
    let bytes = src.as_bytes();
    let mut out = String::with_capacity(src.len() + 32);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let (end, colour) = if c == b'#' {
            (src[i..].find('\n').map_or(src.len(), |n| i + n), Some(COMMENT))
        } else if c == b'"' || c == b'\'' {
            (string_end(src, i), Some(STRING))
        } else if c.is_ascii_digit() || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            (number_end(bytes, i), Some(NUMBER))
        } else if is_ident_start(src, i) {
            let end = ident_end(src, i);
            let word = &src[i..end];
            if matches!(bytes.get(end), Some(b'"' | b'\'')) && is_string_prefix(word) {
                (string_end(src, end), Some(STRING))
            } else if KEYWORDS.contains(&word) {
                (end, Some(KEYWORD))
            } else {
                (end, None)
            }
        } else {
            (i + src[i..].chars().next().map_or(1, char::len_utf8), None)
        };
        match colour {
            Some(code) => {
                out.push_str(code);
                out.push_str(&src[i..end]);
                out.push_str(RESET);
            }
            None => out.push_str(&src[i..end]),
        }
        i = end;
    }
    out
}

/// True if an identifier starts at byte `i`.
fn is_ident_start(src: &str, i: usize) -> bool {
    src[i..].chars().next().is_some_and(|c| c == '_' || c.is_alphabetic())
}

/// The end of the identifier starting at byte `i`.
fn ident_end(src: &str, i: usize) -> usize {
    src[i..].char_indices().find(|&(_, c)| !(c == '_' || c.is_alphanumeric())).map_or(src.len(), |(n, _)| i + n)
}

/// `r`, `b`, `f`, `u` and their two-letter combinations, in any case.
fn is_string_prefix(word: &str) -> bool {
    let w = word.to_ascii_lowercase();
    matches!(w.as_str(), "r" | "b" | "f" | "u" | "rb" | "br" | "fr" | "rf")
}

/// The end of the string literal whose opening quote is at byte `i`: after the closing
/// quote, or at the end of the line (one-quote strings) or of the text if it is unterminated.
fn string_end(src: &str, i: usize) -> usize {
    let bytes = src.as_bytes();
    let quote = bytes[i];
    let triple = bytes.len() >= i + 3 && bytes[i + 1] == quote && bytes[i + 2] == quote;
    let mut j = if triple { i + 3 } else { i + 1 };
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 2,
            b'\n' if !triple => return j,
            q if q == quote => {
                if !triple {
                    return j + 1;
                }
                if bytes.len() >= j + 3 && bytes[j + 1] == quote && bytes[j + 2] == quote {
                    return j + 3;
                }
                j += 1;
            }
            _ => j += 1,
        }
    }
    // `\` may have stepped past the end; never split the text beyond it.
    bytes.len()
}

/// The end of the numeric literal starting at byte `i` (digits, `_`, `.`, letters for bases,
/// suffixes and exponents, and an exponent's sign).
fn number_end(bytes: &[u8], i: usize) -> usize {
    let hex = bytes[i] == b'0' && matches!(bytes.get(i + 1), Some(b'x' | b'X'));
    let mut j = i;
    while j < bytes.len() {
        let c = bytes[j];
        let sign = (c == b'+' || c == b'-') && !hex && j > i && matches!(bytes[j - 1], b'e' | b'E');
        if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || sign {
            j += 1;
        } else {
            break;
        }
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Removes the escape codes this module inserts.
    fn strip(s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(at) = rest.find('\x1b') {
            out.push_str(&rest[..at]);
            let m = rest[at..].find('m').expect("escape ends in m");
            rest = &rest[at + m + 1..];
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn colours_each_kind() {
        let h = highlight("if x == 'a': return 1.5e-3  # done");
        assert!(h.starts_with(&format!("{KEYWORD}if{RESET} x == {STRING}'a'{RESET}: {KEYWORD}return{RESET}")));
        assert!(h.contains(&format!("{NUMBER}1.5e-3{RESET}")));
        assert!(h.ends_with(&format!("{COMMENT}# done{RESET}")));
        assert_eq!(highlight("print"), "print", "names are left alone");
        assert_eq!(highlight("iffy"), "iffy", "keyword prefixes are names");
    }

    #[test]
    fn strings_with_prefixes_escapes_and_triple_quotes() {
        assert_eq!(highlight("f'{x}'"), format!("{STRING}f'{{x}}'{RESET}"));
        assert_eq!(highlight(r#"'a\'b' + 1"#), format!("{STRING}'a\\'b'{RESET} + {NUMBER}1{RESET}"));
        assert_eq!(highlight("'''a\n'b''' x"), format!("{STRING}'''a\n'b'''{RESET} x"));
    }

    #[test]
    fn never_changes_the_text() {
        for src in [
            "'unterminated",
            "\"\"\"open\ntriple",
            "x = '\\",
            "0x1e+5",
            "π = 3.14 # ünïcode",
            "def f(a, *, b=2):\n    return a if b else None",
            "rb'\\x00' if True else ...",
            "",
            "#",
            "1_000.5j",
        ] {
            assert_eq!(strip(&highlight(src)), src, "{src:?}");
        }
    }
}
