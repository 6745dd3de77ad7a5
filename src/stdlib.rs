//! Modules written in aio itself, compiled into the binary.

/// The embedded modules: name and source.
const MODULES: &[(&str, &str)] = &[
    ("asyncio", include_str!("../stdlib/asyncio.aio")),
    ("collections", include_str!("../stdlib/collections.aio")),
    ("contextlib", include_str!("../stdlib/contextlib.aio")),
    ("dataclasses", include_str!("../stdlib/dataclasses.aio")),
    ("functools", include_str!("../stdlib/functools.aio")),
    ("itertools", include_str!("../stdlib/itertools.aio")),
    ("operator", include_str!("../stdlib/operator.aio")),
    ("typing", include_str!("../stdlib/typing.aio")),
];

/// The source of an embedded standard-library module, by module name.
pub fn source(name: &str) -> Option<&'static str> {
    MODULES.iter().find(|(n, _)| *n == name).map(|(_, src)| *src)
}

/// The names of the embedded modules.
pub fn names() -> impl Iterator<Item = &'static str> {
    MODULES.iter().map(|(n, _)| *n)
}
