//! Where the business stands on the five-level customer service automation maturity
//! model: 1 manual inbox, 2 help center and canned replies, 3 rule-based bot, 4 AI
//! assistant answering from real content, 5 AI agent that also acts in other systems under
//! supervision.
//!
//! Five questions place the business: how customers reach it, how much is resolved
//! without a person, how quickly customers hear back, who maintains the system, and what
//! it costs a month. The first three are answered from live figures where there are
//! enough of them; the last two only the owner can answer. The level is the lowest
//! answer; answers spread over two neighbouring levels read "in transition". The report
//! also names the failure modes the data shows, the signals of a real Level 4, and the
//! one next move.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use frontdesk_core::KnowledgeKind;
use frontdesk_store::{Store, StoreError};
use jiff::Timestamp;
use serde::Serialize;

use crate::analytics::{self, Analytics, Period};
use crate::hours::HandoffSettings;

/// Fewer conversations (with an outcome, for the resolution rate) than this say too
/// little to place the channels or the resolution rate: the owner's answer counts
/// instead.
pub const ENOUGH_OUTCOMES: u64 = 20;
/// Fewer first responses than this say too little to place the response time.
pub const ENOUGH_RESPONSES: usize = 20;
/// Content older than this is stale.
pub const STALE_CONTENT_DAYS: i64 = 30;
/// Fewer FAQ entries and passages than this is thin content.
pub const THIN_CONTENT_ENTRIES: u64 = 10;
/// A weekly review happened when the team gave feedback within this many days.
pub const REVIEW_DAYS: i64 = 7;
/// Early requests for a person above this share of handoffs and resolutions are a
/// failure mode.
const EARLY_REQUESTS_SHARE: f64 = 0.10;
/// A handoff without a reply for longer than this (in business hours) was not picked up.
pub const PICKUP_HOURS: f64 = 1.0;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The five questions, in the order they are asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Question {
    Channels,
    Resolution,
    ResponseTime,
    Maintenance,
    Cost,
}

impl Question {
    pub const ALL: [Question; 5] = [
        Question::Channels,
        Question::Resolution,
        Question::ResponseTime,
        Question::Maintenance,
        Question::Cost,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Question::Channels => "channels",
            Question::Resolution => "resolution",
            Question::ResponseTime => "response_time",
            Question::Maintenance => "maintenance",
            Question::Cost => "cost",
        }
    }

    /// The question as the owner is asked it.
    pub fn text(self) -> &'static str {
        match self {
            Question::Channels => "How do customers reach you, and who answers them there?",
            Question::Resolution => {
                "What share of customer questions is resolved without a person?"
            }
            Question::ResponseTime => "How quickly does a customer get a first response?",
            Question::Maintenance => "Who maintains the system that answers customers?",
            Question::Cost => "What does the software for customer service cost a month?",
        }
    }

    /// What each level's answer looks like, level 1 first.
    pub fn options(self) -> [&'static str; 5] {
        match self {
            Question::Channels => [
                "One inbox or phone line, answered by hand",
                "Several channels, answered by people with a help center and saved replies",
                "A bot or assistant on one channel, people on the rest",
                "An assistant answering from our content on the chat and at least one more \
                 channel",
                "An assistant on every channel customers use, also acting in our other systems",
            ],
            Question::Resolution => [
                "Almost none (under 10 %)",
                "Some, from the help center (10–35 %)",
                "A fair share, through scripted flows (35–60 %)",
                "Most (60–85 %)",
                "Nearly all (85 % or more)",
            ],
            Question::ResponseTime => [
                "A day or more",
                "Within the day (hours)",
                "Within an hour (minutes)",
                "Under a minute for most customers",
                "Under a minute for nearly every customer, day and night",
            ],
            Question::Maintenance => [
                "Nobody: whoever is free answers",
                "Someone updates the help center or saved replies now and then",
                "Someone edits the bot's scripts when they break",
                "The team reviews the assistant's answers every week and corrects its content",
                "A named person supervises the assistant and what it does in other systems \
                 against measured targets",
            ],
            Question::Cost => [
                "Nothing beyond email and staff time",
                "A help desk or shared inbox subscription, per agent",
                "A chatbot builder or bot add-on on top of the help desk",
                "An AI assistant at a fixed monthly cost, whatever the volume",
                "An AI agent platform priced per resolution or per action",
            ],
        }
    }

    /// Whether live figures can answer it.
    pub fn measurable(self) -> bool {
        matches!(
            self,
            Question::Channels | Question::Resolution | Question::ResponseTime
        )
    }
}

