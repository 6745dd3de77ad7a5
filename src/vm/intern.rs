//! Interned identifiers: every attribute, global and keyword name is a [`Sym`].
//!
//! The table is per thread, so symbols are cheap `u32`s compared by value.

use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::rc::Rc;

/// An interned name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(pub u32);

#[derive(Default)]
struct Interner {
    names: Vec<Rc<str>>,
    ids: FxHashMap<Rc<str>, u32>,
}

thread_local! {
    static INTERNER: RefCell<Interner> = RefCell::new(Interner::with_reserved());
}

impl Interner {
    /// A table holding the reserved names first, so their symbols are constants.
    fn with_reserved() -> Interner {
        let mut i = Interner::default();
        for (id, name) in [(Sym::NAMESPACE, NAMESPACE_NAME), (Sym::DICT, "__dict__")] {
            let rc: Rc<str> = Rc::from(name);
            i.names.push(rc.clone());
            i.ids.insert(rc, id.0);
        }
        i
    }
}

/// The text of [`Sym::NAMESPACE`]: it starts with NUL, so no identifier spells it.
const NAMESPACE_NAME: &str = "\0namespace";

impl Sym {
    /// The key under which an instance whose attributes moved into a `__dict__` keeps
    /// that dict in its attribute vector (see `value::Instance`).
    pub const NAMESPACE: Sym = Sym(0);
    /// `__dict__`.
    pub const DICT: Sym = Sym(1);
    /// Interns `name` and returns its symbol.
    pub fn new(name: &str) -> Sym {
        INTERNER.with(|i| {
            let mut i = i.borrow_mut();
            if let Some(&id) = i.ids.get(name) {
                return Sym(id);
            }
            let id = i.names.len() as u32;
            let rc: Rc<str> = Rc::from(name);
            i.names.push(rc.clone());
            i.ids.insert(rc, id);
            Sym(id)
        })
    }
    /// The text of the symbol.
    pub fn as_rc(self) -> Rc<str> {
        INTERNER.with(|i| i.borrow().names[self.0 as usize].clone())
    }
    /// Runs `f` on the text of the symbol without cloning it.
    pub fn with_str<R>(self, f: impl FnOnce(&str) -> R) -> R {
        INTERNER.with(|i| f(&i.borrow().names[self.0 as usize]))
    }
    /// The text of the symbol as an owned `String`.
    pub fn to_string_owned(self) -> String {
        self.with_str(|s| s.to_string())
    }
    /// True for names of the form `__x__`.
    pub fn is_dunder(self) -> bool {
        self.with_str(|s| s.len() > 4 && s.starts_with("__") && s.ends_with("__"))
    }
}

impl std::fmt::Display for Sym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.with_str(|s| f.write_str(s))
    }
}
