//! How often a drifted resource is healed: Kubernetes' CrashLoopBackOff
//! shape (the first heal at once, then 10 s doubling to 5 min, with
//! jitter, reset after 10 min healthy), and a budget (5 heals in 10 min)
//! after which the resource is given up on until its declaration or the
//! user changes something.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub use crate::model::BackoffPolicy as Policy;

/// What may happen to a drifted resource now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum May {
    /// Heal it.
    Heal,
    /// Not before then.
    WaitUntil(Instant),
    /// Its budget is spent: leave it alone.
    GivenUp,
}

/// One resource's healing history.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: Policy,
    next_delay: Duration,
    not_before: Option<Instant>,
    heals: VecDeque<Instant>,
    healthy_since: Option<Instant>,
    given_up: bool,
}

impl Backoff {
    /// No history.
    pub fn new(policy: Policy) -> Self {
        Backoff {
            policy,
            next_delay: policy.initial,
            not_before: None,
            heals: VecDeque::new(),
            healthy_since: None,
            given_up: false,
        }
    }

    /// Whether it may be healed at `now`.
    pub fn may(&self, now: Instant) -> May {
        if self.given_up {
            return May::GivenUp;
        }
        match self.not_before {
            Some(t) if t > now => May::WaitUntil(t),
            _ => May::Heal,
        }
    }

    /// A heal was made at `now`; `jitter` in [0, 1) spreads the next wait
    /// by up to 10 %. Returns true when this spent the budget.
    pub fn healed(&mut self, now: Instant, jitter: f64) -> bool {
        self.healthy_since = None;
        self.heals.push_back(now);
        while self
            .heals
            .front()
            .is_some_and(|t| now.duration_since(*t) > self.policy.window)
        {
            self.heals.pop_front();
        }
        let spread = self.next_delay.mul_f64(0.1 * jitter.clamp(0.0, 1.0));
        self.not_before = Some(now + self.next_delay + spread);
        self.next_delay = (self.next_delay * 2).min(self.policy.max);
        if self.heals.len() >= self.policy.budget {
            self.given_up = true;
        }
        self.given_up
    }

    /// It was seen as declared at `now`.
    pub fn fine(&mut self, now: Instant) {
        let since = *self.healthy_since.get_or_insert(now);
        if now.duration_since(since) >= self.policy.reset_after && !self.given_up {
            self.next_delay = self.policy.initial;
            self.not_before = None;
            self.heals.clear();
        }
    }

    /// It drifted (again): it is no longer healthy.
    pub fn drifted(&mut self) {
        self.healthy_since = None;
    }

    /// Whether it was given up on.
    pub fn given_up(&self) -> bool {
        self.given_up
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_heal_is_at_once_then_waits_double_to_the_cap() {
        let mut b = Backoff::new(Policy {
            budget: 100,
            ..Policy::default()
        });
        let t0 = Instant::now();
        assert_eq!(b.may(t0), May::Heal);
        b.healed(t0, 0.0);
        assert_eq!(b.may(t0), May::WaitUntil(t0 + Duration::from_secs(10)));
        assert_eq!(b.may(t0 + Duration::from_secs(10)), May::Heal);
        let mut t = t0;
        for expected in [20, 40, 80, 160, 300, 300] {
            t += Duration::from_secs(400);
            b.healed(t, 0.0);
            assert_eq!(b.may(t), May::WaitUntil(t + Duration::from_secs(expected)));
        }
        // Jitter adds at most 10 %.
        b.healed(t, 0.999);
        let May::WaitUntil(until) = b.may(t) else {
            panic!()
        };
        assert!(until - t <= Duration::from_secs(330) && until - t > Duration::from_secs(300));
    }

    #[test]
    fn ten_minutes_healthy_start_over_and_the_budget_gives_up() {
        let mut b = Backoff::new(Policy::default());
        let t0 = Instant::now();
        b.healed(t0, 0.0);
        b.healed(t0 + Duration::from_secs(10), 0.0);
        b.fine(t0 + Duration::from_secs(40));
        b.fine(t0 + Duration::from_secs(40 + 600));
        let t1 = t0 + Duration::from_secs(700);
        assert_eq!(b.may(t1), May::Heal);
        b.healed(t1, 0.0);
        assert_eq!(
            b.may(t1),
            May::WaitUntil(t1 + Duration::from_secs(10)),
            "started over"
        );

        let mut b = Backoff::new(Policy::default());
        let mut t = Instant::now();
        for i in 0..5 {
            let spent = b.healed(t, 0.0);
            assert_eq!(spent, i == 4, "heal {i}");
            t += Duration::from_secs(60);
        }
        assert_eq!(b.may(t + Duration::from_secs(3600)), May::GivenUp);
        b.fine(t + Duration::from_secs(3600));
        assert!(b.given_up(), "given up until something changes");
    }
}

/// The budget's window and the healthy count, beside the waits above.
#[cfg(test)]
mod window_tests {
    use super::*;

    #[test]
    fn only_heals_within_the_window_spend_the_budget() {
        let mut b = Backoff::new(Policy {
            budget: 2,
            ..Policy::default()
        });
        let t0 = Instant::now();
        assert!(!b.healed(t0, 0.0));
        // Eleven minutes later the first heal is out of the window.
        assert!(!b.healed(t0 + Duration::from_secs(660), 0.0));
        assert!(!b.given_up());
        assert!(
            b.healed(t0 + Duration::from_secs(700), 0.0),
            "two within ten minutes"
        );
        assert_eq!(b.may(t0 + Duration::from_secs(10_000)), May::GivenUp);
    }

    #[test]
    fn a_drift_while_healthy_starts_the_healthy_count_over() {
        let policy = Policy {
            budget: 100,
            ..Policy::default()
        };
        let t0 = Instant::now();
        let after = |drift: bool| {
            let mut b = Backoff::new(policy);
            b.healed(t0, 0.0);
            b.fine(t0 + Duration::from_secs(20));
            if drift {
                b.drifted();
            }
            b.fine(t0 + Duration::from_secs(300));
            b.fine(t0 + Duration::from_secs(620));
            let t1 = t0 + Duration::from_secs(630);
            b.healed(t1, 0.0);
            b.may(t1)
        };
        let t1 = t0 + Duration::from_secs(630);
        assert_eq!(
            after(false),
            May::WaitUntil(t1 + Duration::from_secs(10)),
            "ten minutes healthy: started over"
        );
        assert_eq!(
            after(true),
            May::WaitUntil(t1 + Duration::from_secs(20)),
            "only five minutes healthy since the drift: the wait doubles"
        );
    }

    #[test]
    fn jitter_out_of_range_is_held_to_ten_percent() {
        let mut b = Backoff::new(Policy::default());
        let t0 = Instant::now();
        b.healed(t0, 7.5);
        assert_eq!(b.may(t0), May::WaitUntil(t0 + Duration::from_secs(11)));
        let mut b = Backoff::new(Policy::default());
        b.healed(t0, -3.0);
        assert_eq!(b.may(t0), May::WaitUntil(t0 + Duration::from_secs(10)));
    }
}
