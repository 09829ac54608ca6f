//! Reconnect backoff: 1 s doubling to the cap, plus up to 25 % jitter, reset after `hello-ok`.

use std::time::Duration;

#[derive(Debug)]
pub(super) struct Backoff {
    initial: Duration,
    max: Duration,
    cur: Duration,
}

impl Backoff {
    pub(super) fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            cur: initial,
        }
    }
    pub(super) fn next(&mut self, cap: Duration) -> Duration {
        let d = self.cur.min(cap);
        self.cur = (self.cur * 2).min(self.max);
        use rand::Rng;
        let jitter_ms = (d.as_millis() as u64) / 4;
        let j = if jitter_ms > 0 {
            rand::thread_rng().gen_range(0..=jitter_ms)
        } else {
            0
        };
        d + Duration::from_millis(j)
    }
    pub(super) fn reset(&mut self) {
        self.cur = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_cap_with_bounded_jitter() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        let cap = Duration::from_secs(30);
        let mut prev_base = Duration::from_secs(1);
        for _ in 0..8 {
            let d = b.next(cap);
            assert!(d >= prev_base && d <= prev_base + prev_base / 4, "{d:?}");
            prev_base = (prev_base * 2).min(Duration::from_secs(30));
        }
        assert_eq!(b.cur, Duration::from_secs(30));
        b.reset();
        assert!(b.next(cap) < Duration::from_millis(1251));
        // pairing cap
        let mut b = Backoff::new(Duration::from_secs(8), Duration::from_secs(30));
        assert!(b.next(Duration::from_secs(2)) <= Duration::from_millis(2500));
    }
}
