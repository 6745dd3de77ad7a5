//! The context CPython 3.11 gives the errors of a failed name or attribute read: an
//! `AttributeError` from `obj.name` carries `name` and `obj`, a `NameError` for an
//! undefined global or free variable carries `name`; otherwise they are `None`.

use super::value::Value;
use super::{Exc, ExcKind, Sym, Vm};

impl Vm {
    /// The `AttributeError` of reading a missing `obj.name`, with its `name` and `obj`.
    #[cold]
    pub fn missing_attribute(&mut self, obj: &Value, name: Sym) -> Exc {
        let e = self.no_attribute(obj, name);
        self.attribute_error_context(e, obj, name)
    }

    /// `e` raised while reading `obj.name`: an `AttributeError` that has neither `name`
    /// nor `obj` yet gets both (as `PyObject_GetAttr` does, so an error raised by a
    /// property or `__getattr__` names the attribute read); other errors pass unchanged.
    #[cold]
    pub fn attribute_error_context(&mut self, e: Exc, obj: &Value, name: Sym) -> Exc {
        let inst = match e {
            Exc::Msg(ExcKind::AttributeError, _) => self.materialize(e),
            Exc::Obj(i) if i.class.is_subclass(self.exc_class(ExcKind::AttributeError)) => i,
            other => return other,
        };
        let (name_key, obj_key) = (self.syms.name_attr, self.syms.obj);
        let unset = |k: Sym| inst.get_attr(k).is_none_or(|v| v.is_none());
        if unset(name_key) && unset(obj_key) {
            inst.set_attr(name_key, Value::str(&name.as_rc()));
            inst.set_attr(obj_key, obj.clone());
        }
        Exc::Obj(inst)
    }

    /// The attributes an exception the interpreter makes from a kind and a message `msg` has
    /// beside `args`, as its class always has them: `name`/`obj` of an `AttributeError`
    /// (`None`), `name` of a `NameError` (the undefined name, as CPython sets it; `None` for an
    /// `UnboundLocalError`).
    pub(super) fn exception_defaults(&self, kind: ExcKind, msg: &str) -> Vec<(Sym, Value)> {
        match kind {
            ExcKind::AttributeError => vec![(self.syms.name_attr, Value::None), (self.syms.obj, Value::None)],
            ExcKind::NameError => vec![(self.syms.name_attr, undefined_name(msg).map_or(Value::None, Value::str))],
            ExcKind::UnboundLocalError => vec![(self.syms.name_attr, Value::None)],
            _ => Vec::new(),
        }
    }
}

/// The name in the interpreter's `NameError` messages: `name 'x' is not defined`,
/// `cannot access free variable 'x' where it is not associated with a value in enclosing
/// scope`.
fn undefined_name(msg: &str) -> Option<&str> {
    let rest = msg.strip_prefix("name '").or_else(|| msg.strip_prefix("cannot access free variable '"))?;
    let end = rest.find('\'')?;
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::undefined_name;

    #[test]
    fn undefined_name_is_read_from_the_messages() {
        assert_eq!(undefined_name("name 'spam' is not defined"), Some("spam"));
        assert_eq!(
            undefined_name(
                "cannot access free variable 'y' where it is not associated with a value in enclosing scope"
            ),
            Some("y")
        );
        assert_eq!(undefined_name("cannot access local variable 'x' where it is not associated with a value"), None);
        assert_eq!(undefined_name("something else"), None);
    }
}
