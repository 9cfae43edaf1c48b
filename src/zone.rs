//! The operator's time zone (`TIME_ZONE`), from the IANA database bundled into the binary so it
//! works on hosts without `/usr/share/zoneinfo`. It only renders times for people (logs,
//! `expires_at`); token `exp` values are Unix timestamps and never pass through here.

use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A validated IANA time zone.
#[derive(Clone)]
pub struct Zone {
    name: String,
    tz: jiff::tz::TimeZone,
}

impl Zone {
    /// Looks `name` up in the bundled database; `None` when it is not a zone name.
    pub fn get(name: &str) -> Option<Zone> {
        if name.is_empty() {
            return None;
        }
        jiff::tz::db().get(name).ok().map(|tz| Zone {
            name: name.to_owned(),
            tz,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `t` as seen on a wall clock in this zone.
    pub fn to_local(&self, t: OffsetDateTime) -> OffsetDateTime {
        let offset = jiff::Timestamp::from_second(t.unix_timestamp())
            .map(|ts| self.tz.to_offset(ts).seconds())
            .unwrap_or(0);
        let offset = time::UtcOffset::from_whole_seconds(offset).unwrap_or(time::UtcOffset::UTC);
        t.to_offset(offset)
    }

    /// RFC 3339 in this zone, e.g. `2026-11-28T20:22:48+03:00`.
    pub fn rfc3339(&self, t: OffsetDateTime) -> String {
        self.to_local(t.replace_nanosecond(0).unwrap_or(t))
            .format(&Rfc3339)
            .unwrap_or_default()
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_in_zone_with_dst() {
        let ny = Zone::get("America/New_York").unwrap();
        let winter = OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap(); // 2026-01-01T00:00Z
        assert_eq!(ny.rfc3339(winter), "2025-12-31T19:00:00-05:00");
        let summer = OffsetDateTime::from_unix_timestamp(1_782_864_000).unwrap(); // 2026-07-01T00:00Z
        assert_eq!(ny.rfc3339(summer), "2026-06-30T20:00:00-04:00");
        let msk = Zone::get("Europe/Moscow").unwrap();
        assert_eq!(msk.rfc3339(winter), "2026-01-01T03:00:00+03:00");
    }

    #[test]
    fn rejects_unknown_names() {
        assert!(Zone::get("Mars/Olympus").is_none());
        assert!(Zone::get("").is_none());
    }
}
