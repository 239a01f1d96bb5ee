//! When agents take calls (`agents.hours`, e.g. "mon-fri 09:00-18:00, sat 10:00-14:00", in
//! the contact centre's time, `agents.utc_offset`): outside them a handed-off caller is told
//! when agents are there and booked a callback instead of waiting. Read and judged without IO.

use std::fmt;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAY_NAMES_EN: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const DAY_NAMES_ZH: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];

/// One rule: days (0 = Monday) and minutes of the day, [from, to).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Span {
    first_day: usize,
    last_day: usize,
    from_min: u32,
    to_min: u32,
}

/// Opening hours; none given: always open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hours {
    spans: Vec<Span>,
    /// The contact centre's offset from UTC, in minutes.
    offset_min: i32,
}

fn day(s: &str) -> Result<usize, String> {
    let s = s.trim().to_ascii_lowercase();
    DAYS.iter().position(|d| s.starts_with(d) && s.len() >= 3).ok_or_else(|| format!("{s:?} is not a day (mon, tue, ... sun)"))
}

fn minute(s: &str) -> Result<u32, String> {
    let (h, m) = s.trim().split_once(':').ok_or_else(|| format!("{s:?} is not a time such as 09:00"))?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| format!("{s:?} is not a time"))?, m.parse().map_err(|_| format!("{s:?} is not a time"))?);
    if h > 24 || m > 59 || (h == 24 && m > 0) {
        return Err(format!("{s:?} is not a time of day"));
    }
    Ok(h * 60 + m)
}

/// "+08:00", "-05:30", "" (UTC) as minutes.
fn offset(s: &str) -> Result<i32, String> {
    let s = s.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("z") {
        return Ok(0);
    }
    let (sign, rest) = match s.as_bytes()[0] {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return Err(format!("utc_offset {s:?}: write it as +08:00 or -05:00")),
    };
    let m = minute(rest).map_err(|_| format!("utc_offset {s:?}: write it as +08:00 or -05:00"))? as i32;
    if m > 14 * 60 {
        return Err(format!("utc_offset {s:?} is beyond ±14:00"));
    }
    Ok(sign * m)
}

impl Hours {
    /// Reads `agents.hours` and `agents.utc_offset`.
    pub fn parse(spec: &str, utc_offset: &str) -> Result<Self, String> {
        let mut spans = Vec::new();
        for rule in spec.split([',', ';']).map(str::trim).filter(|r| !r.is_empty()) {
            let (days, times) = rule.split_once(char::is_whitespace).ok_or_else(|| format!("{rule:?}: days then times, such as \"mon-fri 09:00-18:00\""))?;
            let (first_day, last_day) = match days.split_once('-') {
                Some((a, b)) => (day(a)?, day(b)?),
                None => (day(days)?, day(days)?),
            };
            let (from, to) = times.trim().split_once('-').ok_or_else(|| format!("{rule:?}: times as 09:00-18:00"))?;
            let (from_min, to_min) = (minute(from)?, minute(to)?);
            if to_min <= from_min {
                return Err(format!("{rule:?}: the end comes before the start (a span over midnight is two rules)"));
            }
            spans.push(Span { first_day, last_day, from_min, to_min });
        }
        Ok(Self { spans, offset_min: offset(utc_offset)? })
    }

    pub fn always_open(&self) -> bool {
        self.spans.is_empty()
    }

    /// Open at `unix_s` (seconds since the epoch, UTC)?
    pub fn open_at(&self, unix_s: u64) -> bool {
        if self.spans.is_empty() {
            return true;
        }
        let local = unix_s as i64 + self.offset_min as i64 * 60;
        let days = local.div_euclid(86_400);
        // 1970-01-01 was a Thursday (3, Monday being 0).
        let weekday = (days + 3).rem_euclid(7) as usize;
        let minute = (local.rem_euclid(86_400) / 60) as u32;
        self.spans.iter().any(|s| {
            let in_days = if s.first_day <= s.last_day { (s.first_day..=s.last_day).contains(&weekday) } else { weekday >= s.first_day || weekday <= s.last_day };
            in_days && minute >= s.from_min && minute < s.to_min
        })
    }

    /// The hours as the caller is told them, in `lang`.
    pub fn spoken(&self, lang: &str) -> String {
        let names = if lang == "zh" { &DAY_NAMES_ZH } else { &DAY_NAMES_EN };
        let time = |m: u32| format!("{}:{:02}", m / 60, m % 60);
        let parts: Vec<String> = self
            .spans
            .iter()
            .map(|s| {
                let days = if s.first_day == s.last_day { names[s.first_day].to_string() } else if lang == "zh" { format!("{}至{}", names[s.first_day], names[s.last_day]) } else { format!("{} to {}", names[s.first_day], names[s.last_day]) };
                if lang == "zh" {
                    format!("{days}{}到{}", time(s.from_min), time(s.to_min))
                } else {
                    format!("{days}, {} to {}", time(s.from_min), time(s.to_min))
                }
            })
            .collect();
        parts.join(if lang == "zh" { "，" } else { "; " })
    }
}

impl fmt::Display for Hours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.spans.is_empty() {
            return write!(f, "always");
        }
        write!(f, "{}", self.spoken("en"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-01 (a Tuesday) at `h`:`m` UTC.
    fn tue(h: u64, m: u64) -> u64 {
        1_796_083_200 + h * 3600 + m * 60
    }

    #[test]
    fn hours_are_judged_in_the_centres_own_time() {
        let h = Hours::parse("mon-fri 09:00-18:00, sat 10:00-14:00", "+08:00").unwrap();
        // 01:00 UTC is 09:00 in Beijing: open; 10:00 UTC is 18:00 there: closed.
        assert!(h.open_at(tue(1, 0)));
        assert!(!h.open_at(tue(0, 59)));
        assert!(!h.open_at(tue(10, 0)));
        // Saturday 2026-12-05 11:00 Beijing = 03:00 UTC; Sunday closed.
        assert!(h.open_at(tue(3, 0) + 4 * 86_400));
        assert!(!h.open_at(tue(3, 0) + 5 * 86_400));
        assert!(Hours::parse("", "").unwrap().open_at(tue(3, 0)));
        // A week wrapping round: Saturday to Monday.
        let w = Hours::parse("sat-mon 00:00-24:00", "").unwrap();
        assert!(w.open_at(tue(12, 0) - 86_400) && !w.open_at(tue(12, 0)));
    }

    #[test]
    fn hours_are_told_in_the_callers_language_and_bad_ones_refused() {
        let h = Hours::parse("mon-fri 09:00-18:00; sat 10:00-14:00", "-05:00").unwrap();
        assert_eq!(h.spoken("en"), "Monday to Friday, 9:00 to 18:00; Saturday, 10:00 to 14:00");
        assert_eq!(h.spoken("zh"), "周一至周五9:00到18:00，周六10:00到14:00");
        for bad in ["mon-fri", "funday 09:00-10:00", "mon 18:00-09:00", "mon 25:00-26:00", "mon 9-17"] {
            assert!(Hours::parse(bad, "").is_err(), "{bad}");
        }
        assert!(Hours::parse("mon 09:00-10:00", "8").is_err());
        assert!(Hours::parse("mon 09:00-10:00", "+15:00").is_err());
    }
}
