//! A disassembler for `aio run --dis`: one instruction per line with its operand resolved.

use super::code::Code;
use super::op::Op;
use crate::vm::Value;
use std::fmt::Write;

/// Renders a code object and, after it, every code object among its constants.
pub fn disassemble(code: &Code) -> String {
    let mut out = String::new();
    dis_one(code, &mut out);
    out
}

fn dis_one(code: &Code, out: &mut String) {
    let _ = writeln!(out, "Disassembly of <code {}> (line {}):", code.qualname, code.first_line);
    let mut last_line = 0;
    for (ip, op) in code.ops.iter().enumerate() {
        let line = code.line_at(ip);
        let line_col = if line != last_line { format!("{line:>4}") } else { "    ".to_string() };
        last_line = line;
        let _ = writeln!(out, "{line_col} {ip:>5} {}", describe(code, op));
    }
    for c in &code.consts {
        if let Value::Code(inner) = c {
            out.push('\n');
            dis_one(inner, out);
        }
    }
}

fn describe(code: &Code, op: &Op) -> String {
    let name = |i: u32| code.names.get(i as usize).map(|s| s.to_string_owned()).unwrap_or_default();
    let var = |i: u32| code.varnames.get(i as usize).map(|s| s.to_string_owned()).unwrap_or_default();
    let cell = |i: u32| {
        let i = i as usize;
        code.cellvars
            .get(i)
            .or_else(|| code.freevars.get(i - code.cellvars.len().min(i)))
            .map(|s| s.to_string_owned())
            .unwrap_or_default()
    };
    match *op {
        Op::LoadConst(c) => format!("LoadConst {} ({})", c.0, const_text(code.consts.get(c.0 as usize))),
        Op::LoadFastFast(a, b) => format!("LoadFastFast {a} {b} ({}, {})", var(a as u32), var(b as u32)),
        Op::LoadFastConst(a, k) => {
            format!("LoadFastConst {a} {k} ({}, {})", var(a as u32), const_text(code.consts.get(k as usize)))
        }
        Op::FastConstArith(a, k, bop) => {
            format!("FastConstArith {a} {k} {bop:?} ({}, {})", var(a as u32), const_text(code.consts.get(k as usize)))
        }
        Op::FastFastArith(a, b, bop) => {
            format!("FastFastArith {a} {b} {bop:?} ({}, {})", var(a as u32), var(b as u32))
        }
        Op::FastConstCompareJump(a, k, kind) => format!(
            "FastConstCompareJump {a} {k} {kind:?} ({}, {})",
            var(a as u32),
            const_text(code.consts.get(k as usize))
        ),
        Op::FastFastCompareJump(a, b, kind) => {
            format!("FastFastCompareJump {a} {b} {kind:?} ({}, {})", var(a as u32), var(b as u32))
        }
        Op::LoadFastAttr(a, n) | Op::StoreFastAttr(a, n) | Op::LoadFastMethod(a, n) => {
            let name = code.names.get(n as usize).map(|s| s.to_string()).unwrap_or_default();
            format!("{} {a} {n} ({}, {name})", op_name(op), var(a as u32))
        }
        Op::LoadFast(s) | Op::StoreFast(s) | Op::DeleteFast(s) => {
            format!("{} {} ({})", op_name(op), s.0, var(s.0))
        }
        Op::LoadDeref(c) | Op::StoreDeref(c) | Op::DeleteDeref(c) | Op::LoadClosure(c) | Op::LoadClassDeref(c) => {
            format!("{} {} ({})", op_name(op), c.0, cell(c.0))
        }
        Op::LoadGlobal(n)
        | Op::StoreGlobal(n)
        | Op::DeleteGlobal(n)
        | Op::LoadName(n)
        | Op::StoreName(n)
        | Op::DeleteName(n)
        | Op::LoadAttr(n)
        | Op::StoreAttr(n)
        | Op::DeleteAttr(n)
        | Op::LoadMethod(n)
        | Op::ImportName(n)
        | Op::ImportFrom(n) => format!("{} {} ({})", op_name(op), n.0, name(n.0)),
        _ => format!("{op:?}"),
    }
}

fn op_name(op: &Op) -> String {
    let s = format!("{op:?}");
    s.split(['(', ' ']).next().unwrap_or_default().to_string()
}

fn const_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::Int(i)) => i.to_string(),
        Some(Value::Float(f)) => crate::text::float_repr::float_repr(*f),
        Some(Value::Str(s)) => format!("{:?}", s.as_str()),
        Some(Value::None) => "None".into(),
        Some(Value::Bool(b)) => if *b { "True" } else { "False" }.into(),
        Some(Value::Code(c)) => format!("<code {}>", c.qualname),
        Some(Value::Tuple(t)) => format!("tuple of {}", t.len()),
        Some(_) => "...".into(),
        None => "?".into(),
    }
}
