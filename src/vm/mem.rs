//! Fallible allocation for sizes a script chooses (`'x' * n`, `[0] * n`, a format width,
//! `list(range(n))`): a request the system refuses is a `MemoryError`, as in CPython, never
//! an abort of the process.

use super::{Exc, ExcKind, Res};

/// A table's growth was refused memory (the caller raises [`memory_error`]).
#[derive(Debug)]
pub struct OutOfMemory;

impl From<OutOfMemory> for Exc {
    fn from(_: OutOfMemory) -> Exc {
        memory_error()
    }
}

/// The `MemoryError` CPython raises when an allocation fails (no message).
pub fn memory_error() -> Exc {
    Exc::new(ExcKind::MemoryError, "")
}

/// Makes room for `additional` more elements, or fails with `MemoryError`.
pub fn reserve<T>(v: &mut Vec<T>, additional: usize) -> Res<()> {
    v.try_reserve_exact(additional).map_err(|_| memory_error())
}

/// Makes room for one more element with the amortised growth of `Vec::push`, or fails with
/// `MemoryError` (a list growing one item at a time until memory runs out).
#[inline]
pub fn room_for_one<T>(v: &mut Vec<T>) -> Res<()> {
    if v.len() == v.capacity() {
        return grow_one(v);
    }
    Ok(())
}

#[cold]
#[inline(never)]
fn grow_one<T>(v: &mut Vec<T>) -> Res<()> {
    v.try_reserve(1).map_err(|_| memory_error())
}

/// Makes room for `additional` more elements with amortised growth (`extend`), or fails
/// with `MemoryError`.
pub fn room_for<T>(v: &mut Vec<T>, additional: usize) -> Res<()> {
    v.try_reserve(additional).map_err(|_| memory_error())
}

/// An empty vector with room for `n` elements, or `MemoryError`.
pub fn vec_with_capacity<T>(n: usize) -> Res<Vec<T>> {
    let mut v = Vec::new();
    reserve(&mut v, n)?;
    Ok(v)
}

/// An empty string with room for `n` bytes, or `MemoryError`.
pub fn string_with_capacity(n: usize) -> Res<String> {
    // Small strings (concatenations, f-strings) take the plain allocation path.
    if n <= SMALL {
        return Ok(String::with_capacity(n));
    }
    let mut s = String::new();
    s.try_reserve_exact(n).map_err(|_| memory_error())?;
    Ok(s)
}

/// Below this many bytes an allocation cannot fail short of the process running out of
/// memory altogether, so the fallible path (`MemoryError`) is kept for larger ones.
const SMALL: usize = 4096;

/// `items` repeated `n` times (sequence repetition), or `MemoryError`.
pub fn repeat<T: Clone>(items: &[T], n: usize) -> Res<Vec<T>> {
    let total = items.len().checked_mul(n).ok_or_else(memory_error)?;
    let mut out = vec_with_capacity(total)?;
    if !items.is_empty() {
        for _ in 0..n {
            out.extend_from_slice(items);
        }
    }
    Ok(out)
}

/// `s` repeated `n` times, or `MemoryError`.
pub fn repeat_str(s: &str, n: usize) -> Res<String> {
    let total = s.len().checked_mul(n).ok_or_else(memory_error)?;
    let mut out = string_with_capacity(total)?;
    if !s.is_empty() {
        for _ in 0..n {
            out.push_str(s);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_sizes_are_memory_errors() {
        assert!(repeat_str("ab", usize::MAX / 2).is_err());
        assert!(repeat(&[1u64, 2], usize::MAX / 4).is_err());
        assert!(vec_with_capacity::<u64>(1 << 60).is_err());
        let mut v: Vec<u64> = Vec::new();
        assert!(room_for(&mut v, usize::MAX / 16).is_err());
        assert!(room_for_one(&mut v).is_ok() && v.capacity() >= 1);
        assert_eq!(repeat_str("ab", 3).ok().as_deref(), Some("ababab"));
        assert_eq!(repeat(&[1, 2], 2).ok(), Some(vec![1, 2, 1, 2]));
    }
}
