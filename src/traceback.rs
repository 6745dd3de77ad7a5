//! Python-style rendering of uncaught exceptions, with cause and context chains and
//! exception groups, following CPython 3.11's `pythonrun.c` / `traceback.c` layout:
//! at most 1000 traceback entries (the most recent ones), runs of more than 3 identical
//! entries collapsed into `[Previous line repeated N more times]`, and groups drawn with
//! the `+-+---- 1 ----` / `| ` box (at most 15 members per group, 10 levels deep).

use crate::vm::other::{TraceEntry, Traceback};
use crate::vm::value::{Instance, Value};
use crate::vm::{ExcKind, Sym, Vm};
use std::rc::Rc;

/// CPython's default traceback limit (`PyTraceBack_LIMIT`).
const TB_LIMIT: usize = 1000;
/// Identical consecutive entries shown before collapsing (`TB_RECURSIVE_CUTOFF`).
const TB_RECURSIVE_CUTOFF: usize = 3;
/// Members shown per group (`max_group_width`).
const MAX_GROUP_WIDTH: usize = 15;
/// Nesting of groups shown (`max_group_depth`).
const MAX_GROUP_DEPTH: usize = 10;

const CAUSE_MESSAGE: &str = "The above exception was the direct cause of the following exception:\n";
const CONTEXT_MESSAGE: &str = "During handling of the above exception, another exception occurred:\n";

struct Ctx {
    out: String,
    seen: Vec<*const Instance>,
    group_depth: usize,
    need_close: bool,
}

impl Ctx {
    fn indent(&self) -> usize {
        2 * self.group_depth
    }
    fn margin(&self) -> &'static str {
        if self.group_depth > 0 {
            "| "
        } else {
            ""
        }
    }
    fn write_indent(&mut self) {
        let n = self.indent();
        self.out.extend(std::iter::repeat_n(' ', n));
    }
    fn write_indented_margin(&mut self) {
        self.write_indent();
        let m = self.margin();
        self.out.push_str(m);
    }
}

/// Renders `Traceback (most recent call last): ...` for an exception object.
pub fn format_exception(vm: &mut Vm, exc: &Rc<Instance>) -> String {
    let mut ctx = Ctx { out: String::new(), seen: Vec::new(), group_depth: 0, need_close: false };
    print_recursive(vm, &mut ctx, exc);
    ctx.out
}

