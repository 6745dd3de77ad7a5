//! The loop's timer heap: a binary min-heap on a `Vec`, ordered by deadline only, with
//! exactly the sift steps of CPython's `heapq` (`heappush`, `heappop`, `heapify`). Timers
//! with equal deadlines are therefore *not* FIFO: they come out in whatever order heapq's
//! moves leave them, and matching those moves step for step is what makes aio run them in
//! CPython's order.

use super::event_loop::Handle;
use std::rc::Rc;

/// A timer in the heap: its deadline (kept beside the handle so comparisons stay in the
/// heap's own memory) and its handle.
pub struct Timer<H = Rc<Handle>> {
    /// Deadline in loop time.
    pub when: f64,
    /// The scheduled callback.
    pub handle: H,
}

/// A min-heap of timers by `when`, laid out and updated as `heapq` does.
pub struct TimerHeap<H = Rc<Handle>> {
    items: Vec<Timer<H>>,
}

impl<H> Default for TimerHeap<H> {
    fn default() -> Self {
        TimerHeap { items: Vec::new() }
    }
}

impl<H> TimerHeap<H> {
    /// How many timers are in the heap (cancelled ones included).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the heap holds no timer.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The timers in heap order (the first is the earliest).
    pub fn as_slice(&self) -> &[Timer<H>] {
        &self.items
    }

    /// The earliest timer.
    pub fn peek(&self) -> Option<&Timer<H>> {
        self.items.first()
    }

    /// `heappush`: append, then move the new timer up past every later parent.
    pub fn push(&mut self, t: Timer<H>) {
        self.items.push(t);
        let last = self.items.len() - 1;
        self.sift_toward_root(0, last);
    }

    /// `heappop`: take the root, move the last timer to the root and sift it down.
    pub fn pop(&mut self) -> Option<Timer<H>> {
        let last = self.items.pop()?;
        if self.items.is_empty() {
            return Some(last);
        }
        let top = std::mem::replace(&mut self.items[0], last);
        self.sift_toward_leaves(0);
        Some(top)
    }

    /// Keeps the timers `keep` accepts (in their current order) and rebuilds the heap
    /// with `heapify`, as CPython's loop does when it purges cancelled timers.
    pub fn retain_and_heapify(&mut self, keep: impl FnMut(&Timer<H>) -> bool) {
        self.items.retain(keep);
        for i in (0..self.items.len() / 2).rev() {
            self.sift_toward_leaves(i);
        }
    }

    /// heapq's `_siftdown(heap, start, pos)`: the timer at `pos` moves up while it is
    /// strictly earlier than its parent, never above `start`.
    fn sift_toward_root(&mut self, start: usize, mut pos: usize) {
        let when = self.items[pos].when;
        while pos > start {
            let parent = (pos - 1) / 2;
            if when < self.items[parent].when {
                self.items.swap(pos, parent);
                pos = parent;
            } else {
                break;
            }
        }
    }

    /// heapq's `_siftup(heap, pos)`: the timer at `pos` is carried down to a leaf, always
    /// along the smaller child (the right one when the left is not strictly smaller), then
    /// moved back up to its place. This "bottom-up" variant does not stop early, and the
    /// order it leaves equal deadlines in depends on that.
    fn sift_toward_leaves(&mut self, mut pos: usize) {
        let end = self.items.len();
        let start = pos;
        let mut child = 2 * pos + 1;
        while child < end {
            let right = child + 1;
            // heapq takes the right child unless the left is strictly earlier (`not
            // left < right`, which also differs from `>=` for NaN deadlines).
            #[allow(clippy::neg_cmp_op_on_partial_ord)]
            if right < end && !(self.items[child].when < self.items[right].when) {
                child = right;
            }
            self.items.swap(pos, child);
            pos = child;
            child = 2 * pos + 1;
        }
        self.sift_toward_root(start, pos);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(whens: &[f64]) -> Vec<usize> {
        let mut h = TimerHeap::default();
        for (i, &w) in whens.iter().enumerate() {
            h.push(Timer { when: w, handle: i });
        }
        std::iter::from_fn(|| h.pop().map(|t| t.handle)).collect()
    }

    #[test]
    fn equal_deadlines_follow_heapq() {
        // heapq over five equal deadlines then a later one pops 0, 2, 1, 3, 4, 5, as
        // CPython runs five call_at timers with one deadline followed by a later sleep.
        assert_eq!(drain(&[1.0, 1.0, 1.0, 1.0, 1.0, 2.0]), vec![0, 2, 1, 3, 4, 5]);
        assert_eq!(drain(&[1.0; 9]), vec![0, 2, 6, 8, 5, 7, 4, 1, 3]);
    }

    #[test]
    fn pops_in_deadline_order() {
        let whens = [5.0, 3.0, 9.0, 1.0, 7.0, 3.0, 0.5, 8.0];
        let got: Vec<f64> = drain(&whens).iter().map(|&i| whens[i]).collect();
        let mut sorted = whens.to_vec();
        sorted.sort_by(f64::total_cmp);
        assert_eq!(got, sorted);
    }

    #[test]
    fn retain_and_heapify_keeps_heap_order() {
        let whens = [4.0, 2.0, 6.0, 1.0, 3.0, 5.0, 0.0];
        let mut h = TimerHeap::default();
        for (i, &w) in whens.iter().enumerate() {
            h.push(Timer { when: w, handle: i });
        }
        h.retain_and_heapify(|t| t.when != 3.0);
        let got: Vec<f64> = std::iter::from_fn(|| h.pop().map(|t| t.when)).collect();
        assert_eq!(got, vec![0.0, 1.0, 2.0, 4.0, 5.0, 6.0]);
        // Equal deadlines: the same order as heapq.heapify on the filtered list.
        let mut h = TimerHeap::default();
        for i in 0..9 {
            h.push(Timer { when: 1.0, handle: i });
        }
        h.retain_and_heapify(|t| t.handle != 3 && t.handle != 5);
        let got: Vec<usize> = std::iter::from_fn(|| h.pop().map(|t| t.handle)).collect();
        assert_eq!(got, vec![8, 2, 7, 0, 1, 6, 4]);
    }
}
