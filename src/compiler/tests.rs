//! Scope resolution and compile-time errors, checked against CPython 3.11's rules and wording.

use super::compile_module;
use super::symtable::{analyse, Access, Scope, ScopeKind, SymTable};
use crate::parser::parse_module;

fn table(src: &str) -> SymTable {
    let m = parse_module(src).unwrap_or_else(|e| panic!("parses: {}", e.message));
    analyse(&m).unwrap_or_else(|e| panic!("analyses: {}", e.message))
}

/// The scope reached from the module by following child indices.
fn scope<'t>(t: &'t SymTable, path: &[usize]) -> &'t Scope {
    let mut id = 0;
    for &i in path {
        id = t.scopes[id].children[i];
    }
    &t.scopes[id]
}

/// The message of the compile-time error for `src` (parse errors are test bugs).
fn compile_error(src: &str) -> String {
    let m = parse_module(src).unwrap_or_else(|e| panic!("{src:?} should parse, got {}", e.message));
    match compile_module(&m, "t.aio", src) {
        Ok(_) => panic!("{src:?} compiled without error"),
        Err(e) => e.message,
    }
}

fn compiles(src: &str) {
    let m = parse_module(src).unwrap_or_else(|e| panic!("{src:?} should parse, got {}", e.message));
    if let Err(e) = compile_module(&m, "t.aio", src) {
        panic!("{src:?} should compile, got {}", e.message);
    }
}

// ------------------------------------------------------------------ scopes

#[test]
fn locals_globals_and_builtins_in_a_function() {
    let t = table("g = 1\ndef f(a):\n    b = a + g\n    return len(b)\n");
    let f = scope(&t, &[0]);
    assert_eq!(f.kind, ScopeKind::Function);
    assert_eq!(f.lookup("a"), Access::Local);
    assert_eq!(f.lookup("b"), Access::Local);
    assert_eq!(f.lookup("g"), Access::Global);
    assert_eq!(f.lookup("len"), Access::Global);
    assert_eq!(scope(&t, &[]).lookup("g"), Access::Name);
}

#[test]
fn global_declaration_makes_assignment_global() {
    let t = table("def f():\n    global x\n    x = 1\n    y = 2\n");
    let f = scope(&t, &[0]);
    assert_eq!(f.lookup("x"), Access::Global);
    assert_eq!(f.lookup("y"), Access::Local);
}

#[test]
fn closures_make_cells_and_free_variables() {
    let t = table("def outer():\n    x = 1\n    y = 2\n    def inner():\n        return x\n    return inner\n");
    let outer = scope(&t, &[0]);
    let inner = scope(&t, &[0, 0]);
    assert_eq!(outer.lookup("x"), Access::Cell);
    assert_eq!(outer.lookup("y"), Access::Local);
    assert_eq!(inner.lookup("x"), Access::Free);
    assert_eq!(outer.cellvars, vec!["x".to_string()]);
    assert_eq!(inner.freevars, vec!["x".to_string()]);
}

#[test]
fn nonlocal_binds_the_enclosing_cell_through_intermediate_scopes() {
    let src = "def a():\n    n = 0\n    def b():\n        def c():\n            nonlocal n\n            n += 1\n        return c\n    return b\n";
    let t = table(src);
    assert_eq!(scope(&t, &[0]).lookup("n"), Access::Cell);
    // The middle function passes the cell through as a free variable.
    assert_eq!(scope(&t, &[0, 0]).lookup("n"), Access::Free);
    assert_eq!(scope(&t, &[0, 0, 0]).lookup("n"), Access::Free);
}

#[test]
fn parameters_captured_by_inner_functions_are_cells() {
    let t = table("def f(a, b):\n    return lambda: a\n");
    let f = scope(&t, &[0]);
    assert_eq!(f.lookup("a"), Access::Cell);
    assert_eq!(f.lookup("b"), Access::Local);
    assert_eq!(f.params, vec!["a".to_string(), "b".to_string()]);
}

