//! When is a piece of typed input a whole statement? Python's interactive rules, decided by
//! the real parser ([`crate::parser::parse_input`]) rather than by counting brackets.

use crate::ast::Stmt;
use crate::parser::{parse_input, Unfinished};

/// What the REPL should do with the lines typed so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completeness {
    /// Run it (or report its syntax error): no further line could change the verdict.
    Complete,
    /// Show the `... ` prompt and read another line.
    Incomplete,
}

/// Decides whether `src` (the lines typed so far, joined by `\n`, without a final newline)
/// is ready to run. It is incomplete when:
/// - a bracket, a triple-quoted string or a backslash continuation is still open at the end;
/// - the parser ran out of input (`if x:` with no block yet, `try:` with no `except`), unless
///   the last line is blank, in which case the error is reported as CPython does;
/// - it parses but holds a compound statement (`if`, `def`, `for`, ..., even on one line) and
///   the last line is not blank: the block could go on, so only an empty line ends it.
///
/// Every other syntax error is `Complete`, so that it is reported at once.
pub fn is_complete(src: &str) -> Completeness {
    if src.trim().is_empty() {
        return Completeness::Complete;
    }
    let last_line_blank = src.rsplit('\n').next().unwrap_or("").trim().is_empty();
    match parse_input(src) {
        Ok(module) => {
            if !last_line_blank && module.body.iter().any(is_compound) {
                Completeness::Incomplete
            } else {
                Completeness::Complete
            }
        }
        Err((_, Unfinished::Open)) => Completeness::Incomplete,
        Err((_, Unfinished::Statement)) if !last_line_blank => Completeness::Incomplete,
        Err(_) => Completeness::Complete,
    }
}

/// True for statements that own an indented block.
fn is_compound(stmt: &Stmt) -> bool {
    use crate::ast::StmtKind as K;
    matches!(
        stmt.kind,
        K::If { .. }
            | K::While { .. }
            | K::For { .. }
            | K::With { .. }
            | K::Try { .. }
            | K::FunctionDef(_)
            | K::ClassDef(_)
    )
}

#[cfg(test)]
mod tests {
    use super::{is_complete, Completeness::*};

    #[test]
    fn simple_statements_are_complete() {
        assert_eq!(is_complete("x = 1"), Complete);
        assert_eq!(is_complete("1 + 2"), Complete);
        assert_eq!(is_complete(""), Complete);
        assert_eq!(is_complete("   "), Complete);
        assert_eq!(is_complete("import math"), Complete);
        assert_eq!(is_complete("x = 1; y = 2"), Complete);
    }

    #[test]
    fn open_brackets_strings_and_continuations_wait() {
        assert_eq!(is_complete("x = (1,"), Incomplete);
        assert_eq!(is_complete("x = [1,\n 2,"), Incomplete);
        assert_eq!(is_complete("d = {'a':"), Incomplete);
        assert_eq!(is_complete("x = (1,\n"), Incomplete, "a blank line inside brackets continues");
        assert_eq!(is_complete("s = '''abc"), Incomplete);
        assert_eq!(is_complete("s = \"\"\"abc\n\n"), Incomplete);
        assert_eq!(is_complete("x = 1 + \\"), Incomplete);
        assert_eq!(is_complete("x = (1,\n 2)"), Complete);
        assert_eq!(is_complete("s = '''a\nb'''"), Complete);
    }

    #[test]
    fn blocks_need_a_blank_line() {
        assert_eq!(is_complete("if x:"), Incomplete);
        assert_eq!(is_complete("def f():"), Incomplete);
        assert_eq!(is_complete("def f():\n    return 1"), Incomplete);
        assert_eq!(is_complete("def f():\n    return 1\n"), Complete);
        assert_eq!(is_complete("for i in range(3): print(i)"), Incomplete);
        assert_eq!(is_complete("for i in range(3): print(i)\n"), Complete);
        assert_eq!(is_complete("if x:\n    pass\nelse:"), Incomplete);
        assert_eq!(is_complete("try:\n    pass"), Incomplete);
        assert_eq!(is_complete("@decorator"), Incomplete);
        assert_eq!(is_complete("class A:\n    x = 1\n\n    def f(self):\n        pass"), Incomplete);
        assert_eq!(is_complete("async def f():\n    await g()\n"), Complete);
        assert_eq!(is_complete("while True:\n    break\n   "), Complete, "whitespace-only counts as blank");
    }

    #[test]
    fn syntax_errors_are_reported_at_once() {
        assert_eq!(is_complete("x = = 1"), Complete);
        assert_eq!(is_complete("1 +"), Complete);
        assert_eq!(is_complete("x = 'abc"), Complete, "an unterminated one-line string is an error");
        assert_eq!(is_complete("x = )"), Complete);
        assert_eq!(is_complete("if x:\n    y = = 1"), Complete);
        assert_eq!(is_complete("if x:\n"), Complete, "a blank line where a block should be is an error");
        assert_eq!(is_complete("def f():\n    return 1\n  x"), Complete, "bad dedent");
    }
}