impl fmt::Display for Question {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a maturity question: use channels, resolution, response_time, maintenance or cost")]
pub struct UnknownQuestion(pub String);

impl FromStr for Question {
    type Err = UnknownQuestion;

    fn from_str(text: &str) -> Result<Self, UnknownQuestion> {
        Question::ALL
            .into_iter()
            .find(|question| question.key() == text.trim())
            .ok_or_else(|| UnknownQuestion(text.to_string()))
    }
}

/// A level of the model, 1 to 5.
pub fn level_name(level: u8) -> &'static str {
    match level {
        1 => "manual inbox",
        2 => "help center and saved replies",
        3 => "rule-based bot",
        4 => "AI assistant answering from real content",
        _ => "AI agent acting under supervision",
    }
}

/// Where an answer came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Basis {
    /// Live figures, described.
    Measured { detail: String },
    /// The owner said so.
    Owner,
    /// Neither: not enough data and no answer from the owner.
    Unanswered,
}

/// One question's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    pub question: Question,
    pub text: &'static str,
    pub level: Option<u8>,
    /// The chosen option's words.
    pub answer: Option<&'static str>,
    pub basis: Basis,
}

/// A failure mode, and whether the data shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureMode {
    pub name: &'static str,
    pub detected: bool,
    pub detail: String,
}

/// A sign that the business really runs at Level 4.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signal {
    pub name: &'static str,
    pub met: bool,
    pub detail: String,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    pub answers: Vec<Answer>,
    /// The lowest answer; `None` when no question is answered.
    pub level: Option<u8>,
    pub level_name: Option<&'static str>,
    /// Set when the answers span exactly two neighbouring levels: from, to.
    pub in_transition: Option<(u8, u8)>,
    /// Questions without an answer: the level may be lower once they are answered.
    pub unanswered: Vec<Question>,
    pub failure_modes: Vec<FailureMode>,
    pub signals: Vec<Signal>,
    pub next_move: String,
}

/// What the live part of the report is read from, besides the period's figures.
#[derive(Debug, Clone, Default)]
pub struct LiveFacts {
    /// Channels customers wrote on in the period, and those the assistant answered on.
    pub channels_written: BTreeSet<String>,
    pub channels_answered: BTreeSet<String>,
    /// Conversations in which a customer wrote during the period.
    pub conversations: u64,
    /// How long each customer waited for a first answer or a person's reply, in seconds
    /// (a question asked back or a handoff notice is not one).
    pub first_responses: Vec<f64>,
    /// FAQ entries and document passages.
    pub content_entries: u64,
    /// When FAQ entries, documents or products last changed.
    pub content_changed_at: Option<i64>,
    /// When the team last reviewed the assistant: a finished weekly review, or feedback
    /// given on an answer.
    pub last_review_at: Option<i64>,
    /// Handoffs without a person's reply for more than [`PICKUP_HOURS`] business hours.
    pub handoffs_not_picked_up: u64,
    pub now_ms: i64,
}

/// The level of each of the owner's answers, by question key.
pub type OwnerAnswers = Vec<(Question, u8)>;

