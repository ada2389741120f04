//! Wall-clock stamps for run ids and results, in UTC, without a date library.

use std::time::{SystemTime, UNIX_EPOCH};

/// (year, month, day, hour, minute, second) in UTC for `secs` since the epoch.
fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem / 60 % 60) as u32,
        (rem % 60) as u32,
    )
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// RFC 3339, e.g. 2026-11-29T03:44:38Z.
pub fn rfc3339_now() -> String {
    let (y, mo, d, h, mi, s) = civil(now_secs());
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// A run id that sorts by time: 20261129-034438-<4 hex digits of the token>.
pub fn run_id(salt: &str) -> String {
    let (y, mo, d, h, mi, s) = civil(now_secs());
    let tail: String = salt.chars().take(4).collect();
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}-{tail}")
}

#[cfg(test)]
mod tests {
    use super::civil;

    #[test]
    fn known_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        // 2026-11-29T03:44:38Z
        assert_eq!(civil(1_795_923_878), (2026, 11, 29, 3, 44, 38));
        // 2000-02-29T12:00:00Z, a leap day.
        assert_eq!(civil(951_825_600), (2000, 2, 29, 12, 0, 0));
    }
}
