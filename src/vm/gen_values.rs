//! The values a suspended generator holds (its locals, then its operand stack): up to
//! [`INLINE`] inside the generator object, more in a vector. Most coroutines suspend with a
//! local or two and the awaitable, so a pending task needs no allocation for them.

use super::value::Value;

/// How many values are held inline.
pub const INLINE: usize = 2;

/// A suspended generator's values.
pub enum GenValues {
    /// Up to [`INLINE`] values; those past `len` are `Value::None` (dropping them is free).
    Inline {
        /// How many are held.
        len: u8,
        /// The values.
        vals: [Value; INLINE],
    },
    /// Any number (the vector stays when the values are moved out, for the next time).
    Heap(Vec<Value>),
}

impl Default for GenValues {
    fn default() -> GenValues {
        GenValues::Inline { len: 0, vals: [Value::None, Value::None] }
    }
}

impl GenValues {
    /// The values of a frame just built by a call (`v` has room for what the frame holds
    /// when it suspends): inline when that room is small enough, else `v` itself.
    #[inline]
    pub fn from_vec(v: Vec<Value>) -> GenValues {
        if v.capacity() > INLINE {
            return GenValues::Heap(v);
        }
        GenValues::inline_from(v)
    }

    #[inline(never)]
    fn inline_from(v: Vec<Value>) -> GenValues {
        let len = v.len() as u8;
        let mut it = v.into_iter();
        let vals = std::array::from_fn(|_| it.next().unwrap_or_default());
        GenValues::Inline { len, vals }
    }

    // Every operation takes the vector's path inline and the inline values' out of line:
    // generators that resume most often (in `for` loops, `yield from` chains) have frames
    // too large for the inline room, and the dispatch loop that inlines these stays lean.

    /// The values, in order.
    #[inline(always)]
    pub fn as_slice(&self) -> &[Value] {
        match self {
            GenValues::Heap(v) => v,
            GenValues::Inline { len, vals } => &vals[..*len as usize],
        }
    }

    /// The values, in order.
    #[inline]
    pub fn iter(&self) -> std::slice::Iter<'_, Value> {
        self.as_slice().iter()
    }

    /// How many values there are.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            GenValues::Heap(v) => v.len(),
            GenValues::Inline { len, .. } => *len as usize,
        }
    }

    /// True when there are none.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The room allocated apart from the generator object, in values (0 while inline).
    pub fn heap_capacity(&self) -> usize {
        match self {
            GenValues::Heap(v) => v.capacity(),
            GenValues::Inline { .. } => 0,
        }
    }

    /// The last value.
    #[inline(always)]
    pub fn last(&self) -> Option<&Value> {
        self.as_slice().last()
    }

    /// Removes the last value.
    #[inline(always)]
    pub fn pop(&mut self) -> Option<Value> {
        match self {
            GenValues::Heap(v) => v.pop(),
            _ => self.pop_inline(),
        }
    }

    #[inline(never)]
    fn pop_inline(&mut self) -> Option<Value> {
        let GenValues::Inline { len, vals } = self else { return None };
        let n = (*len as usize).checked_sub(1)?;
        *len = n as u8;
        Some(std::mem::take(&mut vals[n]))
    }

    /// Appends the values of `src`, leaving it empty.
    #[inline(always)]
    pub fn take_from(&mut self, src: &mut [Value]) {
        match self {
            // A frame holds a few values: moved one by one (a `Drain` costs more), into room
            // made once.
            GenValues::Heap(v) => v.extend(src.iter_mut().map(std::mem::take)),
            _ => self.take_inline(src),
        }
    }

    #[inline(never)]
    fn take_inline(&mut self, src: &mut [Value]) {
        if let GenValues::Inline { len, vals } = self {
            let n = *len as usize;
            if n + src.len() <= INLINE {
                for (slot, x) in vals[n..].iter_mut().zip(src.iter_mut()) {
                    *slot = std::mem::take(x);
                }
                *len = (n + src.len()) as u8;
                return;
            }
            // No longer fits: to a vector with room for the new values besides.
            let mut v = Vec::with_capacity((n + src.len()).max(2 * INLINE));
            v.extend(vals[..n].iter_mut().map(std::mem::take));
            v.extend(src.iter_mut().map(std::mem::take));
            *self = GenValues::Heap(v);
        }
    }

    /// Appends `x`.
    #[inline(always)]
    pub fn push(&mut self, x: Value) {
        match self {
            GenValues::Heap(v) => v.push(x),
            _ => self.take_inline(&mut [x]),
        }
    }

    /// Moves the values to the end of `dst`, leaving this empty (a vector keeps its room).
    #[inline(always)]
    pub fn move_to(&mut self, dst: &mut Vec<Value>) {
        match self {
            GenValues::Heap(v) => dst.append(v),
            _ => self.move_inline_to(dst),
        }
    }

    #[inline(never)]
    fn move_inline_to(&mut self, dst: &mut Vec<Value>) {
        if let GenValues::Inline { len, vals } = self {
            let n = *len as usize;
            *len = 0;
            dst.extend(vals[..n].iter_mut().map(std::mem::take));
        }
    }
}

impl IntoIterator for GenValues {
    type Item = Value;
    type IntoIter = std::iter::Chain<std::iter::Take<std::array::IntoIter<Value, INLINE>>, std::vec::IntoIter<Value>>;
    fn into_iter(self) -> Self::IntoIter {
        match self {
            GenValues::Inline { len, vals } => vals.into_iter().take(len as usize).chain(Vec::new()),
            GenValues::Heap(v) => [Value::None, Value::None].into_iter().take(0).chain(v),
        }
    }
}

impl<'a> IntoIterator for &'a GenValues {
    type Item = &'a Value;
    type IntoIter = std::slice::Iter<'a, Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(v: &GenValues) -> Vec<i64> {
        v.as_slice().iter().map(|x| if let Value::Int(i) = x { *i } else { -1 }).collect()
    }

    #[test]
    fn inline_then_heap() {
        let mut v = GenValues::from_vec(Vec::with_capacity(2));
        assert!(matches!(v, GenValues::Inline { .. }));
        v.push(Value::Int(1));
        v.take_from(&mut [Value::Int(2)]);
        assert_eq!(ints(&v), [1, 2]);
        assert_eq!(v.heap_capacity(), 0);
        v.push(Value::Int(3));
        assert!(matches!(v, GenValues::Heap(_)));
        assert_eq!(ints(&v), [1, 2, 3]);
        assert_eq!(v.pop().map(|x| matches!(x, Value::Int(3))), Some(true));
        let mut stack = vec![Value::Int(0)];
        v.move_to(&mut stack);
        assert!(v.is_empty() && stack.len() == 3);
        assert_eq!(v.into_iter().count(), 0);
    }

    #[test]
    fn from_vec_keeps_large_vectors() {
        let v = GenValues::from_vec(vec![Value::Int(1), Value::Int(2), Value::Int(3)]);
        assert!(matches!(v, GenValues::Heap(_)));
        let w = GenValues::from_vec(vec![Value::Int(7)]);
        assert_eq!(ints(&w), [7]);
        assert_eq!(w.into_iter().count(), 1);
    }

    /// Two values inline keep a generator object within glibc's 192-byte chunk.
    #[test]
    fn inline_values_are_small() {
        assert!(std::mem::size_of::<GenValues>() <= 56, "{}", std::mem::size_of::<GenValues>());
    }
}
