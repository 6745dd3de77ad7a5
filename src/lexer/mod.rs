//! The lexer: logos tokens ([`token`]), literal decoding ([`numbers`], [`strings`]) and the
//! layout pass ([`layout`]) that adds NEWLINE / INDENT / DEDENT.

pub mod layout;
pub mod numbers;
pub mod strings;
pub mod token;

pub use layout::{tokenize, Mode, Spanned, Tokens};
pub use token::Token;

#[cfg(test)]
mod tests;
