//! The plain-data types of Python's standard library that `logging` records
//! carry in `extra` (`datetime`, `date`, `time`, `timedelta`, `timezone`,
//! `Decimal`, `UUID`), read from their pickled state as the text Python
//! prints for them. Nothing is imported or run: the pickle reader allows
//! exactly these names.

/// `datetime.datetime`'s 10-byte state as `isoformat()` text (naive).
pub(crate) fn datetime(state: &[u8]) -> Option<String> {
    let [y1, y2, month, day, h, m, s, u1, u2, u3] = state.try_into().ok()?;
    Some(format!("{}T{}", ymd(y1, y2, month, day)?, hms(h, m, s, micros(u1, u2, u3))?))
}

/// `datetime.date`'s 4-byte state as `isoformat()` text.
pub(crate) fn date(state: &[u8]) -> Option<String> {
    let [y1, y2, month, day] = state.try_into().ok()?;
    ymd(y1, y2, month, day)
}

/// `datetime.time`'s 6-byte state as `isoformat()` text (naive).
pub(crate) fn time(state: &[u8]) -> Option<String> {
    let [h, m, s, u1, u2, u3] = state.try_into().ok()?;
    hms(h, m, s, micros(u1, u2, u3))
}

/// `datetime.timedelta(days, seconds, microseconds)` as `str()` prints it:
/// `[D day[s], ]H:MM:SS[.ffffff]`.
pub(crate) fn timedelta(days: i64, seconds: i64, micros: i64) -> Option<String> {
    if !(0..86_400).contains(&seconds) || !(0..1_000_000).contains(&micros) || days.abs() > 999_999_999 {
        return None;
    }
    let mut out = String::new();
    if days != 0 {
        let plural = if days.abs() == 1 { "" } else { "s" };
        out += &format!("{days} day{plural}, ");
    }
    out += &format!("{}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60);
    if micros != 0 {
        out += &format!(".{micros:06}");
    }
    Some(out)
}

/// A `datetime.timezone` offset as `isoformat()` appends it: `+05:30`,
/// `-08:00`, with seconds and microseconds only when present.
pub(crate) fn utc_offset(days: i64, seconds: i64, micros: i64) -> Option<String> {
    let total = (days.checked_mul(86_400)?.checked_add(seconds)?).checked_mul(1_000_000)?.checked_add(micros)?;
    // Python allows strictly less than a day either way.
    if total.abs() >= 86_400_000_000 {
        return None;
    }
    let sign = if total < 0 { '-' } else { '+' };
    let (whole, us) = (total.abs() / 1_000_000, total.abs() % 1_000_000);
    let mut out = format!("{sign}{:02}:{:02}", whole / 3600, whole / 60 % 60);
    if whole % 60 != 0 || us != 0 {
        out += &format!(":{:02}", whole % 60);
    }
    if us != 0 {
        out += &format!(".{us:06}");
    }
    Some(out)
}

/// A `uuid.UUID`'s 128-bit integer as `str()` prints it.
pub(crate) fn uuid(int: u128) -> String {
    let hex = format!("{int:032x}");
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

fn micros(u1: u8, u2: u8, u3: u8) -> u32 {
    u32::from(u1) << 16 | u32::from(u2) << 8 | u32::from(u3)
}

fn ymd(y1: u8, y2: u8, month: u8, day: u8) -> Option<String> {
    let year = u16::from(y1) << 8 | u16::from(y2);
    ((1..=9999).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day))
        .then(|| format!("{year:04}-{month:02}-{day:02}"))
}

fn hms(h: u8, m: u8, s: u8, us: u32) -> Option<String> {
    if h > 23 || m > 59 || s > 59 || us > 999_999 {
        return None;
    }
    let fraction = if us == 0 { String::new() } else { format!(".{us:06}") };
    Some(format!("{h:02}:{m:02}:{s:02}{fraction}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_python_prints_them() {
        // datetime(2026, 12, 6, 4, 5, 6, 789) and friends, from their __reduce__ state.
        assert_eq!(datetime(&[7, 234, 12, 6, 4, 5, 6, 0, 3, 21]).as_deref(), Some("2026-12-06T04:05:06.000789"));
        assert_eq!(datetime(&[7, 234, 12, 6, 4, 5, 6, 0, 0, 0]).as_deref(), Some("2026-12-06T04:05:06"));
        assert_eq!(date(&[7, 234, 2, 28]).as_deref(), Some("2026-02-28"));
        assert_eq!(time(&[23, 59, 1, 0, 0, 1]).as_deref(), Some("23:59:01.000001"));
        assert_eq!(timedelta(1, 3661, 500_000).as_deref(), Some("1 day, 1:01:01.500000"));
        assert_eq!(timedelta(-1, 86_399, 0).as_deref(), Some("-1 day, 23:59:59"));
        assert_eq!(timedelta(0, 90, 0).as_deref(), Some("0:01:30"));
        assert_eq!(datetime(&[0, 0, 13, 1, 0, 0, 0, 0, 0, 0]), None, "out of range");
        assert_eq!(utc_offset(0, 19_800, 0).as_deref(), Some("+05:30"));
        assert_eq!(utc_offset(-1, 57_600, 0).as_deref(), Some("-08:00"));
        assert_eq!(utc_offset(0, 0, 0).as_deref(), Some("+00:00"));
        assert_eq!(utc_offset(0, 3_661, 5).as_deref(), Some("+01:01:01.000005"));
        assert_eq!(utc_offset(1, 0, 0), None, "a day or more");
        assert_eq!(uuid(0x1234_5678_1234_5678_1234_5678_1234_5678), "12345678-1234-5678-1234-567812345678");
    }
}