#[test]
fn class_scope_is_invisible_to_methods() {
    let src = "x = 'global'\nclass C:\n    x = 'class'\n    y = x\n    def m(self):\n        return x\n";
    let t = table(src);
    let class = scope(&t, &[0]);
    assert_eq!(class.kind, ScopeKind::Class);
    assert_eq!(class.lookup("x"), Access::Name);
    assert_eq!(class.lookup("y"), Access::Name);
    // The method sees the module's x, not the class attribute.
    assert_eq!(scope(&t, &[0, 0]).lookup("x"), Access::Global);
}

#[test]
fn class_in_function_sees_function_locals_as_free() {
    let t = table("def f():\n    v = 1\n    class C:\n        w = v\n    return C\n");
    assert_eq!(scope(&t, &[0]).lookup("v"), Access::Cell);
    assert_eq!(scope(&t, &[0, 0]).lookup("v"), Access::Free);
    assert_eq!(scope(&t, &[0, 0]).lookup("w"), Access::Name);
}

#[test]
fn comprehensions_are_function_scopes() {
    let t = table("def f(xs, k):\n    return [x * k for x in xs]\n");
    let f = scope(&t, &[0]);
    let comp = scope(&t, &[0, 0]);
    assert!(comp.is_comprehension);
    assert_eq!(comp.kind, ScopeKind::Function);
    assert_eq!(comp.lookup("x"), Access::Local);
    assert_eq!(comp.lookup("k"), Access::Free);
    assert_eq!(f.lookup("k"), Access::Cell);
    // The first iterable is evaluated in the enclosing scope: xs stays a plain local.
    assert_eq!(f.lookup("xs"), Access::Local);
    assert_eq!(f.lookup("x"), Access::Global, "the loop variable does not leak");
}

#[test]
fn walrus_in_comprehension_binds_in_the_enclosing_function() {
    let t = table("def f(xs):\n    ys = [last := x for x in xs]\n    return last\n");
    assert_eq!(scope(&t, &[0]).lookup("last"), Access::Cell);
    assert_eq!(scope(&t, &[0, 0]).lookup("last"), Access::Free);
}

#[test]
fn generator_functions_are_marked() {
    let t = table("def g():\n    yield 1\ndef h():\n    return (x for x in 'ab')\n");
    assert!(scope(&t, &[0]).is_generator);
    assert!(!scope(&t, &[1]).is_generator);
    assert!(scope(&t, &[1, 0]).is_generator);
}

#[test]
fn super_implies_a_class_cell() {
    let src = "class A:\n    def m(self):\n        return super().m()\nclass B:\n    def m(self):\n        return 1\n";
    let t = table(src);
    assert!(scope(&t, &[0]).needs_class_cell);
    assert_eq!(scope(&t, &[0, 0]).lookup("__class__"), Access::Free);
    assert!(!scope(&t, &[1]).needs_class_cell);
    // Also through a nested function inside the method, and via a bare `__class__`.
    let t = table("class A:\n    def m(self):\n        return lambda: __class__\n");
    assert!(scope(&t, &[0]).needs_class_cell);
}

// ------------------------------------------------------------------ errors (CPython's words)

#[test]
fn return_outside_function() {
    assert_eq!(compile_error("return 1\n"), "'return' outside function");
    assert_eq!(compile_error("class C:\n    return 1\n"), "'return' outside function");
}

#[test]
fn await_outside_function_and_outside_async_function() {
    assert_eq!(compile_error("await x\n"), "'await' outside function");
    assert_eq!(compile_error("class C:\n    await x\n"), "'await' outside function");
    assert_eq!(compile_error("def f():\n    await x\n"), "'await' outside async function");
    assert_eq!(compile_error("def f():\n    return lambda: await x\n"), "'await' outside async function");
    assert_eq!(compile_error("async def f():\n    def g():\n        await x\n"), "'await' outside async function");
    compiles("async def f():\n    await x\n");
    compiles("(await x for x in y)\n");
}

/// The error `compile_interactive_async` (the REPL's top-level await) gives, or "" if none.
fn top_level_await_error(src: &str) -> String {
    let m = parse_module(src).unwrap_or_else(|e| panic!("{src:?} should parse, got {}", e.message));
    match super::compile_interactive_async(&m, "<stdin>", src) {
        Ok(code) => {
            assert!(code.flags.coroutine && code.flags.module, "a coroutine with module scope");
            String::new()
        }
        Err(e) => e.message,
    }
}

