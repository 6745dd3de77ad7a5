//! aio: a coroutine scripting language with Python's syntax and asyncio's model of concurrency.
//!
//! ```
//! let mut engine = aio::Engine::new();
//! let out = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
//! engine.vm.stdout = aio::vm::Output::Buffer(out.clone());
//! engine.run_main("print(sum(x * x for x in range(4)))", "<doc>");
//! assert_eq!(String::from_utf8_lossy(&out.borrow()), "14\n");
//! ```

pub mod ast;
pub mod asyncio;
pub mod builtins;
pub mod bytecode;
pub mod compiler;
pub mod diagnostics;
pub mod embed;
mod engine;
pub mod lexer;
pub mod modules;
pub mod parser;
pub mod repl;
pub mod stdlib;
pub mod text;
pub mod traceback;
pub mod vm;

pub use embed::{Builder, Error};
pub use engine::{Engine, Interactive, Outcome};
