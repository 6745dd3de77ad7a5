//! The recursion budget: how deeply script calls may nest before `RecursionError`.
//!
//! The limit (`sys.getrecursionlimit()`) bounds the frame stack plus two counts kept
//! here: nested dispatch loops entered from native code, and generator frames suspended
//! in the middle of a delegation chain (they would be on the frame stack in CPython).
//! Every call checks the bound, so the counts also keep the one number that check
//! needs: the frame-stack length from which a call must take the exact check.

/// Native code re-entering script code uses the Rust stack: that nesting is bounded
/// whatever `sys.setrecursionlimit` says, as CPython bounds its C recursion.
pub const MAX_NATIVE_DEPTH: usize = 8_000;

/// The recursion limit and the nesting it counts besides the frame stack.
#[derive(Debug)]
pub struct Depth {
    limit: usize,
    native: usize,
    delegated: usize,
    /// A call with fewer frames than this on the stack is within every bound; 0 when
    /// every call must take the exact check.
    frames_below: usize,
}

impl Depth {
    /// A budget of `limit` levels with nothing nested yet.
    pub fn new(limit: usize) -> Depth {
        let mut d = Depth { limit, native: 0, delegated: 0, frames_below: 0 };
        d.recount();
        d
    }

    /// Whether a call made with `frames` frames on the stack is surely within the bounds.
    #[inline(always)]
    pub fn allows(&self, frames: usize) -> bool {
        frames < self.frames_below
    }

    /// The exact check behind [`Depth::allows`]: the message of the `RecursionError` a
    /// call with `frames` frames on the stack raises, if any.
    pub fn exceeded(&self, frames: usize) -> Option<&'static str> {
        if frames + self.native + self.delegated > self.limit {
            return Some("maximum recursion depth exceeded");
        }
        if self.native > MAX_NATIVE_DEPTH {
            return Some("maximum recursion depth exceeded while calling a Python object");
        }
        None
    }

    /// Levels a call chain may still add to `frames` frames before the limit.
    pub fn room(&self, frames: usize) -> usize {
        self.limit.saturating_sub(frames + self.native + self.delegated)
    }

    /// `sys.getrecursionlimit()`.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// `sys.setrecursionlimit(n)`.
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
        self.recount();
    }

    /// Nested dispatch loops now running under native code.
    pub fn native(&self) -> usize {
        self.native
    }

    /// A native starts a nested dispatch loop.
    pub fn enter_native(&mut self) {
        self.native += 1;
        self.recount();
    }

    /// The nested dispatch loop of [`Depth::enter_native`] is over.
    pub fn leave_native(&mut self) {
        self.native -= 1;
        self.recount();
    }

    /// `n` more generator frames wait in a delegation chain.
    pub fn delegate(&mut self, n: usize) {
        self.delegated += n;
        self.recount();
    }

    /// `n` generator frames of a delegation chain are running again or finished.
    pub fn undelegate(&mut self, n: usize) {
        self.delegated -= n;
        self.recount();
    }

    fn recount(&mut self) {
        self.frames_below = if self.native > MAX_NATIVE_DEPTH {
            0
        } else {
            (self.limit + 1).saturating_sub(self.native + self.delegated)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_check_agrees_with_the_exact_one() {
        let mut d = Depth::new(10);
        for native in 0..4 {
            for delegated in 0..4 {
                for frames in 0..16 {
                    assert_eq!(d.allows(frames), d.exceeded(frames).is_none(), "{native} {delegated} {frames}");
                }
                d.delegate(1);
            }
            for _ in 0..4 {
                d.undelegate(1);
            }
            d.enter_native();
        }
    }

    #[test]
    fn native_nesting_has_its_own_bound() {
        let mut d = Depth::new(1_000_000);
        for _ in 0..=MAX_NATIVE_DEPTH {
            d.enter_native();
        }
        assert!(!d.allows(1));
        assert!(d.exceeded(1).unwrap().contains("calling a Python object"));
        d.leave_native();
        assert!(d.allows(1));
    }
}