/// The report from live figures and the owner's answers. A measured answer wins over the
/// owner's for the same question; the owner's stands where the data is too thin.
pub fn assess(analytics: Option<&Analytics>, live: &LiveFacts, owner: &OwnerAnswers) -> Assessment {
    let answers: Vec<Answer> = Question::ALL
        .into_iter()
        .map(|question| {
            let measured = analytics.and_then(|figures| measure(question, figures, live));
            let owners = owner
                .iter()
                .find(|(asked, _)| *asked == question)
                .map(|(_, level)| *level)
                .filter(|level| (1..=5).contains(level));
            let (level, basis) = match (measured, owners) {
                (Some((level, detail)), _) => (Some(level), Basis::Measured { detail }),
                (None, Some(level)) => (Some(level), Basis::Owner),
                (None, None) => (None, Basis::Unanswered),
            };
            Answer {
                question,
                text: question.text(),
                answer: level.map(|level| question.options()[usize::from(level - 1)]),
                level,
                basis,
            }
        })
        .collect();
    let failure_modes = analytics.map_or_else(Vec::new, |figures| failure_modes(figures, live));
    let signals = analytics.map_or_else(Vec::new, |figures| signals(figures, live));
    summarise(answers, failure_modes, signals)
}

/// The report from answers alone, as the questionnaire gives them (one level per
/// question, in [`Question::ALL`] order).
pub fn assess_answers(levels: &[(Question, u8)]) -> Assessment {
    assess(None, &LiveFacts::default(), &levels.to_vec())
}

fn summarise(
    answers: Vec<Answer>,
    failure_modes: Vec<FailureMode>,
    signals: Vec<Signal>,
) -> Assessment {
    let levels: Vec<u8> = answers.iter().filter_map(|answer| answer.level).collect();
    let level = levels.iter().copied().min();
    let highest = levels.iter().copied().max();
    let in_transition = match (level, highest) {
        (Some(low), Some(high)) if high == low + 1 => Some((low, high)),
        _ => None,
    };
    let unanswered: Vec<Question> = answers
        .iter()
        .filter(|answer| answer.level.is_none())
        .map(|answer| answer.question)
        .collect();
    let next_move = next_move(&answers, &failure_modes, &signals);
    Assessment {
        level_name: level.map(level_name),
        level,
        in_transition,
        unanswered,
        answers,
        failure_modes,
        signals,
        next_move,
    }
}

/// A measured level and what it was read from, when the figures are enough.
fn measure(question: Question, figures: &Analytics, live: &LiveFacts) -> Option<(u8, String)> {
    match question {
        Question::Channels => {
            let written = live.channels_written.len();
            let answered = live.channels_answered.len();
            if live.conversations < ENOUGH_OUTCOMES {
                return None;
            }
            let level = match (written, answered) {
                (_, 0) if written == 1 => 1,
                (_, 0) => 2,
                (_, 1) => 3,
                _ => 4,
            };
            let detail = format!(
                "customers wrote on {} ({}); the assistant answered on {}",
                plural(written, "channel"),
                join(&live.channels_written),
                if answered == 0 {
                    "none".to_string()
                } else {
                    join(&live.channels_answered)
                }
            );
            Some((level, detail))
        }
        Question::Resolution => {
            let decided = figures.outcomes.decided();
            if decided < ENOUGH_OUTCOMES {
                return None;
            }
            let rate = figures.resolution_rate?;
            let level = match rate {
                r if r < 0.10 => 1,
                r if r < 0.35 => 2,
                r if r < 0.60 => 3,
                r if r < 0.85 => 4,
                _ => 5,
            };
            let detail = format!(
                "{} of {decided} conversations resolved without a person",
                percent(rate)
            );
            Some((level, detail))
        }
        Question::ResponseTime => {
            if live.first_responses.len() < ENOUGH_RESPONSES {
                return None;
            }
            let mut waits = live.first_responses.clone();
            waits.sort_by(f64::total_cmp);
            let median = analytics::nearest_rank(&waits, 0.5)?;
            let p90 = analytics::nearest_rank(&waits, 0.9)?;
            let level = if median > 24.0 * 3600.0 {
                1
            } else if median > 3600.0 {
                2
            } else if median > 60.0 {
                3
            } else if p90 > 60.0 {
                4
            } else {
                5
            };
            let detail = format!(
                "first response: median {}, 90th percentile {}, over {} conversations",
                duration(median),
                duration(p90),
                waits.len()
            );
            Some((level, detail))
        }
        Question::Maintenance | Question::Cost => None,
    }
}

