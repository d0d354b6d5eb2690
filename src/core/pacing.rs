//! Pacing to a throughput quota: one lane per region and API class, each request given a slot
//! in time. AWS meters SSM per region and API class with token buckets whose rates it does not
//! always announce, and shares them with the applications that read their parameters. A lane
//! starts at the ceiling (`--max-rps`) or else the class's default quota, slows down by a fifth when AWS answers
//! ThrottlingException (once per round of requests in flight), and grows back by a tenth a
//! second while AWS accepts, never above the ceiling (`--max-rps`).
//!
//! Pure: the time is passed in; the shell sleeps until the slot.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// What a throttled lane keeps of its rate.
pub const SLOWDOWN: f64 = 0.8;
/// How much a lane grows in a second while AWS accepts.
pub const GROWTH_PER_SECOND: f64 = 1.1;
/// The slowest a lane goes, in requests a second.
pub const MIN_RATE: f64 = 0.2;

/// AWS's default throughput quota of an SSM API class (requests a second), where AWS publishes
/// one: GetParameter, GetParameters and GetParametersByPath share 40, PutParameter has 3 (more
/// with higher throughput: the lane grows to it).
pub fn default_quota(class: &str) -> Option<f64> {
    match class {
        READS => Some(40.0),
        "PutParameter" => Some(3.0),
        // AWS publishes no quota for it: start low, grow while AWS accepts.
        "GetParameterHistory" => Some(HISTORY_START_RATE),
        _ => None,
    }
}

/// Where the lane of GetParameterHistory starts, in requests a second (no published quota).
pub const HISTORY_START_RATE: f64 = 5.0;

/// The class of the reads of values.
pub const READS: &str = "reads";

/// The API class an SSM operation is metered in: GetParameter, GetParameters and
/// GetParametersByPath together; every other operation on its own.
pub fn ssm_class(operation: &str) -> &str {
    match operation {
        "GetParameter" | "GetParameters" | "GetParametersByPath" => READS,
        other => other,
    }
}

/// One region's API class.
#[derive(Debug)]
pub struct Lane {
    /// Requests a second; `None`: not paced (no ceiling, no known quota, never throttled).
    rate: Option<f64>,
    /// The next free slot.
    next: Instant,
    /// When the lane last slowed down: requests sent before it do not slow it again.
    slowed_at: Option<Instant>,
    /// When the rate last grew.
    grown_at: Instant,
    /// The slots given in the last second (what an unpaced lane slows down from).
    recent: VecDeque<Instant>,
}

impl Lane {
    /// A lane of `class`, starting at the ceiling when there is one (the operator knows the
    /// account's quotas: raised ones, or a share left to the applications), else at the class's
    /// default quota.
    pub fn new(class: &str, ceiling: Option<f64>, now: Instant) -> Self {
        let rate = ceiling.or_else(|| default_quota(class));
        Lane {
            rate,
            next: now,
            slowed_at: None,
            grown_at: now,
            recent: VecDeque::new(),
        }
    }

    /// The rate now, if paced.
    pub fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// Reserves a slot for one request, at most `ceiling` a second: when it may go.
    pub fn reserve(&mut self, now: Instant, ceiling: Option<f64>) -> Instant {
        self.grow(now, ceiling);
        let slot = match self.rate {
            None => now,
            Some(rate) => {
                let slot = self.next.max(now);
                self.next = slot + Duration::from_secs_f64(1.0 / rate);
                slot
            }
        };
        while self
            .recent
            .front()
            .is_some_and(|at| now.saturating_duration_since(*at) > Duration::from_secs(1))
        {
            self.recent.pop_front();
        }
        self.recent.push_back(slot);
        slot
    }

    /// Grows the rate by the time since it last grew, at most a second of it: a lane grows
    /// while it is used and AWS accepts, not while idle (an idle lane would come back unpaced).
    fn grow(&mut self, now: Instant, ceiling: Option<f64>) {
        let seconds = now
            .saturating_duration_since(self.grown_at)
            .as_secs_f64()
            .min(1.0);
        self.grown_at = now;
        self.rate = match (self.rate, ceiling) {
            (Some(rate), ceiling) => {
                let grown = rate * GROWTH_PER_SECOND.powf(seconds);
                Some(ceiling.map_or(grown, |c| grown.min(c)))
            }
            (None, ceiling) => ceiling,
        };
    }

