//! Where a call's host time goes, stage by stage (a lab instrument, off unless enabled): the
//! bindings start the clock when a call enters and each stage adds the time since the previous
//! mark to its total, per thread. Off, a mark is one relaxed atomic load.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// The stages of a call, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Reading the caller's arrays (the bindings' protocols).
    Arguments,
    /// Releasing the interpreter lock (Python).
    Detach,
    /// Shape, dtype, layout and option checks; the problem's description.
    Validation,
    /// The device, the kernel's key and module, the split plan and parameters.
    Lookup,
    /// The driver's launch calls (on the CPU backend: the whole computation).
    Launch,
    /// Back to the caller (the lock taken again, results converted).
    Return,
}

/// Every stage with its name.
pub const STAGES: [(Stage, &str); 6] = [
    (Stage::Arguments, "arguments"),
    (Stage::Detach, "detach"),
    (Stage::Validation, "validation"),
    (Stage::Lookup, "lookup"),
    (Stage::Launch, "launch"),
    (Stage::Return, "return"),
];

static ENABLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    static LAST: Cell<Option<Instant>> = const { Cell::new(None) };
    static TOTALS: Cell<[u64; STAGES.len()]> = const { Cell::new([0; STAGES.len()]) };
    static CALLS: Cell<u64> = const { Cell::new(0) };
}

/// Turns the profile on or off (for every thread).
pub fn enable(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// A call enters: the clock starts.
#[inline]
pub fn start() {
    if ENABLED.load(Ordering::Relaxed) {
        LAST.set(Some(Instant::now()));
        CALLS.set(CALLS.get() + 1);
    }
}

/// `stage` ends now: the time since the last mark is added to it.
#[inline]
pub fn mark(stage: Stage) {
    if ENABLED.load(Ordering::Relaxed) {
        let now = Instant::now();
        if let Some(last) = LAST.get() {
            let mut totals = TOTALS.get();
            totals[stage as usize] += now.duration_since(last).as_nanos() as u64;
            TOTALS.set(totals);
        }
        LAST.set(Some(now));
    }
}

/// The calls started on this thread and each stage's total nanoseconds since the last take,
/// which resets them.
pub fn take() -> (u64, Vec<(&'static str, u64)>) {
    let totals = TOTALS.replace([0; STAGES.len()]);
    let calls = CALLS.replace(0);
    (
        calls,
        STAGES
            .iter()
            .map(|&(stage, name)| (name, totals[stage as usize]))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_add_up_per_call() {
        enable(true);
        let _ = take();
        for _ in 0..3 {
            start();
            mark(Stage::Arguments);
            std::thread::sleep(std::time::Duration::from_millis(2));
            mark(Stage::Launch);
        }
        let (calls, totals) = take();
        enable(false);
        assert_eq!(calls, 3);
        let launch = totals.iter().find(|(name, _)| *name == "launch").unwrap().1;
        assert!(launch >= 6_000_000, "{launch} ns");
        // Off: nothing is counted.
        start();
        mark(Stage::Launch);
        assert_eq!(take().0, 0);
    }
}
