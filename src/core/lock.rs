//! The per-environment lock that `apply` and `backup` hold while they write: where it lives,
//! what it says about its holder, when it expires. Pure; the shell reads and writes it.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use time::OffsetDateTime;

/// Where the lock of an environment lives (in the stack's SSM home region; AWS refuses names
/// that begin with `ssm`). Outside every
/// parameter path the stack manages or backs up; `is_lock_parameter` keeps it out of backups
/// and restores whatever an environment is called.
pub fn lock_parameter(environment: &str) -> String {
    format!("{LOCK_PREFIX}{environment}")
}

pub const LOCK_PREFIX: &str = "/locks/ssm-keeper/";

/// The claim a run creates (atomically) before it deletes the expired lock `expired_id`: of the
/// runs that found that lock expired, only the one that created the claim may delete it.
pub fn takeover_parameter(environment: &str, expired_id: &str) -> String {
    format!("{}.takeover.{expired_id}", lock_parameter(environment))
}

/// How long a takeover claim lasts: a run that died while taking over does not block the lock.
pub const TAKEOVER_TTL: Duration = Duration::from_secs(60);

pub fn is_lock_parameter(name: &str) -> bool {
    name.starts_with(LOCK_PREFIX)
}

/// How long a lock lasts without renewal: a killed run's lock is taken over after this.
pub const LOCK_TTL: Duration = Duration::from_secs(15 * 60);
/// How often a running command renews its lock.
pub const LOCK_RENEW_EVERY: Duration = Duration::from_secs(5 * 60);

/// The lock's content: who holds it, since and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockInfo {
    pub id: String,
    /// The caller's ARN (STS GetCallerIdentity).
    pub who: String,
    pub host: String,
    pub pid: u32,
    /// The ssm-keeper command (`apply`, `backup`, `restore`, `restore --drill`), never its other
    /// arguments.
    pub command: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires: OffsetDateTime,
}

impl LockInfo {
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expires
    }

    /// The lock as AWS's clock sees it: it expires `ttl` after AWS last wrote it (`modified`,
    /// the parameter's LastModifiedDate), whatever the holder's clock wrote in `expires`.
    pub fn expiring_after(self, modified: OffsetDateTime, ttl: Duration) -> LockInfo {
        LockInfo {
            expires: modified + ttl,
            ..self
        }
    }

    /// The same lock, valid for another `LOCK_TTL` from `now`.
    pub fn renewed(&self, now: OffsetDateTime) -> LockInfo {
        LockInfo {
            expires: now + LOCK_TTL,
            ..self.clone()
        }
    }

    /// Who holds it, for a refusal: enough to find the run and to remove a stale lock.
    pub fn holder(&self, environment: &str) -> String {
        format!(
            "the `{environment}` environment is locked by {} on {} (pid {}, `ssm-keeper {}`) since {}, until {} unless renewed; lock ID {}. Wait for that run (--lock-timeout), or if it is gone: ssm-keeper force-unlock --stack {environment} {}",
            self.who,
            self.host,
            self.pid,
            self.command,
            rfc3339(self.created),
            rfc3339(self.expires),
            self.id,
            self.id
        )
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// Reads a lock parameter's value. Anything unreadable is still a lock: it is reported as held
/// by an unknown holder, never silently taken over.
pub fn parse_lock(value: &str) -> Result<LockInfo, String> {
    serde_json::from_str(value).map_err(|e| format!("the lock holds something unreadable ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn lock() -> LockInfo {
        LockInfo {
            id: "0f6c".into(),
            who: "arn:aws:iam::123456789012:user/ops".into(),
            host: "jenkins-agent-3".into(),
            pid: 4242,
            command: "backup".into(),
            created: datetime!(2026-11-24 13:00 UTC),
            expires: datetime!(2026-11-24 13:15 UTC),
        }
    }

    #[test]
    fn lock_lives_outside_every_environment_path() {
        assert_eq!(lock_parameter("dev"), "/locks/ssm-keeper/dev");
        assert!(is_lock_parameter(&lock_parameter("dev")));
        let claim = takeover_parameter("dev", "0f6c");
        assert_eq!(claim, "/locks/ssm-keeper/dev.takeover.0f6c");
        assert!(is_lock_parameter(&claim));
        assert!(!is_lock_parameter("/jenkins/dev/backup/region-list"));
        // An environment called `locks` would see every lock as its own but for the filter.
        let locks = crate::core::selection::Selection::segment("locks");
        assert!(lock_parameter("dev").contains("/locks/"));
        assert!(!locks.contains(&lock_parameter("dev")));
    }

    #[test]
    fn expiry_and_renewal() {
        let l = lock();
        assert!(!l.is_expired(datetime!(2026-11-24 13:14:59 UTC)));
        assert!(l.is_expired(datetime!(2026-11-24 13:15 UTC)));
        let r = l.renewed(datetime!(2026-11-24 13:10 UTC));
        assert_eq!(r.expires, datetime!(2026-11-24 13:25 UTC));
        assert_eq!((r.id, r.created), (l.id, l.created));
    }

    #[test]
    fn holder_names_who_where_and_how_to_remove_it() {
        let text = lock().holder("prod");
        for part in [
            "arn:aws:iam::123456789012:user/ops",
            "jenkins-agent-3",
            "pid 4242",
            "`ssm-keeper backup`",
            "2026-11-24T13:00:00Z",
            "ssm-keeper force-unlock --stack prod 0f6c",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
    }

    #[test]
    fn lock_round_trips_and_garbage_is_an_error() {
        let text = serde_json::to_string(&lock()).unwrap();
        assert_eq!(parse_lock(&text), Ok(lock()));
        assert!(parse_lock("{").is_err());
    }
}