#[test]
fn top_level_await_mode_allows_await_at_module_level_only() {
    for ok in [
        "await x\n",
        "y = await f()\n",
        "async for v in g(): print(v)\n",
        "async with m() as c: pass\n",
        "[v async for v in g()]\n",
        "[await v for v in g()]\n",
        "if c:\n    await x\n",
        "x = 1\n",
    ] {
        assert_eq!(top_level_await_error(ok), "", "{ok:?}");
    }
    assert_eq!(top_level_await_error("return 1\n"), "'return' outside function");
    assert_eq!(top_level_await_error("yield 1\n"), "'yield' outside function");
    assert_eq!(top_level_await_error("class C:\n    await x\n"), "'await' outside function");
    assert_eq!(top_level_await_error("def f():\n    await x\n"), "'await' outside async function");
}

#[test]
fn break_and_continue_outside_loops() {
    assert_eq!(compile_error("break\n"), "'break' outside loop");
    assert_eq!(compile_error("continue\n"), "'continue' not properly in loop");
    assert_eq!(compile_error("for x in y:\n    def f():\n        break\n"), "'break' outside loop");
    assert_eq!(compile_error("while x:\n    class C:\n        continue\n"), "'continue' not properly in loop");
    compiles("while x:\n    try:\n        pass\n    finally:\n        continue\n");
}

#[test]
fn nonlocal_errors() {
    assert_eq!(compile_error("nonlocal x\n"), "nonlocal declaration not allowed at module level");
    assert_eq!(compile_error("def f():\n    nonlocal x\n"), "no binding for nonlocal 'x' found");
    assert_eq!(compile_error("x = 1\ndef f():\n    nonlocal x\n"), "no binding for nonlocal 'x' found");
    assert_eq!(compile_error("def f():\n    class C:\n        nonlocal x\n"), "no binding for nonlocal 'x' found");
    assert_eq!(compile_error("def f(x):\n    nonlocal x\n"), "name 'x' is parameter and nonlocal");
    assert_eq!(
        compile_error("def f():\n    x = 1\n    def g():\n        x = 2\n        nonlocal x\n"),
        "name 'x' is assigned to before nonlocal declaration"
    );
    assert_eq!(
        compile_error("def f():\n    x = 1\n    def g():\n        print(x)\n        nonlocal x\n"),
        "name 'x' is used prior to nonlocal declaration"
    );
    assert_eq!(
        compile_error("def f():\n    x = 1\n    def g():\n        nonlocal x\n        global x\n"),
        "name 'x' is nonlocal and global"
    );
}

#[test]
fn global_errors() {
    assert_eq!(compile_error("def f():\n    print(x)\n    global x\n"), "name 'x' is used prior to global declaration");
    assert_eq!(
        compile_error("def f():\n    x = 1\n    global x\n"),
        "name 'x' is assigned to before global declaration"
    );
    assert_eq!(compile_error("x = 1\nglobal x\n"), "name 'x' is assigned to before global declaration");
    assert_eq!(compile_error("def f(x):\n    global x\n"), "name 'x' is parameter and global");
    compiles("global x\nx = 1\n");
}

#[test]
fn yield_errors() {
    assert_eq!(compile_error("yield 1\n"), "'yield' outside function");
    assert_eq!(compile_error("class C:\n    yield 1\n"), "'yield' outside function");
    assert_eq!(compile_error("async def f():\n    yield from g()\n"), "'yield from' inside async function");
    compiles("async def f():\n    yield 1\n");
}

#[test]
fn async_comprehension_outside_async_function() {
    let msg = "asynchronous comprehension outside of an asynchronous function";
    assert_eq!(compile_error("[x async for x in y]\n"), msg);
    assert_eq!(compile_error("def f():\n    return [x async for x in y]\n"), msg);
    assert_eq!(compile_error("def f():\n    return [await x for x in y]\n"), msg);
    compiles("async def f():\n    return [x async for x in y]\n");
}

#[test]
fn errors_point_at_the_offending_statement() {
    let src = "x = 1\n\ndef f():\n    pass\nbreak\n";
    let m = parse_module(src).expect("parses");
    let e = compile_module(&m, "t.aio", src).err().expect("error");
    assert_eq!(crate::diagnostics::line_col(src, e.span.start as usize), (5, 1));
}
