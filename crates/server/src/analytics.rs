//! The owner's figures for a period: how many conversations the assistant resolved without
//! a person, how many it handed off, how quickly customers got a first response (from the
//! assistant, and from a person counted in business hours), the volume by channel and
//! day, and the questions it could not answer, grouped.
//!
//! Every figure is defined once here, in [`DEFINITIONS`], and the pages and the command
//! line show that text beside it. Periods are whole days in the business's time zone;
//! each conversation's outcome is counted in the period it happened in, not the one the
//! conversation began in.

use std::collections::BTreeMap;
use std::time::Duration;

use frontdesk_store::{
    ConversationFacts, Satisfaction, Store, StoreError, UnansweredQuestion, VolumeSlot,
};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;

use crate::hours::{BusinessHours, HandoffSettings};

/// A customer who writes again within this long after an answer was not helped by it.
pub const QUIET_AFTER_ANSWER: Duration = Duration::from_secs(24 * 60 * 60);

/// "Asked for a person early": at most this many customer messages before the handoff.
pub const EARLY_REQUEST_MESSAGES: i64 = 3;

/// The longest period one report covers.
pub const MAX_PERIOD_DAYS: i32 = 366;

/// Unanswered questions shown, as groups of similar ones.
const QUESTION_GROUPS_SHOWN: usize = 10;
/// Two questions belong together when this share of their words is shared.
const SAME_QUESTION_OVERLAP: f64 = 0.5;

/// What each figure means, in the words the pages show beside it.
pub const DEFINITIONS: &[(&str, &str)] = &[
    (
        "resolved_without_person",
        "A conversation counts as resolved without a person when the assistant answered, no \
         person replied, nobody handed it off, and the customer did not write again within \
         24 hours of the last answer. It counts on the day of that answer.",
    ),
    (
        "resolution_rate",
        "Conversations resolved without a person, out of every conversation with an outcome \
         in the period: resolved without a person, handed off, taken over by a person, or left \
         without an answer (the customer's last message unanswered for 24 hours).",
    ),
    (
        "escalation_rate",
        "Conversations the assistant handed to a person, out of the same conversations. A \
         handoff counts on the day it happened.",
    ),
    (
        "open",
        "Conversations with no outcome yet: nobody handed them off and no person replied, and \
         the customer wrote or was answered less than 24 hours ago. A person may have marked \
         one resolved without replying; it gets its outcome once the 24 hours have passed.",
    ),
    (
        "resolved_by_team",
        "Conversations a person marked resolved in the period, after a handoff or after \
         replying themselves. It counts on the day it was marked resolved.",
    ),
    (
        "first_response_assistant",
        "From a conversation's first customer message to the assistant's first reply of any \
         kind, for conversations whose first message arrived in the period.",
    ),
    (
        "first_response_human",
        "From a handoff to the first reply a person sent, counting only business hours, for \
         handoffs in the period. Handoffs still without a reply are counted as waiting.",
    ),
    (
        "asked_for_person_early",
        "Handoffs in the period because the customer asked for a person within their first \
         three messages.",
    ),
    (
        "volume",
        "Messages customers sent in the period, by the day they arrived (in the business's \
         time zone) and by channel.",
    ),
    (
        "unanswered",
        "Customer messages in the period that the assistant handed off or asked back about \
         because it was unsure or had nothing to answer from, grouped when they share most \
         of their words.",
    ),
    (
        "satisfaction",
        "Ratings customers gave in the period, from 1 (very poor) to 5 (very good), to the one \
         question asked once their conversation was resolved: in the chat on the widget, by a \
         link in the resolution message on other channels (when the server's public \
         address is set). Satisfied means 4 or 5, out of \
         every rating; a customer who rates again replaces their rating.",
    ),
];

/// The text that defines `figure`, as the pages show it.
pub fn definition(figure: &str) -> &'static str {
    DEFINITIONS
        .iter()
        .find(|(name, _)| *name == figure)
        .map_or("", |(_, text)| text)
}