fn failure_modes(figures: &Analytics, live: &LiveFacts) -> Vec<FailureMode> {
    let content_age_days = live
        .content_changed_at
        .map(|changed| (live.now_ms - changed) / DAY_MS);
    let stale = content_age_days.is_none_or(|days| days > STALE_CONTENT_DAYS);
    let outcomes = &figures.outcomes;
    let early_share = if live.conversations > 0 {
        figures.asked_for_person_early as f64 / live.conversations as f64
    } else {
        0.0
    };
    let reviewed_recently = live
        .last_review_at
        .is_some_and(|at| live.now_ms - at <= REVIEW_DAYS * DAY_MS);
    let assistant_answered = outcomes.resolved_without_person + outcomes.handed_off > 0;

    vec![
        FailureMode {
            name: "stale_content",
            detected: stale,
            detail: match content_age_days {
                Some(days) => format!("FAQ, documents and products last changed {days} days ago"),
                None => "no FAQ entries, documents or products have been imported".to_string(),
            },
        },
        FailureMode {
            name: "thin_content",
            detected: live.content_entries < THIN_CONTENT_ENTRIES,
            detail: format!("{} FAQ entries and document passages", live.content_entries),
        },
        FailureMode {
            name: "escalates_more_than_it_resolves",
            detected: outcomes.handed_off > outcomes.resolved_without_person,
            detail: format!(
                "{} handed off, {} resolved without a person",
                outcomes.handed_off, outcomes.resolved_without_person
            ),
        },
        FailureMode {
            name: "asks_for_person_early",
            detected: figures.asked_for_person_early > 0 && early_share > EARLY_REQUESTS_SHARE,
            detail: format!(
                "{} customers asked for a person within their first three messages ({} of \
                 conversations)",
                figures.asked_for_person_early,
                percent(early_share)
            ),
        },
        FailureMode {
            name: "reviews_skipped",
            detected: assistant_answered && !reviewed_recently,
            detail: match live.last_review_at {
                Some(at) => format!(
                    "the team last marked an answer right or wrong {} days ago",
                    (live.now_ms - at) / DAY_MS
                ),
                None => "the team has never marked an answer right or wrong".to_string(),
            },
        },
        FailureMode {
            name: "handoffs_not_picked_up",
            detected: live.handoffs_not_picked_up > 0,
            detail: format!(
                "{} handed-off conversations without a reply after {PICKUP_HOURS} business \
                 hour",
                live.handoffs_not_picked_up
            ),
        },
    ]
}

fn signals(figures: &Analytics, live: &LiveFacts) -> Vec<Signal> {
    let rate = figures.resolution_rate;
    let mut waits = live.first_responses.clone();
    waits.sort_by(f64::total_cmp);
    let median = analytics::nearest_rank(&waits, 0.5);
    let reviewed = live
        .last_review_at
        .is_some_and(|at| live.now_ms - at <= REVIEW_DAYS * DAY_MS);
    vec![
        Signal {
            name: "resolution_above_75_percent",
            met: rate.is_some_and(|rate| rate > 0.75),
            detail: match rate {
                Some(rate) => format!("{} resolved without a person", percent(rate)),
                None => "no conversations with an outcome yet".to_string(),
            },
        },
        Signal {
            name: "first_response_under_a_minute",
            met: median.is_some_and(|median| median < 60.0),
            detail: match median {
                Some(median) => format!("median first response {}", duration(median)),
                None => "no first responses yet".to_string(),
            },
        },
        Signal {
            name: "weekly_review_happens",
            met: reviewed,
            detail: if reviewed {
                "the team gave feedback on answers within the last 7 days".to_string()
            } else {
                "no feedback on answers within the last 7 days".to_string()
            },
        },
    ]
}

