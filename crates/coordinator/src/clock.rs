//! Wall-clock stamps for run ids and results, in UTC (the `time` crate).

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// Whole seconds: results say when to the second.
fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// RFC 3339, e.g. 2026-11-29T03:44:38Z.
pub fn rfc3339_now() -> String {
    rfc3339(now())
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// A run id that sorts by time: 20261129-034438-<4 hex digits of the token>.
pub fn run_id(salt: &str) -> String {
    stamped(now(), salt)
}

fn stamped(t: OffsetDateTime, salt: &str) -> String {
    let stamp = t
        .format(format_description!(
            "[year][month][day]-[hour][minute][second]"
        ))
        .unwrap_or_default();
    let tail: String = salt.chars().take(4).collect();
    format!("{stamp}-{tail}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn stamps_read_as_before() {
        // 2026-11-29T03:44:38Z
        let t = OffsetDateTime::from_unix_timestamp(1_795_923_878).unwrap();
        assert_eq!(rfc3339(t), "2026-11-29T03:44:38Z");
        assert_eq!(stamped(t, "ab12cd"), "20261129-034438-ab12");
        let leap = OffsetDateTime::from_unix_timestamp(951_825_600).unwrap();
        assert_eq!(rfc3339(leap), "2000-02-29T12:00:00Z");
        assert!(rfc3339_now().ends_with('Z'));
    }
}