impl PeriodError {
    /// The query field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            PeriodError::BadDate { field, .. } => field,
            PeriodError::EndsBeforeItBegins { .. } | PeriodError::TooLong => "to",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PeriodError {
    #[error("`{text}` is not a date: write {field} as YYYY-MM-DD")]
    BadDate { field: &'static str, text: String },
    #[error("the period ends ({to}) before it begins ({from})")]
    EndsBeforeItBegins { from: Date, to: Date },
    #[error("the period is longer than {MAX_PERIOD_DAYS} days")]
    TooLong,
}

/// Whole days, `from` to `to` both included, in a time zone.
#[derive(Debug, Clone)]
pub struct Period {
    pub from: Date,
    pub to: Date,
    zone: TimeZone,
}

impl Period {
    pub fn new(from: Date, to: Date, zone: TimeZone) -> Result<Self, PeriodError> {
        if to < from {
            return Err(PeriodError::EndsBeforeItBegins { from, to });
        }
        let days = from
            .until(to)
            .map(|span| span.get_days())
            .unwrap_or(i32::MAX);
        if days >= MAX_PERIOD_DAYS {
            return Err(PeriodError::TooLong);
        }
        Ok(Self { from, to, zone })
    }

    /// From a query string's `from` and `to`, each defaulting to the `default_days` that
    /// end today.
    pub fn from_query(
        from: Option<&str>,
        to: Option<&str>,
        default_days: i32,
        zone: TimeZone,
    ) -> Result<Self, PeriodError> {
        let recent = Period::last_days(Timestamp::now(), default_days, zone.clone());
        let from = from.map_or_else(|| recent.from.to_string(), str::to_string);
        let to = to.map_or_else(|| recent.to.to_string(), str::to_string);
        Self::parse(&from, &to, zone)
    }

    /// From text such as `2026-03-02`, as a query string or a command line gives it.
    pub fn parse(from: &str, to: &str, zone: TimeZone) -> Result<Self, PeriodError> {
        let date = |field: &'static str, text: &str| {
            let bad = || PeriodError::BadDate {
                field,
                text: text.to_string(),
            };
            let text = text.trim();
            // Exactly YYYY-MM-DD: the parser would also take signed years and times.
            let shaped = text.len() == 10
                && text.char_indices().all(|(i, c)| {
                    if i == 4 || i == 7 {
                        c == '-'
                    } else {
                        c.is_ascii_digit()
                    }
                });
            if !shaped {
                return Err(bad());
            }
            text.parse::<Date>().map_err(|_| bad())
        };
        Self::new(date("from", from)?, date("to", to)?, zone)
    }

    /// The `days` days that end with the day of `now`.
    pub fn last_days(now: Timestamp, days: i32, zone: TimeZone) -> Self {
        let to = now.to_zoned(zone.clone()).date();
        let from = to
            .checked_sub(jiff::Span::new().days(days.max(1) - 1))
            .unwrap_or(to);
        Self { from, to, zone }
    }

    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// Where the period starts and ends, in unix milliseconds (the end excluded).
    pub fn bounds_ms(&self) -> (i64, i64) {
        let start = |date: Date| {
            date.to_zoned(self.zone.clone())
                .map(|zoned| zoned.timestamp().as_millisecond())
        };
        let from = start(self.from).unwrap_or(i64::MIN);
        let to = self
            .to
            .tomorrow()
            .ok()
            .and_then(|next| start(next).ok())
            .unwrap_or(i64::MAX);
        (from, to)
    }

    fn contains(&self, unix_ms: i64) -> bool {
        let (from, to) = self.bounds_ms();
        unix_ms >= from && unix_ms < to
    }

    fn day_of(&self, unix_ms: i64) -> Option<Date> {
        let time = Timestamp::from_millisecond(unix_ms).ok()?;
        Some(time.to_zoned(self.zone.clone()).date())
    }

    /// Every day of the period, in order.
    pub fn days(&self) -> Vec<Date> {
        let mut days = Vec::new();
        let mut day = self.from;
        while day <= self.to {
            days.push(day);
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        days
    }
}

/// What became of one conversation, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    ResolvedWithoutPerson {
        at: i64,
    },
    HandedOff {
        at: i64,
    },
    /// A person replied without the assistant handing off.
    TakenOverByPerson {
        at: i64,
    },
    /// The customer's last message went unanswered for a day.
    LeftWithoutAnswer {
        at: i64,
    },
    /// Too recent to tell, or nobody wrote yet.
    Open,
}