/// The one move that matters most now: a detected failure first (the costliest first),
/// then the lowest answer, then the path to Level 5.
fn next_move(answers: &[Answer], failures: &[FailureMode], signals: &[Signal]) -> String {
    let detected = |name: &str| failures.iter().any(|f| f.name == name && f.detected);
    if detected("handoffs_not_picked_up") {
        return "Pick up the handed-off conversations waiting in the inbox, and set business \
                hours so customers are told when a person will reply."
            .to_string();
    }
    if detected("thin_content") || detected("stale_content") {
        return "Bring the content up to date: import the FAQ, policies and past tickets \
                again, and add entries for the questions the assistant could not answer."
            .to_string();
    }
    if detected("escalates_more_than_it_resolves") {
        return "Teach the assistant the questions it hands off most: add FAQ entries for the \
                top unanswered questions and import past tickets that show how customers ask."
            .to_string();
    }
    if detected("asks_for_person_early") {
        return "Read the conversations where customers asked for a person early: answer what \
                they wanted in the FAQ, or hand those topics to the team at once."
            .to_string();
    }
    if detected("reviews_skipped") {
        return "Hold the weekly review: mark this week's doubtful answers right or wrong, so \
                the assistant learns from them."
            .to_string();
    }
    let lowest = answers
        .iter()
        .filter_map(|answer| answer.level.map(|level| (level, answer.question)))
        .min();
    if let Some((level, question)) = lowest {
        if level < 4 {
            return match question {
                Question::Channels => {
                    "Answer customers where they write: connect the chat \
                     widget and the messaging channels or email they use, with the assistant \
                     on each."
                }
                Question::Resolution => {
                    "Raise what the assistant resolves: import past \
                     tickets and the FAQ, then correct its answers every week."
                }
                Question::ResponseTime => {
                    "Let the assistant give the first response on every \
                     channel, so no customer waits for a person to start."
                }
                Question::Maintenance => {
                    "Name who maintains the assistant, and give them an \
                     hour a week to review its answers."
                }
                Question::Cost => {
                    "Move from per-agent tools to one assistant whose cost does \
                     not grow with every message."
                }
            }
            .to_string();
        }
    }
    if answers.iter().any(|answer| answer.level.is_none()) {
        return "Answer the questions still open (who maintains the system, what it costs) to \
                complete the report."
            .to_string();
    }
    if signals.iter().any(|signal| !signal.met) {
        return "Hold Level 4 steady: keep resolution above 75 %, first responses under a \
                minute and the weekly review going."
            .to_string();
    }
    "Level 4 holds. The next level is acting in other systems (refunds, bookings) under \
     supervision: start with one action, approved by a person each time."
        .to_string()
}

/// How many days of conversations the live answers are read from.
pub const REPORT_DAYS: i32 = 30;

/// The period's figures and the assessment built on them.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub analytics: Analytics,
    pub assessment: Assessment,
}

