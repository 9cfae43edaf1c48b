//! Logging: `tracing` to stderr as text or JSON (`LOG_FORMAT`), filtered by `RUST_LOG`
//! (default `info`), timestamps in `TIME_ZONE`. Nothing logs a secret or a token: the secret
//! type's `Debug` is redacted and request lines carry method, path, status and latency only.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

use crate::config::LogFormat;
use crate::zone::Zone;

/// Renders event times on the operator's wall clock.
struct ZoneTimer(Zone);

impl FormatTime for ZoneTimer {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        let now = self.0.to_local(time::OffsetDateTime::now_utc());
        let (h, m, s, ms) = (now.hour(), now.minute(), now.second(), now.millisecond());
        let offset = now.offset();
        let (oh, om) = (offset.whole_hours(), offset.minutes_past_hour().abs());
        write!(
            w,
            "{}-{:02}-{:02}T{h:02}:{m:02}:{s:02}.{ms:03}{}{:02}:{om:02}",
            now.year(),
            now.month() as u8,
            now.day(),
            if offset.is_negative() { '-' } else { '+' },
            oh.abs()
        )
    }
}

/// Installs the global subscriber (once; later calls, as in tests, are no-ops). JSON puts one
/// object per line with the event's fields at the top level, for log shippers.
pub fn init(zone: &Zone, format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_timer(ZoneTimer(zone.clone()))
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
    };
}