impl Outcome {
    fn at(self) -> Option<i64> {
        match self {
            Outcome::ResolvedWithoutPerson { at }
            | Outcome::HandedOff { at }
            | Outcome::TakenOverByPerson { at }
            | Outcome::LeftWithoutAnswer { at } => Some(at),
            Outcome::Open => None,
        }
    }
}

/// The outcome of a conversation as it stands at `now` (unix milliseconds).
pub fn outcome(facts: &ConversationFacts, now: i64) -> Outcome {
    let quiet_ms = QUIET_AFTER_ANSWER.as_millis() as i64;
    if let Some(at) = facts.handed_off_at {
        return Outcome::HandedOff { at };
    }
    if facts.agent_replies > 0 {
        let at = facts.first_human_reply_at.unwrap_or(facts.created_at);
        return Outcome::TakenOverByPerson { at };
    }
    let Some(last_customer) = facts.last_customer_at else {
        return Outcome::Open;
    };
    match facts.last_answer_at {
        Some(answered) if answered >= last_customer => {
            if now - answered >= quiet_ms {
                Outcome::ResolvedWithoutPerson { at: answered }
            } else {
                Outcome::Open
            }
        }
        _ if now - last_customer >= quiet_ms => Outcome::LeftWithoutAnswer { at: last_customer },
        _ => Outcome::Open,
    }
}

/// The middle and the 90th percentile of some waits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Waits {
    pub count: usize,
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
}

impl Waits {
    fn of(mut waits_ms: Vec<i64>) -> Self {
        waits_ms.sort_unstable();
        let seconds: Vec<f64> = waits_ms.iter().map(|ms| *ms as f64 / 1000.0).collect();
        Self {
            count: seconds.len(),
            median_seconds: nearest_rank(&seconds, 0.5),
            p90_seconds: nearest_rank(&seconds, 0.9),
        }
    }
}

/// The nearest-rank percentile of values sorted smallest first: the smallest value at or
/// above `share` (0 to 1) of them; `None` for no values.
pub(crate) fn nearest_rank(sorted: &[f64], share: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((share * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// Conversations by what became of them in the period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Outcomes {
    pub resolved_without_person: u64,
    pub handed_off: u64,
    pub taken_over_by_person: u64,
    pub left_without_answer: u64,
    /// Conversations a person marked resolved in the period, after a handoff or a takeover.
    pub resolved_by_team: u64,
    /// Conversations with no outcome yet at the time of the report (the `open` definition).
    pub open: u64,
}

impl Outcomes {
    /// Every conversation with an outcome in the period.
    pub fn decided(&self) -> u64 {
        self.resolved_without_person
            + self.handed_off
            + self.taken_over_by_person
            + self.left_without_answer
    }

    fn share(&self, part: u64) -> Option<f64> {
        let whole = self.decided();
        (whole > 0).then(|| part as f64 / whole as f64)
    }

    pub fn resolution_rate(&self) -> Option<f64> {
        self.share(self.resolved_without_person)
    }

    pub fn escalation_rate(&self) -> Option<f64> {
        self.share(self.handed_off)
    }
}

/// Customer messages on one day, per channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayVolume {
    /// `YYYY-MM-DD` in the business's time zone.
    pub day: String,
    pub channels: BTreeMap<String, i64>,
}

impl DayVolume {
    pub fn total(&self) -> i64 {
        self.channels.values().sum()
    }
}

/// Similar questions the assistant could not answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuestionGroup {
    pub count: usize,
    /// Up to three of them, the latest first.
    pub examples: Vec<String>,
}

