//! What a customer handed to a person is told about when that person will reply: the
//! expected wait while the team is in, and when it is back while it is away.

use std::fmt;
use std::time::Duration;

use frontdesk_core::Channel;
use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

/// The week in the order business hours are written, Monday first.
pub const WEEKDAYS: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HoursError {
    #[error("`{0}` is not a time zone name such as Europe/London or America/New_York")]
    UnknownTimeZone(String),
    #[error("`{0}` is not opening hours: write them as 09:00-17:30, or `closed`")]
    BadHours(String),
    #[error("`{0}` closes before it opens; hours past midnight are not supported")]
    ClosesBeforeOpening(String),
}

/// When the team is in, per weekday, in the business's own time zone.
#[derive(Clone)]
pub struct BusinessHours {
    zone: TimeZone,
    zone_name: String,
    /// Monday first; `None` for a day the team is away all day.
    days: [Option<(Time, Time)>; 7],
}

impl fmt::Debug for BusinessHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BusinessHours")
            .field("zone", &self.zone_name)
            .field("days", &self.days)
            .finish()
    }
}

impl BusinessHours {
    /// `days` holds one entry per weekday, Monday first: `09:00-17:30` or `closed`.
    pub fn new(zone_name: &str, days: [&str; 7]) -> Result<Self, HoursError> {
        let zone = TimeZone::get(zone_name)
            .map_err(|_| HoursError::UnknownTimeZone(zone_name.to_string()))?;
        let mut parsed = [None; 7];
        for (slot, text) in parsed.iter_mut().zip(days) {
            *slot = parse_day(text)?;
        }
        Ok(Self {
            zone,
            zone_name: zone_name.to_string(),
            days: parsed,
        })
    }

    pub fn zone_name(&self) -> &str {
        &self.zone_name
    }

    /// Whether the team is in at `now`, and if not, when it is next.
    pub fn at(&self, now: Timestamp) -> TeamIs {
        let here = now.to_zoned(self.zone.clone());
        let today = here.date();
        // Eight days: from later today round to the same weekday next week.
        for ahead in 0..8 {
            let Ok(date) = today.checked_add(jiff::Span::new().days(ahead)) else {
                break;
            };
            let Some((opens, closes)) = self.day(date.weekday()) else {
                continue;
            };
            let Ok(opening) = date.to_datetime(opens).to_zoned(self.zone.clone()) else {
                continue;
            };
            if ahead == 0 {
                let Ok(closing) = date.to_datetime(closes).to_zoned(self.zone.clone()) else {
                    continue;
                };
                if here >= opening && here < closing {
                    return TeamIs::In;
                }
            }
            if opening > here {
                return TeamIs::BackAt(opening);
            }
        }
        // Closed every day of the week: there is no "back at" to promise.
        TeamIs::NeverIn
    }

    /// The business's time zone.
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// How much of the time from `start` to `end` the team was in: what a customer's wait
    /// for a person costs the team, nights and weekends left out. Zero when `end` is not
    /// after `start`.
    pub fn open_time_between(&self, start: Timestamp, end: Timestamp) -> Duration {
        if end <= start {
            return Duration::ZERO;
        }
        let first_day = start.to_zoned(self.zone.clone()).date();
        let last_day = end.to_zoned(self.zone.clone()).date();
        let mut open_ms: i64 = 0;
        let mut date = first_day;
        while date <= last_day {
            if let Some((opens, closes)) = self.day(date.weekday()) {
                let instant = |date: jiff::civil::Date, time: Time| {
                    date.to_datetime(time)
                        .to_zoned(self.zone.clone())
                        .map(|zoned| zoned.timestamp())
                };
                // "24:00" is kept as the last instant of the day; it closes at the next
                // midnight, or each day would lose a millisecond.
                let closing = match closes == Time::MAX {
                    true => date.tomorrow().and_then(|next| instant(next, Time::MIN)),
                    false => instant(date, closes),
                };
                if let (Ok(opening), Ok(closing)) = (instant(date, opens), closing) {
                    let from = opening.max(start);
                    let until = closing.min(end);
                    if until > from {
                        open_ms += until.as_millisecond() - from.as_millisecond();
                    }
                }
            }
            let Ok(next) = date.tomorrow() else { break };
            date = next;
        }
        Duration::from_millis(u64::try_from(open_ms).unwrap_or_default())
    }

    fn day(&self, weekday: Weekday) -> Option<(Time, Time)> {
        let index = weekday.to_monday_zero_offset() as usize;
        self.days[index]
    }
}

/// Where the team is at some moment, by its business hours.
#[derive(Debug, Clone, PartialEq)]
pub enum TeamIs {
    In,
    /// Away; in again at this time.
    BackAt(Zoned),
    /// Every day is written as closed.
    NeverIn,
}

