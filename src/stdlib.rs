//! Modules written in aio itself, compiled into the binary.

/// The source of an embedded standard-library module, by module name.
pub fn source(name: &str) -> Option<&'static str> {
    match name {
        "asyncio" => Some(include_str!("../stdlib/asyncio.aio")),
        "collections" => Some(include_str!("../stdlib/collections.aio")),
        "contextlib" => Some(include_str!("../stdlib/contextlib.aio")),
        "functools" => Some(include_str!("../stdlib/functools.aio")),
        "itertools" => Some(include_str!("../stdlib/itertools.aio")),
        "operator" => Some(include_str!("../stdlib/operator.aio")),
        _ => None,
    }
}