/// The figures for one period.
#[derive(Debug, Clone, Serialize)]
pub struct Analytics {
    pub from: String,
    pub to: String,
    pub time_zone: String,
    pub outcomes: Outcomes,
    pub resolution_rate: Option<f64>,
    pub escalation_rate: Option<f64>,
    pub first_response_assistant: Waits,
    /// In business hours when they are set, in plain time otherwise.
    pub first_response_human: Waits,
    /// Handoffs in the period that no person has replied to yet.
    pub handoffs_waiting: u64,
    pub asked_for_person_early: u64,
    pub volume_by_channel: BTreeMap<String, i64>,
    pub volume_by_day: Vec<DayVolume>,
    pub unanswered: Vec<QuestionGroup>,
    pub satisfaction: SatisfactionFigures,
    pub definitions: BTreeMap<&'static str, &'static str>,
}

/// Reads what the period needs from the store and computes its figures as they stand at
/// `now`.
pub async fn analytics(
    store: &Store,
    period: &Period,
    hours: &HandoffSettings,
    now: Timestamp,
) -> Result<Analytics, StoreError> {
    let (from, to) = period.bounds_ms();
    let ((facts, volume, unanswered), ratings) =
        tokio::try_join!(gather(store, period), store.satisfaction(from, to))?;
    let mut figures = compute(period, &facts, &volume, &unanswered, hours, now);
    figures.satisfaction = SatisfactionFigures::of(&ratings);
    Ok(figures)
}

/// The period's satisfaction ratings, as the pages show them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SatisfactionFigures {
    pub ratings: u64,
    /// The mean score, 1 to 5.
    pub mean: Option<f64>,
    /// Ratings of 4 or 5, out of every rating.
    pub satisfied_rate: Option<f64>,
    /// How many ratings of each score, 1 to 5.
    pub by_score: [u64; 5],
}

impl SatisfactionFigures {
    pub fn of(ratings: &Satisfaction) -> Self {
        let count = ratings.ratings();
        SatisfactionFigures {
            ratings: count,
            mean: ratings.mean(),
            satisfied_rate: (count > 0).then(|| ratings.satisfied() as f64 / count as f64),
            by_score: ratings.by_score,
        }
    }
}

/// What the period's figures are computed from, read from the store side by side.
///
/// Every read walks the period's conversations and their messages, so its cost grows with
/// the period: within 100 ms for four weeks of a store with 100,000 conversations, most of
/// a second for a year (`cargo bench -p frontdesk-server --bench admin_pages`). Keeping
/// each conversation's facts on its row as messages arrive would make any period one
/// indexed read.
pub async fn gather(
    store: &Store,
    period: &Period,
) -> Result<
    (
        Vec<ConversationFacts>,
        Vec<VolumeSlot>,
        Vec<UnansweredQuestion>,
    ),
    StoreError,
> {
    let (from, to) = period.bounds_ms();
    tokio::try_join!(
        store.conversation_facts(from, to),
        store.customer_message_volume(from, to),
        store.unanswered_questions(from, to),
    )
}