    /// AWS throttled a request that went at `sent`: slow down, unless the lane already slowed
    /// down since that request went (one answer per round of requests in flight).
    pub fn throttled(&mut self, sent: Instant, now: Instant) {
        if self.slowed_at.is_some_and(|at| sent < at) {
            return;
        }
        let recent = self.recent.len().max(1) as f64;
        let current = self.rate.map_or(recent, |rate| rate.min(recent));
        let rate = (current * SLOWDOWN).max(MIN_RATE);
        self.rate = Some(rate);
        self.slowed_at = Some(now);
        self.grown_at = now;
        self.next = self.next.max(now + Duration::from_secs_f64(1.0 / rate));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn classes_follow_aws_quotas() {
        for op in ["GetParameter", "GetParameters", "GetParametersByPath"] {
            assert_eq!(ssm_class(op), READS);
        }
        assert_eq!(ssm_class("PutParameter"), "PutParameter");
        assert_eq!(ssm_class("DescribeParameters"), "DescribeParameters");
        assert_eq!(default_quota(READS), Some(40.0));
        assert_eq!(default_quota("PutParameter"), Some(3.0));
        assert_eq!(default_quota("DescribeParameters"), None);
    }

    #[test]
    fn a_lane_starts_at_the_ceiling_else_at_the_known_quota() {
        let now = Instant::now();
        assert_eq!(
            Lane::new("PutParameter", Some(20.0), now).rate(),
            Some(20.0)
        );
        assert_eq!(Lane::new("PutParameter", Some(2.0), now).rate(), Some(2.0));
        assert_eq!(Lane::new("PutParameter", None, now).rate(), Some(3.0));
        assert_eq!(Lane::new(READS, None, now).rate(), Some(40.0));
        assert_eq!(
            Lane::new("DescribeParameters", Some(20.0), now).rate(),
            Some(20.0)
        );
        assert_eq!(Lane::new("DescribeParameters", None, now).rate(), None);
    }

    #[test]
    fn slots_are_spaced_evenly_at_the_rate() {
        let now = Instant::now();
        let mut lane = Lane::new("PutParameter", Some(2.0), now);
        let slots: Vec<Instant> = (0..4).map(|_| lane.reserve(now, Some(2.0))).collect();
        assert_eq!(
            slots,
            [at(now, 0), at(now, 500), at(now, 1000), at(now, 1500)]
        );
    }

    #[test]
    fn an_unpaced_lane_sends_at_once_until_throttled_then_slows_from_what_it_sent() {
        let now = Instant::now();
        let mut lane = Lane::new("DescribeParameters", None, now);
        for _ in 0..10 {
            assert_eq!(lane.reserve(now, None), now);
        }
        lane.throttled(now, at(now, 50));
        assert_eq!(
            lane.rate(),
            Some(8.0),
            "a fifth less than the 10 sent in the last second"
        );
        assert!(lane.reserve(at(now, 50), None) >= at(now, 50 + 125));
    }

    #[test]
    fn a_round_of_throttled_requests_slows_the_lane_once() {
        let now = Instant::now();
        let mut lane = Lane::new("PutParameter", None, now);
        let sent: Vec<Instant> = (0..4).map(|_| lane.reserve(now, None)).collect();
        // The four answered after the last went (at 1 s), the first answer slows the lane.
        lane.throttled(sent[0], at(now, 1050));
        let once = lane.rate().unwrap();
        assert!((once - 2.4).abs() < 1e-9, "{once}");
        for s in &sent[1..] {
            lane.throttled(*s, at(now, 1060));
        }
        assert_eq!(
            lane.rate(),
            Some(once),
            "sent before it slowed down: no second time"
        );
        // A request sent after it slowed down is news.
        let later = lane.reserve(at(now, 1100), None);
        lane.throttled(later, at(now, 3000));
        assert!(lane.rate().unwrap() < once);
    }

    #[test]
    fn a_lane_grows_back_while_accepted_never_above_the_ceiling_nor_below_the_floor() {
        let now = Instant::now();
        let mut lane = Lane::new("PutParameter", None, now);
        for second in 1..=10 {
            lane.reserve(at(now, second * 1000), Some(5.0));
        }
        assert_eq!(
            lane.rate(),
            Some(5.0),
            "grown to the ceiling and no further"
        );
        let mut lane = Lane::new("PutParameter", None, now);
        lane.reserve(at(now, 1000), None);
        let grown = lane.rate().unwrap();
        assert!((grown - 3.3).abs() < 1e-9, "{grown}");
        lane.reserve(at(now, 600_000), None);
        let idle = lane.rate().unwrap();
        assert!(
            (idle - 3.63).abs() < 1e-9,
            "ten idle minutes count as one second: {idle}"
        );
        let mut t = 601_000;
        for _ in 0..100 {
            let sent = lane.reserve(at(now, t), None);
            t += 100;
            lane.throttled(sent, at(now, t));
        }
        assert_eq!(lane.rate(), Some(MIN_RATE));
    }
}