fn parse_day(text: &str) -> Result<Option<(Time, Time)>, HoursError> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("closed") {
        return Ok(None);
    }
    let bad = || HoursError::BadHours(text.to_string());
    let (opens, closes) = text.split_once('-').ok_or_else(bad)?;
    let time = |part: &str| -> Result<Time, HoursError> {
        let (hour, minute) = part.trim().split_once(':').ok_or_else(bad)?;
        let hour: i8 = hour.parse().map_err(|_| bad())?;
        let minute: i8 = minute.parse().map_err(|_| bad())?;
        // 24:00 closes at midnight.
        if (hour, minute) == (24, 0) {
            return Ok(Time::MAX);
        }
        Time::new(hour, minute, 0, 0).map_err(|_| bad())
    };
    let (opens, closes) = (time(opens)?, time(closes)?);
    if closes <= opens {
        return Err(HoursError::ClosesBeforeOpening(text.to_string()));
    }
    Ok(Some((opens, closes)))
}

/// What the server knows about when a person replies after a handoff.
#[derive(Debug, Clone, Default)]
pub struct HandoffSettings {
    /// `None`: the team is taken to be in at all hours.
    pub business_hours: Option<BusinessHours>,
    /// Channels whose inbox keeps other hours than `business_hours` (a WhatsApp line
    /// answered into the evening, say).
    pub channel_hours: Vec<(Channel, BusinessHours)>,
    /// The wait to quote while the team is in. `None`: measured from recent handoffs,
    /// and not quoted until there are enough of them.
    pub expected_wait: Option<Duration>,
}

impl HandoffSettings {
    /// The hours a person answers `channel` in: its own, else the business's.
    pub fn hours_for(&self, channel: Channel) -> Option<&BusinessHours> {
        self.channel_hours
            .iter()
            .find(|(kept, _)| *kept == channel)
            .map(|(_, hours)| hours)
            .or(self.business_hours.as_ref())
    }

    /// Like [`HandoffSettings::hours_for`], for a channel by the name the store keeps;
    /// a name this version does not know gets the business's hours.
    pub fn hours_for_name(&self, channel: &str) -> Option<&BusinessHours> {
        match channel.parse::<Channel>() {
            Ok(channel) => self.hours_for(channel),
            Err(_) => self.business_hours.as_ref(),
        }
    }

    /// The business's time zone, which days are counted in: UTC without hours.
    pub fn zone(&self) -> TimeZone {
        self.business_hours
            .as_ref()
            .map_or(TimeZone::UTC, |hours| hours.zone().clone())
    }
}

/// The sentence added to the assistant's handoff message on `channel`, if there is
/// anything honest to add: when the team is back, or how long a reply usually takes.
pub fn handoff_notice(
    settings: &HandoffSettings,
    channel: Channel,
    measured_wait: Option<Duration>,
    now: Timestamp,
) -> Option<String> {
    if let Some(hours) = settings.hours_for(channel) {
        match hours.at(now) {
            TeamIs::In => {}
            TeamIs::BackAt(opening) => {
                let here = now.to_zoned(opening.time_zone().clone());
                return Some(format!(
                    "Our team is away right now and back {}, {} time; they will reply \
                     here then.",
                    describe_opening(&opening, &here),
                    hours.zone_name()
                ));
            }
            TeamIs::NeverIn => return None,
        }
    }
    let wait = settings.expected_wait.or(measured_wait)?;
    Some(format!(
        "A reply usually takes about {}.",
        describe_wait(wait)
    ))
}