/// The figures from what the store gathered: the definitions, without the database.
pub fn compute(
    period: &Period,
    facts: &[ConversationFacts],
    volume: &[VolumeSlot],
    unanswered: &[UnansweredQuestion],
    hours: &HandoffSettings,
    now: Timestamp,
) -> Analytics {
    let now_ms = now.as_millisecond();
    let mut outcomes = Outcomes::default();
    let mut assistant_waits = Vec::new();
    let mut human_waits = Vec::new();
    let mut handoffs_waiting = 0;
    let mut asked_for_person_early = 0;

    for conversation in facts {
        let became = outcome(conversation, now_ms);
        match became.at() {
            Some(at) if period.contains(at) => match became {
                Outcome::ResolvedWithoutPerson { .. } => outcomes.resolved_without_person += 1,
                Outcome::HandedOff { .. } => outcomes.handed_off += 1,
                Outcome::TakenOverByPerson { .. } => outcomes.taken_over_by_person += 1,
                Outcome::LeftWithoutAnswer { .. } => outcomes.left_without_answer += 1,
                Outcome::Open => {}
            },
            Some(_) => {}
            None => {
                if conversation.last_customer_at.is_some() {
                    outcomes.open += 1;
                }
            }
        }
        if let Some(resolved) = conversation.resolved_at {
            let had_a_person =
                conversation.handed_off_at.is_some() || conversation.agent_replies > 0;
            if had_a_person && period.contains(resolved) {
                outcomes.resolved_by_team += 1;
            }
        }

        if let (Some(asked), Some(replied)) = (
            conversation.first_customer_at,
            conversation.first_assistant_at,
        ) {
            if period.contains(asked) && replied >= asked {
                assistant_waits.push(replied - asked);
            }
        }

        if let Some(handed) = conversation.handed_off_at.filter(|at| period.contains(*at)) {
            match conversation.handoff_replied_at {
                Some(replied) => {
                    let hours = hours.hours_for_name(&conversation.channel);
                    human_waits.push(work_time_ms(hours, handed, replied))
                }
                None => handoffs_waiting += 1,
            }
            let asked_for_a_person =
                conversation.handoff_reason.as_deref() == Some("person_requested");
            if asked_for_a_person
                && conversation.customer_messages_before_handoff <= EARLY_REQUEST_MESSAGES
            {
                asked_for_person_early += 1;
            }
        }
    }

    let (volume_by_channel, volume_by_day) = volumes(period, volume);
    Analytics {
        from: period.from.to_string(),
        to: period.to.to_string(),
        time_zone: zone_name(period.zone()),
        outcomes,
        resolution_rate: outcomes.resolution_rate(),
        escalation_rate: outcomes.escalation_rate(),
        first_response_assistant: Waits::of(assistant_waits),
        first_response_human: Waits::of(human_waits),
        handoffs_waiting,
        asked_for_person_early,
        volume_by_channel,
        volume_by_day,
        unanswered: group_questions(unanswered),
        satisfaction: SatisfactionFigures::default(),
        definitions: DEFINITIONS.iter().copied().collect(),
    }
}

/// The name a time zone is shown by.
pub fn zone_name(zone: &TimeZone) -> String {
    zone.iana_name().unwrap_or("UTC").to_string()
}

/// Milliseconds from `start` to `end` that fall in business hours (all of them without).
pub(crate) fn work_time_ms(hours: Option<&BusinessHours>, start: i64, end: i64) -> i64 {
    let plain = end - start;
    let Some(hours) = hours else { return plain };
    match (
        Timestamp::from_millisecond(start),
        Timestamp::from_millisecond(end),
    ) {
        (Ok(start), Ok(end)) => hours.open_time_between(start, end).as_millis() as i64,
        _ => plain,
    }
}

fn volumes(period: &Period, slots: &[VolumeSlot]) -> (BTreeMap<String, i64>, Vec<DayVolume>) {
    let mut by_channel: BTreeMap<String, i64> = BTreeMap::new();
    let mut by_day: BTreeMap<Date, BTreeMap<String, i64>> = period
        .days()
        .into_iter()
        .map(|day| (day, BTreeMap::new()))
        .collect();
    for slot in slots {
        *by_channel.entry(slot.channel.clone()).or_default() += slot.messages;
        let Some(day) = period.day_of(slot.slot_start) else {
            continue;
        };
        // A slot that began before the period starts (half-hour zones) counts on its
        // first day.
        let day = day.max(period.from).min(period.to);
        if let Some(channels) = by_day.get_mut(&day) {
            *channels.entry(slot.channel.clone()).or_default() += slot.messages;
        }
    }
    let days = by_day
        .into_iter()
        .map(|(day, channels)| DayVolume {
            day: day.to_string(),
            channels,
        })
        .collect();
    (by_channel, days)
}

