//! `asyncio.TransportSocket`: the read-only view of a transport's or server's socket
//! (`server.sockets[0].getsockname()`, `get_extra_info('socket')`).

use super::support::{os_error, this};
use crate::builtins::bound_native;
use crate::vm::other::NativeObject;
use crate::vm::value::Value;
use crate::vm::{Args, NativeFn, Res, Sym, Vm};
use std::os::fd::RawFd;
use std::rc::{Rc, Weak};

crate::self_rc!(TransportSocket);

/// A snapshot of a socket's identity and addresses.
pub struct TransportSocket {
    me: Weak<TransportSocket>,
    fd: RawFd,
    family: i64,
    stype: i64,
    proto: i64,
    laddr: Value,
    raddr: Value,
}

impl TransportSocket {
    /// A `TransportSocket` value.
    pub fn value(fd: RawFd, family: i64, stype: i64, proto: i64, laddr: Value, raddr: Value) -> Value {
        Value::Other(Rc::new_cyclic(|me| TransportSocket { me: me.clone(), fd, family, stype, proto, laddr, raddr }))
    }
}

fn ts(a: &Args) -> Res<Rc<TransportSocket>> {
    this::<TransportSocket>(a, "TransportSocket")
}
fn ts_getsockname(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(ts(a)?.laddr.clone())
}
fn ts_getpeername(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let s = ts(a)?;
    if s.raddr.is_none() {
        return Err(os_error(vm, 107, "Transport endpoint is not connected"));
    }
    Ok(s.raddr.clone())
}
fn ts_fileno(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    Ok(Value::Int(ts(a)?.fd as i64))
}

fn addr_text(v: &Value) -> String {
    match v {
        Value::Tuple(t) => {
            let parts: Vec<String> = t
                .iter()
                .map(|x| match x {
                    Value::Str(s) => format!("'{}'", s.as_str()),
                    Value::Int(i) => i.to_string(),
                    _ => String::new(),
                })
                .collect();
            format!("({})", parts.join(", "))
        }
        Value::Str(s) => format!("'{}'", s.as_str()),
        _ => "None".into(),
    }
}

impl NativeObject for TransportSocket {
    fn type_name(&self) -> &'static str {
        "TransportSocket"
    }
    fn get_attr(&self, _vm: &mut Vm, this: &Value, name: Sym) -> Res<Option<Value>> {
        let f: Option<(&'static str, NativeFn)> = name.with_str(|s| {
            Some(match s {
                "getsockname" => ("getsockname", ts_getsockname as NativeFn),
                "getpeername" => ("getpeername", ts_getpeername as NativeFn),
                "fileno" => ("fileno", ts_fileno as NativeFn),
                _ => return None,
            })
        });
        if let Some((n, f)) = f {
            return Ok(Some(bound_native(this.clone(), n, f)));
        }
        Ok(name.with_str(|s| match s {
            "family" => Some(Value::Int(self.family)),
            "type" => Some(Value::Int(self.stype)),
            "proto" => Some(Value::Int(self.proto)),
            _ => None,
        }))
    }
    fn repr(&self) -> String {
        let mut s = format!(
            "<asyncio.TransportSocket fd={}, family={}, type={}, proto={}",
            self.fd, self.family, self.stype, self.proto
        );
        if !self.laddr.is_none() {
            s.push_str(&format!(", laddr={}", addr_text(&self.laddr)));
        }
        if !self.raddr.is_none() {
            s.push_str(&format!(", raddr={}", addr_text(&self.raddr)));
        }
        s.push('>');
        s
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
