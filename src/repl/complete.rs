//! Tab completion: keywords, builtins and the session's globals; after a dot, the attributes
//! of the named object. Completion only reads namespaces: it never runs script code (no
//! properties, no `__getattr__`, no `__dir__`).

use super::highlight::KEYWORDS;
use crate::vm::value::{Module, Value};
use crate::Engine;

/// Candidates for the word that ends at byte `pos` of `line`: the byte where that word (or the
/// part after its last dot) starts, and the sorted replacements for it.
pub fn complete(engine: &Engine, globals: &Module, line: &str, pos: usize) -> (usize, Vec<String>) {
    let before = &line[..pos];
    let word_start = before
        .char_indices()
        .rev()
        .take_while(|&(_, c)| c == '_' || c == '.' || c.is_alphanumeric())
        .last()
        .map_or(pos, |(i, _)| i);
    let word = &before[word_start..];
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    if word.is_empty() {
        // Tab on an empty (or all-blank) line indents, as in CPython's REPL.
        if before[line_start..].trim().is_empty() {
            return (pos, vec!["    ".to_string()]);
        }
        return (pos, Vec::new());
    }
    let head = &before[line_start..word_start];
    if inside_string_or_comment(head) {
        return (pos, Vec::new());
    }
    if matches!(head.split_whitespace().collect::<Vec<_>>()[..], ["import"] | ["from"]) {
        let names = engine.module_names().into_iter().filter(|n| n.starts_with(word)).collect();
        return (word_start, names);
    }
    match word.rfind('.') {
        Some(dot) => {
            let prefix = &word[dot + 1..];
            let Some(object) = resolve(engine, globals, &word[..dot]) else { return (pos, Vec::new()) };
            let show_private = prefix.starts_with('_');
            let names = engine
                .attribute_names(&object)
                .into_iter()
                .filter(|n| n.starts_with(prefix) && (show_private || !n.starts_with('_')))
                .collect();
            (word_start + dot + 1, names)
        }
        None => {
            let mut names: Vec<String> = KEYWORDS.iter().map(|k| k.to_string()).collect();
            names.extend(engine.global_names(globals));
            names.extend(engine.builtin_names());
            names.retain(|n| n.starts_with(word) && (word.starts_with('_') || !n.starts_with('_')));
            names.sort();
            names.dedup();
            (word_start, names)
        }
    }
}

/// Evaluates a dotted path (`name`, `module.member`) by namespace lookups alone: the first
/// part is a global or builtin, later parts are members of modules. `None` for anything else
/// (calls, subscripts, attributes of non-modules that would need the attribute protocol).
fn resolve(engine: &Engine, globals: &Module, path: &str) -> Option<Value> {
    let mut parts = path.split('.');
    let first = parts.next()?;
    if first.is_empty() || first.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let mut value = engine.lookup_name(globals, first)?;
    for part in parts {
        value = match &value {
            Value::Module(m) => m.get(crate::vm::Sym::new(part))?,
            _ => return None,
        };
    }
    Some(value)
}

/// True if the text before the word (on its line) leaves the word inside a string literal
/// or a comment (a rough check: counts unescaped quotes).
fn inside_string_or_comment(text: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, '#') => return true,
            _ => {}
        }
    }
    quote.is_some()
}

#[cfg(test)]
mod tests {
    use super::complete;
    use crate::Engine;

    fn session(src: &str) -> (Engine, std::rc::Rc<crate::vm::value::Module>) {
        let mut engine = Engine::new();
        let out = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        engine.vm.stdout = crate::vm::Output::Buffer(out);
        let globals = engine.main_module("<stdin>");
        assert_eq!(engine.run_interactive(src, "<stdin>", &globals, false), crate::Interactive::Ok);
        (engine, globals)
    }

    #[test]
    fn names_keywords_and_builtins() {
        let (engine, g) = session("counter = 1\ncount_words = 2");
        let (start, names) = complete(&engine, &g, "x = cou", 7);
        assert_eq!(start, 4);
        assert_eq!(names, ["count_words", "counter"]);
        let (_, names) = complete(&engine, &g, "whi", 3);
        assert_eq!(names, ["while"]);
        let (_, names) = complete(&engine, &g, "pri", 3);
        assert_eq!(names, ["print"]);
        let (_, names) = complete(&engine, &g, "len(isinst", 10);
        assert_eq!(names, ["isinstance"]);
    }

    #[test]
    fn attributes_after_a_dot() {
        let (engine, g) = session("import math\nclass P:\n    def norm(self): pass\np = P()\np.north = 1\ns = 'x'");
        let (start, names) = complete(&engine, &g, "math.sq", 7);
        assert_eq!((start, names), (5, vec!["sqrt".to_string()]));
        let (_, names) = complete(&engine, &g, "p.no", 4);
        assert_eq!(names, ["norm", "north"]);
        let (_, names) = complete(&engine, &g, "s.upp", 5);
        assert_eq!(names, ["upper"]);
        let (_, names) = complete(&engine, &g, "P.", 2);
        assert_eq!(names, ["norm"], "private and dunder names only when asked for");
        let (_, names) = complete(&engine, &g, "nothing.x", 9);
        assert!(names.is_empty());
        let (_, names) = complete(&engine, &g, "f().x", 5);
        assert!(names.is_empty(), "never calls code");
    }

    #[test]
    fn module_names_after_import() {
        let (engine, g) = session("pass");
        assert_eq!(complete(&engine, &g, "import ma", 9), (7, vec!["math".to_string()]));
        assert_eq!(complete(&engine, &g, "import iter", 11), (7, vec!["itertools".to_string()]));
        assert_eq!(complete(&engine, &g, "from os.pa", 10), (5, vec!["os.path".to_string()]));
    }

    #[test]
    fn indents_blank_lines_and_skips_strings() {
        let (engine, g) = session("pass");
        assert_eq!(complete(&engine, &g, "if x:\n", 6), (6, vec!["    ".to_string()]));
        assert!(complete(&engine, &g, "print('pri", 10).1.is_empty());
        assert!(complete(&engine, &g, "x = 1  # pri", 12).1.is_empty());
    }
}
