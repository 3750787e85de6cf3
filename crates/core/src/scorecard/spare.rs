//! Spare buffers: large scratch vectors kept between drill-downs, so that their memory
//! stays mapped. A company-wide drill-down writes tens of megabytes of scratch; fresh
//! pages cost a page fault each (a third of a first render, by the profile), reused
//! ones nothing.

use std::sync::Mutex;

/// At most this many buffers are kept per kind (one per core of the machines we run on).
const KEEP: usize = 2;
/// A buffer larger than this is dropped rather than kept: enough for a quarter's 3.7M
/// activities on the 10M demo store, and at most 1 GB for the four kinds kept (traces,
/// a drill-down's records, and the sort's keys and id heads).
const MAX_BYTES: usize = 128 << 20;

/// A pool of spare `Vec<T>`s.
pub struct Spare<T>(Mutex<Vec<Vec<T>>>);

impl<T> Spare<T> {
    pub const fn new() -> Spare<T> {
        Spare(Mutex::new(Vec::new()))
    }
    /// An empty vector, with the capacity of one given back earlier if there is one.
    pub fn take(&self) -> Vec<T> {
        self.0
            .lock()
            .ok()
            .and_then(|mut v| v.pop())
            .unwrap_or_default()
    }
    /// Keeps `v`'s memory for a later [`Spare::take`] (its elements are dropped).
    pub fn give(&self, mut v: Vec<T>) {
        v.clear();
        if v.capacity() == 0 || v.capacity() * size_of::<T>().max(1) > MAX_BYTES {
            return;
        }
        if let Ok(mut pool) = self.0.lock() {
            if pool.len() < KEEP {
                pool.push(v);
            } else if let Some(small) = pool.iter_mut().min_by_key(|x| x.capacity())
                && small.capacity() < v.capacity()
            {
                *small = v;
            }
        }
    }
}

impl<T> Default for Spare<T> {
    fn default() -> Spare<T> {
        Spare::new()
    }
}

/// Traces of drill-down passes (given back by the drill-down once read).
pub static TRACES: Spare<super::pass::Traced> = Spare::new();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_largest_buffers_empty() {
        let s: Spare<u64> = Spare::new();
        assert_eq!(s.take().capacity(), 0);
        s.give(Vec::with_capacity(10));
        s.give(vec![1; 100]);
        s.give(Vec::with_capacity(50));
        let (a, b) = (s.take(), s.take());
        assert!(a.is_empty() && b.is_empty());
        let mut caps = [a.capacity(), b.capacity()];
        caps.sort();
        assert!(caps[0] >= 50 && caps[1] >= 100, "{caps:?}");
        assert_eq!(s.take().capacity(), 0);
        // too large to keep
        s.give(Vec::with_capacity((MAX_BYTES / 8) + 1));
        assert_eq!(s.take().capacity(), 0);
    }
}