/// Greedy grouping: each question joins the first group whose first question shares
/// enough of its words, or starts a group. Good enough to see what keeps being asked; a
/// grouping by meaning (the sentence encoder) would join different wordings too.
fn group_questions(questions: &[UnansweredQuestion]) -> Vec<QuestionGroup> {
    struct Group {
        words: Vec<String>,
        count: usize,
        examples: Vec<String>,
    }
    let mut groups: Vec<Group> = Vec::new();
    for question in questions {
        let words = content_words(&question.text);
        if words.is_empty() {
            continue;
        }
        let similar = groups
            .iter_mut()
            .find(|group| overlap(&group.words, &words) >= SAME_QUESTION_OVERLAP);
        match similar {
            Some(group) => {
                group.count += 1;
                if group.examples.len() < 3 && !group.examples.contains(&question.text) {
                    group.examples.push(question.text.clone());
                }
            }
            None => groups.push(Group {
                words,
                count: 1,
                examples: vec![question.text.clone()],
            }),
        }
    }
    // Stable: equal counts keep the latest question's group first.
    groups.sort_by_key(|group| std::cmp::Reverse(group.count));
    groups
        .into_iter()
        .take(QUESTION_GROUPS_SHOWN)
        .map(|group| QuestionGroup {
            count: group.count,
            examples: group.examples,
        })
        .collect()
}

/// Lowercased words of three letters or more, without the commonest ones, sorted and
/// without repeats.
fn content_words(text: &str) -> Vec<String> {
    const COMMON: &[&str] = &[
        "the", "and", "you", "your", "for", "can", "how", "what", "does", "with", "are", "was",
        "this", "that", "have", "there", "please", "would", "could", "from", "about", "when",
        "why", "who", "where", "which", "will", "any", "get", "not", "but",
    ];
    let mut words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|word| word.chars().count() >= 3 && !COMMON.contains(&word.as_str()))
        .collect();
    words.sort();
    words.dedup();
    words
}