/// "today at 13:00", "tomorrow at 09:00", "on Monday at 09:00".
fn describe_opening(opening: &Zoned, now: &Zoned) -> String {
    let at = format!("{:02}:{:02}", opening.hour(), opening.minute());
    let days = (opening.date() - now.date()).get_days();
    match days {
        0 => format!("today at {at}"),
        1 => format!("tomorrow at {at}"),
        _ => format!("on {} at {at}", weekday_name(opening.weekday())),
    }
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

/// A wait rounded the way people say it: "5 minutes", "an hour", "3 hours".
fn describe_wait(wait: Duration) -> String {
    let minutes = (wait.as_secs() as f64 / 60.0).round().max(1.0) as u64;
    match minutes {
        1 => "a minute".to_string(),
        2..=59 => {
            // Past ten minutes, to the nearest five: a quote, not a stopwatch.
            let rounded = if minutes > 10 {
                (minutes + 2) / 5 * 5
            } else {
                minutes
            };
            format!("{rounded} minutes")
        }
        60..=89 => "an hour".to_string(),
        _ => format!("{} hours", (minutes + 30) / 60),
    }
}

/// The middle of the recent waits for a first human reply, once there are enough of them
/// to mean something.
pub fn typical_wait(mut waits_ms: Vec<i64>) -> Option<Duration> {
    /// Fewer than this many recent handoffs say too little to quote a wait.
    const ENOUGH: usize = 5;
    waits_ms.retain(|wait| *wait >= 0);
    if waits_ms.len() < ENOUGH {
        return None;
    }
    waits_ms.sort_unstable();
    let middle = waits_ms[waits_ms.len() / 2];
    Some(Duration::from_millis(middle as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFICE: [&str; 7] = [
        "09:00-17:30",
        "09:00-17:30",
        "09:00-17:30",
        "09:00-17:30",
        "09:00-13:00",
        "closed",
        "closed",
    ];

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn hours() -> BusinessHours {
        BusinessHours::new("Europe/London", OFFICE).unwrap()
    }

    #[test]
    fn open_time_counts_only_the_hours_the_team_is_in() {
        let hours = hours();
        let minutes =
            |start: &str, end: &str| hours.open_time_between(at(start), at(end)).as_secs() / 60;

        // Handed off on a Saturday, answered at 09:30 on Monday: half an hour of work time.
        assert_eq!(minutes("2026-03-07T11:00:00Z", "2026-03-09T09:30:00Z"), 30);
        // Within one working day, and across the evening into the next morning.
        assert_eq!(minutes("2026-03-09T10:00:00Z", "2026-03-09T10:45:00Z"), 45);
        assert_eq!(minutes("2026-03-09T17:00:00Z", "2026-03-10T09:15:00Z"), 45);
        // A Friday closes at 13:00; the weekend adds nothing.
        assert_eq!(minutes("2026-03-13T12:00:00Z", "2026-03-16T09:00:00Z"), 60);
        // Summer time: London is at UTC+1, so 09:00 there is 08:00 UTC.
        assert_eq!(minutes("2026-06-06T12:00:00Z", "2026-06-08T08:20:00Z"), 20);
        // Backwards or empty: nothing.
        assert_eq!(minutes("2026-03-09T10:00:00Z", "2026-03-09T09:00:00Z"), 0);
    }

    fn notice(now: &str) -> Option<String> {
        let settings = HandoffSettings {
            business_hours: Some(hours()),
            channel_hours: Vec::new(),
            expected_wait: Some(Duration::from_secs(20 * 60)),
        };
        handoff_notice(&settings, Channel::Widget, None, at(now))
    }

    #[test]
    fn inside_hours_the_wait_is_quoted() {
        // Wednesday 10:00 in London (summer time, UTC+1).
        let text = notice("2026-07-01T09:00:00Z").unwrap();
        assert_eq!(text, "A reply usually takes about 20 minutes.");
    }

    #[test]
    fn outside_hours_the_customer_is_told_when_the_team_is_back() {
        // Wednesday 18:00 in London.
        let text = notice("2026-07-01T17:00:00Z").unwrap();
        assert!(
            text.contains("back tomorrow at 09:00, Europe/London time"),
            "{text}"
        );
        // Friday 14:00: closed until Monday.
        let text = notice("2026-07-03T13:00:00Z").unwrap();
        assert!(text.contains("back on Monday at 09:00"), "{text}");
        // Monday 07:00 in winter (UTC+0): later today.
        let text = notice("2026-01-05T07:00:00Z").unwrap();
        assert!(text.contains("back today at 09:00"), "{text}");
    }

    #[test]
    fn without_a_wait_to_quote_nothing_is_promised() {
        let settings = HandoffSettings::default();
        assert_eq!(
            handoff_notice(&settings, Channel::Widget, None, at("2026-07-01T09:00:00Z")),
            None
        );
        let measured = Some(Duration::from_secs(3 * 3600));
        let text = handoff_notice(
            &settings,
            Channel::Widget,
            measured,
            at("2026-07-01T09:00:00Z"),
        )
        .unwrap();
        assert_eq!(text, "A reply usually takes about 3 hours.");
    }

    #[test]
    fn bad_hours_are_named() {
        assert_eq!(
            BusinessHours::new("Mars/Olympus", OFFICE).unwrap_err(),
            HoursError::UnknownTimeZone("Mars/Olympus".to_string())
        );
        let mut days = OFFICE;
        days[2] = "9am-5pm";
        assert_eq!(
            BusinessHours::new("UTC", days).unwrap_err(),
            HoursError::BadHours("9am-5pm".to_string())
        );
        days[2] = "17:00-09:00";
        assert!(matches!(
            BusinessHours::new("UTC", days),
            Err(HoursError::ClosesBeforeOpening(_))
        ));
        days[2] = "00:00-24:00";
        assert!(BusinessHours::new("UTC", days).is_ok());
    }

    #[test]
    fn waits_are_said_as_people_say_them() {
        let minutes = |m: u64| describe_wait(Duration::from_secs(m * 60));
        assert_eq!(minutes(0), "a minute");
        assert_eq!(minutes(7), "7 minutes");
        assert_eq!(minutes(23), "25 minutes");
        assert_eq!(minutes(70), "an hour");
        assert_eq!(minutes(200), "3 hours");
        assert_eq!(typical_wait(vec![1, 2, 3]), None);
        assert_eq!(
            typical_wait(vec![60_000, 1, 120_000, 90_000, 30_000]),
            Some(Duration::from_millis(60_000))
        );
    }
}
