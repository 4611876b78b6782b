//! Times as the commands print them.

use std::time::{Duration, UNIX_EPOCH};

/// A unix-milliseconds time as RFC 3339 in UTC, to the second.
pub fn format_time(unix_ms: i64) -> String {
    let time = UNIX_EPOCH + Duration::from_millis(unix_ms.max(0) as u64);
    humantime::format_rfc3339_seconds(time).to_string()
}
