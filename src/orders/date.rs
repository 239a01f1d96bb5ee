//! Calendar days, as the order rules need them: days since 1970-01-01 and ISO dates
//! (Howard Hinnant's civil-from-days algorithms).

use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(pub i64);

impl Day {
    pub fn today() -> Self {
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        Day(secs.div_euclid(86_400))
    }

    pub fn plus(self, days: i64) -> Self {
        Day(self.0 + days)
    }

    pub fn days_until(self, later: Day) -> i64 {
        later.0 - self.0
    }

    pub fn iso(self) -> String {
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
        format!("{y:04}-{m:02}-{d:02}")
    }

    /// Parses `YYYY-MM-DD` (a longer timestamp is cut to its date).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.get(..10)?;
        let mut it = s.split('-');
        let (y, m, d): (i64, i64, i64) = (it.next()?.parse().ok()?, it.next()?.parse().ok()?, it.next()?.parse().ok()?);
        if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
            return None;
        }
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = if m > 2 { m - 3 } else { m + 9 };
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Some(Day(era * 146_097 + doe - 719_468))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_iso_dates() {
        assert_eq!(Day(0).iso(), "1970-01-01");
        assert_eq!(Day::parse("2026-11-21").map(|d| d.iso()).as_deref(), Some("2026-11-21"));
        assert_eq!(Day::parse("2024-02-29T10:00:00Z").map(|d| d.plus(1).iso()).as_deref(), Some("2024-03-01"));
        assert_eq!(Day::parse("2026-13-01"), None);
        assert_eq!(Day::parse("soon"), None);
    }
}