/// The maturity report as it stands at `now`, from the last [`REPORT_DAYS`] days of
/// conversations, the knowledge base and the owner's stored answers.
pub async fn report(
    store: &Store,
    hours: &HandoffSettings,
    now: Timestamp,
) -> Result<Report, StoreError> {
    let zone = hours.zone();
    let period = Period::last_days(now, REPORT_DAYS, zone);
    let (from, to) = period.bounds_ms();
    let (facts, volume, unanswered) = analytics::gather(store, &period).await?;
    let analytics = analytics::compute(&period, &facts, &volume, &unanswered, hours, now);

    let now_ms = now.as_millisecond();
    let in_period = |at: Option<i64>| at.is_some_and(|at| at >= from && at < to);
    let channels_answered = facts
        .iter()
        .filter(|conversation| in_period(conversation.last_answer_at))
        .map(|conversation| conversation.channel.clone())
        .collect();
    let first_responses = facts
        .iter()
        .filter(|conversation| in_period(conversation.first_customer_at))
        .filter_map(|conversation| {
            let asked = conversation.first_customer_at?;
            // An answer or a person's reply: a question asked back or a handoff notice
            // leaves the customer still waiting for one.
            let replied = [
                conversation.first_answer_at,
                conversation.first_human_reply_at,
            ]
            .into_iter()
            .flatten()
            .filter(|at| *at >= asked)
            .min()?;
            Some((replied - asked) as f64 / 1000.0)
        })
        .collect();
    let pickup_ms = (PICKUP_HOURS * 3600.0 * 1000.0) as i64;
    let handoffs_not_picked_up = facts
        .iter()
        .filter(|conversation| conversation.resolved_at.is_none())
        .filter_map(|conversation| {
            let handed = conversation.handed_off_at?;
            let replied = conversation.handoff_replied_at.is_some();
            (!replied).then_some((handed, hours.hours_for_name(&conversation.channel)))
        })
        .filter(|(handed, hours)| analytics::work_time_ms(*hours, *handed, now_ms) > pickup_ms)
        .count() as u64;

    let stats = store.knowledge_stats().await?;
    let content = |kind: KnowledgeKind| stats.iter().find(|entry| entry.kind == kind);
    let content_kinds = [
        KnowledgeKind::Faq,
        KnowledgeKind::Doc,
        KnowledgeKind::Product,
    ];
    let live = LiveFacts {
        channels_written: analytics
            .volume_by_channel
            .iter()
            .filter(|(_, messages)| **messages > 0)
            .map(|(channel, _)| channel.clone())
            .collect(),
        channels_answered,
        conversations: facts
            .iter()
            .filter(|conversation| in_period(conversation.last_customer_at))
            .count() as u64,
        first_responses,
        content_entries: [KnowledgeKind::Faq, KnowledgeKind::Doc]
            .into_iter()
            .filter_map(|kind| content(kind).map(|entry| entry.count))
            .sum(),
        content_changed_at: content_kinds
            .into_iter()
            .filter_map(|kind| content(kind).and_then(|entry| entry.last_changed_unix_ms))
            .max(),
        last_review_at: store
            .last_review_at()
            .await?
            .max(store.last_feedback_at().await?),
        handoffs_not_picked_up,
        now_ms,
    };
    let owner: OwnerAnswers = store
        .maturity_answers()
        .await?
        .into_iter()
        .filter_map(|answer| Some((answer.question.parse().ok()?, answer.level)))
        .collect();
    let assessment = assess(Some(&analytics), &live, &owner);
    Ok(Report {
        analytics,
        assessment,
    })
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

fn join(names: &BTreeSet<String>) -> String {
    names
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A share as a percentage with one decimal.
pub fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

/// Seconds as a person reads them: "42 s", "3.5 min", "2.0 h", "1.5 days".
pub fn duration(seconds: f64) -> String {
    if seconds < 10.0 {
        format!("{seconds:.1} s")
    } else if seconds < 60.0 {
        format!("{seconds:.0} s")
    } else if seconds < 3600.0 {
        format!("{:.1} min", seconds / 60.0)
    } else if seconds < 86_400.0 {
        format!("{:.1} h", seconds / 3600.0)
    } else {
        format!("{:.1} days", seconds / 86_400.0)
    }
}

#[cfg(test)]
mod tests {
    use frontdesk_store::ConversationFacts;

    use super::*;

    fn answers(levels: [u8; 5]) -> Assessment {
        let given: Vec<(Question, u8)> = Question::ALL.into_iter().zip(levels).collect();
        assess_answers(&given)
    }

    #[test]
    fn the_level_is_the_lowest_answer() {
        let report = answers([4, 4, 3, 4, 5]);
        assert_eq!(report.level, Some(3));
        assert_eq!(report.in_transition, None, "spread over three levels");
        assert!(
            report.next_move.contains("first response"),
            "{}",
            report.next_move
        );

        let report = answers([4, 4, 4, 4, 4]);
        assert_eq!((report.level, report.in_transition), (Some(4), None));
        assert!(
            report.next_move.contains("Level 4 holds"),
            "{}",
            report.next_move
        );
    }

    #[test]
    fn answers_over_two_neighbouring_levels_are_in_transition() {
        let report = answers([3, 4, 4, 3, 4]);
        assert_eq!(report.level, Some(3));
        assert_eq!(report.in_transition, Some((3, 4)));
        assert!(report
            .next_move
            .contains("Answer customers where they write"));

        // Two levels that are not neighbours are not a transition.
        assert_eq!(answers([2, 4, 4, 4, 4]).in_transition, None);
    }

    #[test]
    fn unanswered_questions_are_named() {
        let report = assess_answers(&[(Question::Channels, 4), (Question::Cost, 4)]);
        assert_eq!(report.level, Some(4));
        assert_eq!(
            report.unanswered,
            [
                Question::Resolution,
                Question::ResponseTime,
                Question::Maintenance
            ]
        );
        assert!(report.next_move.contains("still open"));
        assert_eq!(assess_answers(&[]).level, None);
    }

    #[test]
    fn live_figures_answer_the_measured_questions_and_show_failures() {
        let now: Timestamp = "2026-03-20T12:00:00Z".parse().unwrap();
        let day = 24 * 60 * 60 * 1000;
        // Thirty conversations over the month: the assistant answers each within two
        // seconds; six customers ask for a person at once, and one of them still waits.
        let facts: Vec<ConversationFacts> = (0..30)
            .map(|index| {
                let created = now.as_millisecond() - (index + 2) * day / 2;
                let handed = index < 6;
                ConversationFacts {
                    id: index,
                    channel: if index % 2 == 0 { "widget" } else { "email" }.to_string(),
                    created_at: created,
                    handed_off_at: handed.then_some(created + 2_000),
                    handoff_reason: handed.then(|| "person_requested".to_string()),
                    first_human_reply_at: (handed && index > 0).then_some(created + 600_000),
                    handoff_replied_at: (handed && index > 0).then_some(created + 600_000),
                    resolved_at: None,
                    first_customer_at: Some(created),
                    last_customer_at: Some(created),
                    first_assistant_at: Some(created + 2_000),
                    first_answer_at: (!handed).then_some(created + 2_000),
                    last_answer_at: (!handed).then_some(created + 2_000),
                    agent_replies: i64::from(handed && index > 0),
                    customer_messages_before_handoff: i64::from(handed),
                }
            })
            .collect();
        let period = Period::last_days(now, REPORT_DAYS, jiff::tz::TimeZone::UTC);
        let figures =
            analytics::compute(&period, &facts, &[], &[], &HandoffSettings::default(), now);
        assert_eq!(figures.outcomes.resolved_without_person, 24);
        assert_eq!(figures.outcomes.handed_off, 6);

        let live = LiveFacts {
            channels_written: ["widget".to_string(), "email".to_string()].into(),
            channels_answered: ["widget".to_string(), "email".to_string()].into(),
            conversations: 30,
            first_responses: vec![2.0; 30],
            content_entries: 50,
            content_changed_at: Some(now.as_millisecond() - 3 * day),
            last_review_at: Some(now.as_millisecond() - 2 * day),
            handoffs_not_picked_up: 1,
            now_ms: now.as_millisecond(),
        };
        let owner = vec![(Question::Maintenance, 4), (Question::Cost, 4)];
        let report = assess(Some(&figures), &live, &owner);

        let levels: Vec<Option<u8>> = report.answers.iter().map(|a| a.level).collect();
        assert_eq!(levels, [Some(4), Some(4), Some(5), Some(4), Some(4)]);
        assert!(matches!(report.answers[1].basis, Basis::Measured { .. }));
        assert_eq!(
            (report.level, report.in_transition),
            (Some(4), Some((4, 5)))
        );

        let detected: Vec<&str> = report
            .failure_modes
            .iter()
            .filter(|failure| failure.detected)
            .map(|failure| failure.name)
            .collect();
        assert_eq!(
            detected,
            ["asks_for_person_early", "handoffs_not_picked_up"]
        );
        assert!(report
            .next_move
            .starts_with("Pick up the handed-off conversations"));
        assert!(
            report.signals.iter().all(|signal| signal.met),
            "{:?}",
            report.signals
        );

        // With too few conversations the owner's answer stands instead.
        let thin = LiveFacts {
            conversations: 5,
            first_responses: vec![2.0; 5],
            ..live
        };
        let owner = vec![(Question::Channels, 2), (Question::ResponseTime, 3)];
        let report = assess(Some(&figures), &thin, &owner);
        assert_eq!(report.answers[0].basis, Basis::Owner);
        assert_eq!(report.answers[0].level, Some(2));
        assert_eq!(report.answers[2].level, Some(3));
    }

    #[test]
    fn questions_are_named_by_their_keys() {
        for question in Question::ALL {
            assert_eq!(question.key().parse::<Question>(), Ok(question));
        }
        assert!("price".parse::<Question>().is_err());
    }
}