/// Shared words over all words of the two (Jaccard), both sorted and deduplicated.
pub(crate) fn overlap<T: Ord>(a: &[T], b: &[T]) -> f64 {
    // Both sorted: one walk through the two counts what they share.
    let (mut i, mut j, mut shared) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let all = a.len() + b.len() - shared;
    if all == 0 {
        0.0
    } else {
        shared as f64 / all as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 60 * 60 * 1000;

    fn ms(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn week(from: &str, to: &str) -> Period {
        Period::parse(from, to, TimeZone::UTC).unwrap()
    }

    fn conversation(id: i64, created: &str) -> ConversationFacts {
        ConversationFacts {
            id,
            channel: "widget".to_string(),
            created_at: ms(created),
            handed_off_at: None,
            handoff_reason: None,
            first_human_reply_at: None,
            handoff_replied_at: None,
            resolved_at: None,
            first_customer_at: Some(ms(created)),
            last_customer_at: Some(ms(created)),
            first_assistant_at: Some(ms(created) + 1_000),
            first_answer_at: Some(ms(created) + 1_000),
            last_answer_at: Some(ms(created) + 1_000),
            agent_replies: 0,
            customer_messages_before_handoff: 0,
        }
    }

    fn office_hours() -> BusinessHours {
        let weekday = "09:00-17:00";
        let days = [
            weekday, weekday, weekday, weekday, weekday, "closed", "closed",
        ];
        BusinessHours::new("UTC", days).unwrap()
    }

    #[test]
    fn a_resolution_counts_in_the_week_it_happened() {
        // Begun on Sunday 8 March, answered (and so resolved) on Monday 9 March.
        let mut spanning = conversation(1, "2026-03-08T23:50:00Z");
        spanning.last_answer_at = Some(ms("2026-03-09T00:10:00Z"));
        // Handed off by a person the next week: counts there as a team resolution.
        let mut by_team = conversation(2, "2026-03-06T10:00:00Z");
        by_team.handed_off_at = Some(ms("2026-03-06T10:00:05Z"));
        by_team.handoff_reason = Some("low_confidence".to_string());
        by_team.first_human_reply_at = Some(ms("2026-03-06T10:30:00Z"));
        by_team.handoff_replied_at = Some(ms("2026-03-06T10:30:00Z"));
        by_team.agent_replies = 1;
        by_team.resolved_at = Some(ms("2026-03-10T09:00:00Z"));
        let facts = [spanning, by_team];
        let now = "2026-03-20T00:00:00Z".parse().unwrap();

        let first_week = compute(
            &week("2026-03-02", "2026-03-08"),
            &facts,
            &[],
            &[],
            &HandoffSettings::default(),
            now,
        );
        assert_eq!(first_week.outcomes.resolved_without_person, 0);
        assert_eq!(first_week.outcomes.handed_off, 1);
        assert_eq!(first_week.outcomes.resolved_by_team, 0);
        assert_eq!(first_week.resolution_rate, Some(0.0));

        let next_week = compute(
            &week("2026-03-09", "2026-03-15"),
            &facts,
            &[],
            &[],
            &HandoffSettings::default(),
            now,
        );
        assert_eq!(next_week.outcomes.resolved_without_person, 1);
        assert_eq!(next_week.outcomes.handed_off, 0);
        assert_eq!(next_week.outcomes.resolved_by_team, 1);
        assert_eq!(next_week.resolution_rate, Some(1.0));
        assert_eq!(next_week.escalation_rate, Some(0.0));
    }

    #[test]
    fn a_weekend_handoff_waits_only_for_business_hours() {
        // Handed off on Saturday 7 March, a person replied on Monday at 09:30.
        let mut weekend = conversation(1, "2026-03-07T11:00:00Z");
        weekend.handed_off_at = Some(ms("2026-03-07T11:00:02Z"));
        weekend.handoff_reason = Some("person_requested".to_string());
        weekend.customer_messages_before_handoff = 1;
        weekend.first_human_reply_at = Some(ms("2026-03-09T09:30:00Z"));
        weekend.handoff_replied_at = Some(ms("2026-03-09T09:30:00Z"));
        weekend.agent_replies = 1;
        let now = "2026-03-20T00:00:00Z".parse().unwrap();
        let period = week("2026-03-02", "2026-03-08");
        let hours = office_hours();

        let settings = HandoffSettings {
            business_hours: Some(hours.clone()),
            ..HandoffSettings::default()
        };
        let figures = compute(&period, &[weekend.clone()], &[], &[], &settings, now);
        assert_eq!(figures.first_response_human.count, 1);
        assert_eq!(figures.first_response_human.median_seconds, Some(1800.0));
        assert_eq!(figures.asked_for_person_early, 1);
        assert_eq!(figures.handoffs_waiting, 0);
        // The assistant's first reply came a second after the first message.
        assert_eq!(figures.first_response_assistant.median_seconds, Some(1.0));

        // Without business hours the whole weekend counts.
        let plain = compute(
            &period,
            &[weekend.clone()],
            &[],
            &[],
            &Default::default(),
            now,
        );
        assert_eq!(plain.first_response_human.median_seconds, Some(167_398.0));

        // So it does on a channel whose inbox is always in, whatever the business's hours.
        weekend.channel = "whatsapp".to_string();
        let always = BusinessHours::new("Europe/London", ["00:00-24:00"; 7]).unwrap();
        let per_channel = HandoffSettings {
            business_hours: Some(hours),
            channel_hours: vec![(frontdesk_core::Channel::Whatsapp, always)],
            ..HandoffSettings::default()
        };
        let whatsapp = compute(&period, &[weekend], &[], &[], &per_channel, now);
        assert_eq!(
            whatsapp.first_response_human.median_seconds,
            Some(167_398.0)
        );
    }

    #[test]
    fn outcomes_wait_a_day_and_a_return_undoes_a_resolution() {
        let now = ms("2026-03-10T12:00:00Z");
        let answered = conversation(1, "2026-03-10T08:00:00Z");
        assert_eq!(
            outcome(&answered, now),
            Outcome::Open,
            "less than a day ago"
        );
        assert_eq!(
            outcome(&answered, now + 24 * HOUR),
            Outcome::ResolvedWithoutPerson {
                at: ms("2026-03-10T08:00:01Z")
            }
        );

        let mut came_back = conversation(2, "2026-03-08T08:00:00Z");
        came_back.last_customer_at = Some(ms("2026-03-08T09:00:00Z"));
        assert_eq!(
            outcome(&came_back, now),
            Outcome::LeftWithoutAnswer {
                at: ms("2026-03-08T09:00:00Z")
            }
        );

        let mut taken = conversation(3, "2026-03-08T08:00:00Z");
        taken.agent_replies = 2;
        taken.first_human_reply_at = Some(ms("2026-03-08T08:05:00Z"));
        assert_eq!(
            outcome(&taken, now),
            Outcome::TakenOverByPerson {
                at: ms("2026-03-08T08:05:00Z")
            }
        );

        let mut silent = conversation(4, "2026-03-08T08:00:00Z");
        silent.first_customer_at = None;
        silent.last_customer_at = None;
        silent.last_answer_at = None;
        assert_eq!(outcome(&silent, now), Outcome::Open);
    }

    #[test]
    fn volume_lands_on_local_days() {
        let zone = TimeZone::get("America/New_York").unwrap();
        let period = Period::parse("2026-03-02", "2026-03-03", zone).unwrap();
        // 03:00 UTC on 3 March is still 2 March in New York.
        let slots = [
            VolumeSlot {
                channel: "email".to_string(),
                slot_start: ms("2026-03-03T03:00:00Z"),
                messages: 4,
            },
            VolumeSlot {
                channel: "widget".to_string(),
                slot_start: ms("2026-03-03T15:00:00Z"),
                messages: 2,
            },
        ];
        let (by_channel, by_day) = volumes(&period, &slots);
        assert_eq!(by_channel["email"], 4);
        assert_eq!(by_day.len(), 2);
        assert_eq!(
            (by_day[0].day.as_str(), by_day[0].total()),
            ("2026-03-02", 4)
        );
        assert_eq!(
            (by_day[1].day.as_str(), by_day[1].total()),
            ("2026-03-03", 2)
        );
    }

    #[test]
    fn similar_questions_are_grouped() {
        let asked = |text: &str| UnansweredQuestion {
            conversation_id: 1,
            text: text.to_string(),
            asked_at: 0,
        };
        let questions = [
            asked("Can I pay in Japanese yen?"),
            asked("do you ship to Norway"),
            asked("pay in yen?"),
            asked("Can I pay with yen please"),
            asked("??"),
        ];
        let groups = group_questions(&questions);
        assert_eq!(groups.len(), 2, "{groups:?}");
        assert_eq!(groups[0].count, 3);
        assert_eq!(groups[0].examples[0], "Can I pay in Japanese yen?");
        assert_eq!(groups[1].examples, ["do you ship to Norway"]);
    }

    #[test]
    fn periods_are_checked() {
        assert_eq!(
            Period::parse("2026-03-02", "yesterday", TimeZone::UTC).unwrap_err(),
            PeriodError::BadDate {
                field: "to",
                text: "yesterday".to_string()
            }
        );
        for odd in ["20260302", "2026-03-02T00:00", "-009999-01-01", "2026-3-2"] {
            let err = Period::parse(odd, "2026-03-09", TimeZone::UTC).unwrap_err();
            assert_eq!(err.field(), "from", "{odd}");
        }
        assert!(matches!(
            Period::parse("2026-03-09", "2026-03-02", TimeZone::UTC),
            Err(PeriodError::EndsBeforeItBegins { .. })
        ));
        assert_eq!(
            Period::parse("2024-01-01", "2026-01-01", TimeZone::UTC).unwrap_err(),
            PeriodError::TooLong
        );
        let period = week("2026-03-02", "2026-03-08");
        assert_eq!(period.days().len(), 7);
        let (from, to) = period.bounds_ms();
        assert_eq!((to - from) / HOUR, 7 * 24);
    }
}