/// Prints the cause/context chain ending in `exc` (oldest first), then `exc` itself.
///
/// The chain is walked iteratively, so a chain of any length cannot exhaust the stack.
fn print_recursive(vm: &mut Vm, ctx: &mut Ctx, exc: &Rc<Instance>) {
    // chain[0] is `exc`; each later element is the cause or context of the one before,
    // with the separator printed after it.
    let mut chain: Vec<(Rc<Instance>, Option<&'static str>)> = vec![(exc.clone(), None)];
    ctx.seen.push(Rc::as_ptr(exc));
    let mut cur = exc.clone();
    loop {
        let cause = cur.get_attr(vm.syms.cause).unwrap_or(Value::None);
        let context = cur.get_attr(vm.syms.context).unwrap_or(Value::None);
        let suppress = matches!(cur.get_attr(vm.syms.suppress_context), Some(Value::Bool(true)));
        let next = match (&cause, &context) {
            (Value::Instance(c), _) => Some((c.clone(), CAUSE_MESSAGE)),
            (_, Value::Instance(c)) if !suppress => Some((c.clone(), CONTEXT_MESSAGE)),
            _ => None,
        };
        match next {
            Some((c, msg)) if !ctx.seen.contains(&Rc::as_ptr(&c)) => {
                ctx.seen.push(Rc::as_ptr(&c));
                chain.push((c.clone(), Some(msg)));
                cur = c;
            }
            _ => break,
        }
    }
    let need_close = ctx.need_close;
    for (i, (e, _)) in chain.iter().enumerate().rev() {
        if i == 0 {
            ctx.need_close = need_close;
        }
        print_one(vm, ctx, e);
        if i > 0 {
            // The separator that links chain[i] to chain[i - 1].
            let msg = chain[i].1.unwrap_or(CONTEXT_MESSAGE);
            ctx.write_indented_margin();
            ctx.out.push('\n');
            ctx.write_indented_margin();
            ctx.out.push_str(msg);
            ctx.write_indented_margin();
            ctx.out.push('\n');
        }
    }
}

fn is_group(vm: &Vm, exc: &Rc<Instance>) -> bool {
    exc.class.is_subclass(vm.exc_class(ExcKind::BaseExceptionGroup))
}

fn print_one(vm: &mut Vm, ctx: &mut Ctx, exc: &Rc<Instance>) {
    if is_group(vm, exc) {
        print_group(vm, ctx, exc);
    } else {
        print_exception(vm, ctx, exc);
    }
}

fn print_group(vm: &mut Vm, ctx: &mut Ctx, exc: &Rc<Instance>) {
    if ctx.group_depth > MAX_GROUP_DEPTH {
        ctx.write_indented_margin();
        ctx.out.push_str(&format!("... (max_group_depth is {MAX_GROUP_DEPTH})\n"));
        return;
    }
    let top = ctx.group_depth == 0;
    if top {
        ctx.group_depth += 1;
    }
    print_exception(vm, ctx, exc);
    let excs = vm.group_exceptions(&Value::Instance(exc.clone()));
    let total = excs.len();
    let n = total.min(MAX_GROUP_WIDTH + 1);
    ctx.need_close = false;
    for (i, member) in excs.iter().take(n).enumerate() {
        let last = i + 1 == n;
        if last {
            ctx.need_close = true;
        }
        ctx.write_indent();
        let lead = if i == 0 { "+-" } else { "  " };
        let truncated = i >= MAX_GROUP_WIDTH;
        if truncated {
            ctx.out.push_str(&format!("{lead}+---------------- ... ----------------\n"));
        } else {
            ctx.out.push_str(&format!("{lead}+---------------- {} ----------------\n", i + 1));
        }
        ctx.group_depth += 1;
        if !truncated {
            if let Value::Instance(m) = member {
                print_recursive(vm, ctx, m);
            }
        } else {
            let remaining = total - MAX_GROUP_WIDTH;
            ctx.write_indented_margin();
            ctx.out.push_str(&format!("and {remaining} more exception{}\n", if remaining > 1 { "s" } else { "" }));
        }
        if last && ctx.need_close {
            ctx.write_indent();
            ctx.out.push_str("+------------------------------------\n");
            ctx.need_close = false;
        }
        ctx.group_depth -= 1;
    }
    if ctx.group_depth == 1 && top {
        ctx.group_depth -= 1;
    }
}

fn print_exception(vm: &mut Vm, ctx: &mut Ctx, exc: &Rc<Instance>) {
    if let Some(Value::Other(o)) = exc.get_attr(vm.syms.traceback) {
        if let Some(tb) = o.as_any().downcast_ref::<Traceback>() {
            let entries = tb.entries.borrow();
            if !entries.is_empty() {
                let (header_margin, header) = if is_group(vm, exc) {
                    (if ctx.group_depth == 1 { "+ " } else { ctx.margin() }, "Exception Group Traceback")
                } else {
                    (ctx.margin(), "Traceback")
                };
                ctx.write_indent();
                ctx.out.push_str(header_margin);
                ctx.out.push_str(header);
                ctx.out.push_str(" (most recent call last):\n");
                // Innermost first: keep the most recent `TB_LIMIT`, print outermost first.
                let shown = &entries[..entries.len().min(TB_LIMIT)];
                print_entries(vm, ctx, shown.iter().rev());
            }
        }
    }
    if let Some(Value::Str(r)) = exc.get_attr(Sym::new("_aio_rendered")) {
        // A syntax error from an imported module, already rendered with its span.
        for line in r.as_str().split_inclusive('\n') {
            ctx.write_indented_margin();
            ctx.out.push_str(line);
        }
        if !ctx.out.ends_with('\n') {
            ctx.out.push('\n');
        }
        return;
    }
    let line = exception_line(vm, exc);
    ctx.write_indented_margin();
    ctx.out.push_str(&line);
    ctx.out.push('\n');
    if let Some(Value::List(notes)) = exc.get_attr(Sym::new("__notes__")) {
        let notes = notes.items.borrow().clone();
        for n in notes {
            let text = match &n {
                Value::Str(s) => s.as_str().to_string(),
                other => vm.str_of(other).unwrap_or_else(|_| "<note str() failed>".into()),
            };
            for l in text.split_inclusive('\n') {
                ctx.write_indented_margin();
                ctx.out.push_str(l);
            }
            if text.is_empty() {
                ctx.write_indented_margin();
            }
            if !text.ends_with('\n') {
                ctx.out.push('\n');
            }
        }
    }
}

fn print_entries<'a>(vm: &Vm, ctx: &mut Ctx, entries: impl Iterator<Item = &'a TraceEntry>) {
    let mut last: Option<&TraceEntry> = None;
    let mut count = 0usize;
    for e in entries {
        let same = last.is_some_and(|l| l.file == e.file && l.line == e.line && l.name == e.name);
        if !same {
            if count > TB_RECURSIVE_CUTOFF {
                print_repeated(ctx, count);
            }
            last = Some(e);
            count = 0;
        }
        count += 1;
        if count <= TB_RECURSIVE_CUTOFF {
            ctx.write_indented_margin();
            ctx.out.push_str(&format!("  File \"{}\", line {}, in {}\n", e.file, e.line, e.name));
            if let Some(src) = vm.source_line(&e.file, e.line) {
                let t = src.trim();
                if !t.is_empty() {
                    ctx.write_indented_margin();
                    ctx.out.push_str(&format!("    {t}\n"));
                }
            }
        }
    }
    if count > TB_RECURSIVE_CUTOFF {
        print_repeated(ctx, count);
    }
}

fn print_repeated(ctx: &mut Ctx, count: usize) {
    let n = count - TB_RECURSIVE_CUTOFF;
    ctx.write_indented_margin();
    ctx.out.push_str(&format!("  [Previous line repeated {n} more time{}]\n", if n > 1 { "s" } else { "" }));
}

/// `TypeName: message` as the last line of a traceback.
pub fn exception_line(vm: &mut Vm, exc: &Rc<Instance>) -> String {
    let class = exc.class.clone();
    let module = match class.dict.borrow().get(&vm.syms.module) {
        Some(Value::Str(m)) => m.as_str().to_string(),
        _ => "builtins".to_string(),
    };
    let mut name = class.qualname.borrow().to_string();
    if module != "builtins" && module != "__main__" {
        name = format!("{module}.{name}");
    }
    let msg = vm.str_of(&Value::Instance(exc.clone())).unwrap_or_else(|_| "<exception str() failed>".into());
    if msg.is_empty() {
        name
    } else {
        format!("{name}: {msg}")
    }
}
