//! aio: a coroutine scripting language with Python's syntax and asyncio's model of concurrency.

pub mod ast;
pub mod diagnostics;
pub mod lexer;
pub mod parser;
