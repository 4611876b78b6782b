//! One generated answer: ask the model, release what passes the guards sentence by
//! sentence, and say what became of it.
//!
//! The decision to answer was made before any of this runs; the model only phrases it.
//! Whatever goes wrong (an unreachable server, a timeout, a claim the sources do not
//! make) ends in the extractive answer, except a promised action, which the caller hands
//! to a person. No sentence reaches the customer before the guards have read it whole.

use std::time::Duration;

use frontdesk_core::SourceRef;
use tokio::time::{timeout_at, Instant};

use crate::client::{ChatClient, GenerateError, StreamEvent, Usage};
use crate::guard::{normalise, screen_input, AnswerGuard, SentenceSplitter, Trip};
use crate::prompt::{chat_messages, take_citations, Grounding};
use crate::settings::GenerationSettings;

/// A rough count for servers that send no usage: about four characters a token.
const CHARS_PER_TOKEN: usize = 4;

/// Phrases answers with one model.
#[derive(Clone)]
pub struct Generator {
    client: ChatClient,
    settings: GenerationSettings,
}

/// What became of one generated answer.
#[derive(Debug)]
pub enum Outcome {
    /// The model's answer passed every guard.
    Generated {
        text: String,
        /// The sources it cited (all of those it was given when it cited none).
        sources: Vec<SourceRef>,
    },
    /// The extractive answer goes instead.
    FellBack(Fallback),
    /// The answer would have promised what only a person can do: hand off.
    HandOff(Trip),
}

#[derive(Debug)]
pub enum Fallback {
    Guard(Trip),
    Failed(GenerateError),
}

/// One generated answer and what it cost.
#[derive(Debug)]
pub struct Phrased {
    pub outcome: Outcome,
    pub usage: Usage,
    /// The server sent no token counts; `usage` is estimated from the text.
    pub usage_estimated: bool,
    /// From the request to the model's first piece of text.
    pub first_token: Option<Duration>,
    pub elapsed: Duration,
    /// The text the customer has already been shown, sentence by sentence.
    pub released: String,
}

impl Phrased {
    /// `generated`, `fell_back` or `handed_off`.
    pub fn outcome_name(&self) -> &'static str {
        match self.outcome {
            Outcome::Generated { .. } => "generated",
            Outcome::FellBack(_) => "fell_back",
            Outcome::HandOff(_) => "handed_off",
        }
    }

    /// Why the generated text was not used: the guard's or the failure's short name.
    pub fn cause(&self) -> Option<&'static str> {
        match &self.outcome {
            Outcome::Generated { .. } => None,
            Outcome::FellBack(Fallback::Guard(trip)) | Outcome::HandOff(trip) => {
                Some(trip.as_str())
            }
            Outcome::FellBack(Fallback::Failed(err)) => Some(err.as_str()),
        }
    }

    /// A sentence for the log and the inbox on why the generated text was not used.
    pub fn explanation(&self) -> Option<String> {
        match &self.outcome {
            Outcome::Generated { .. } => None,
            Outcome::FellBack(Fallback::Guard(trip)) | Outcome::HandOff(trip) => {
                Some(trip.to_string())
            }
            Outcome::FellBack(Fallback::Failed(err)) => Some(err.to_string()),
        }
    }
}

/// Why reading the model's answer stopped early.
enum Stop {
    Failed(GenerateError),
    Tripped(Trip),
}

/// The answer as it is read.
struct Reading<'a> {
    guard: AnswerGuard,
    splitter: SentenceSplitter,
    /// Everything the model wrote, markers included.
    answer: String,
    released: String,
    cited: Vec<usize>,
    pieces: u32,
    /// The last sentence released, read again with the next one: a blank line inside a
    /// sentence must not split a claim into two halves that pass one at a time.
    last_sentence: Option<String>,
    /// The model stopped at its token limit: the unfinished last sentence is dropped.
    cut_off: bool,
    /// The most text the answer may run to (far longer means a runaway model).
    max_chars: usize,
    usage: Option<Usage>,
    first_token: Option<Duration>,
    started: Instant,
    on_release: &'a mut (dyn FnMut(&str) + Send),
}

impl Generator {
    pub fn new(settings: GenerationSettings) -> Result<Self, GenerateError> {
        Ok(Generator {
            client: ChatClient::new(&settings)?,
            settings,
        })
    }

    pub fn settings(&self) -> &GenerationSettings {
        &self.settings
    }

    /// Phrases an answer from `grounding`. `on_release` is called with the text released
    /// so far each time another sentence passes the guards.
    pub async fn phrase(
        &self,
        grounding: &Grounding,
        on_release: &mut (dyn FnMut(&str) + Send),
    ) -> Phrased {
        let started = Instant::now();
        let texts: Vec<&str> = grounding.sources.iter().map(|s| s.text.as_str()).collect();
        // The customer's earlier messages go to the model too, so they are screened too.
        let earlier: Vec<&str> = grounding
            .recent_turns
            .iter()
            .filter(|turn| turn.from_customer)
            .map(|turn| turn.text.as_str())
            .chain(texts.iter().copied())
            .collect();
        if let Some(trip) = screen_input(&grounding.question, &earlier) {
            return Phrased {
                outcome: Outcome::FellBack(Fallback::Guard(trip)),
                usage: Usage::default(),
                usage_estimated: false,
                first_token: None,
                elapsed: started.elapsed(),
                released: String::new(),
            };
        }

        let messages = chat_messages(grounding, &self.settings.tone);
        let prompt_chars: usize = messages.iter().map(|m| m.content.chars().count()).sum();
        let mut reading = Reading {
            guard: AnswerGuard::new(&grounding.question, &texts),
            splitter: SentenceSplitter::default(),
            answer: String::new(),
            released: String::new(),
            cited: Vec::new(),
            pieces: 0,
            last_sentence: None,
            cut_off: false,
            max_chars: texts.iter().map(|t| t.chars().count()).sum::<usize>() * 4 + 400,
            usage: None,
            first_token: None,
            started,
            on_release,
        };
        let stopped = self.read(&messages, &mut reading).await.err();

        let outcome = match stopped {
            Some(Stop::Failed(err)) => Outcome::FellBack(Fallback::Failed(err)),
            Some(Stop::Tripped(trip)) if trip.hands_off() => Outcome::HandOff(trip),
            Some(Stop::Tripped(trip)) => Outcome::FellBack(Fallback::Guard(trip)),
            None => Outcome::Generated {
                text: reading.released.clone(),
                sources: cited_sources(grounding, &reading.cited),
            },
        };
        let (usage, usage_estimated) = match reading.usage {
            Some(usage) => (usage, false),
            None => {
                let estimate = Usage {
                    prompt_tokens: (prompt_chars / CHARS_PER_TOKEN) as u32,
                    completion_tokens: reading.pieces,
                };
                (estimate, true)
            }
        };
        Phrased {
            outcome,
            usage,
            usage_estimated,
            first_token: reading.first_token,
            elapsed: started.elapsed(),
            released: reading.released,
        }
    }

    async fn read(
        &self,
        messages: &[crate::client::ChatMessage],
        reading: &mut Reading<'_>,
    ) -> Result<(), Stop> {
        let budget = self.settings.time_budget;
        let first_wait = self.settings.first_token_timeout.min(budget);
        // A budget too large to add to the clock is no budget at all: wait a day at most.
        let far = |wait: Duration| {
            reading
                .started
                .checked_add(wait)
                .unwrap_or_else(|| reading.started + Duration::from_secs(24 * 60 * 60))
        };
        let first_deadline = far(first_wait);
        let deadline = far(budget);

        let mut stream = timeout_at(first_deadline, self.client.stream(messages))
            .await
            .map_err(|_| Stop::Failed(GenerateError::FirstTokenTimeout(first_wait)))?
            .map_err(Stop::Failed)?;
        loop {
            let (limit, late) = match reading.first_token {
                None => (first_deadline, GenerateError::FirstTokenTimeout(first_wait)),
                Some(_) => (deadline, GenerateError::OverBudget(budget)),
            };
            let events = match timeout_at(limit, stream.next()).await {
                Err(_) => return Err(Stop::Failed(late)),
                Ok(None) => break,
                Ok(Some(events)) => events.map_err(Stop::Failed)?,
            };
            for event in events {
                match event {
                    StreamEvent::Text(text) => reading.take(&text)?,
                    StreamEvent::Usage(usage) => reading.usage = Some(usage),
                    StreamEvent::CutOff => reading.cut_off = true,
                }
            }
            // A server sending fast enough never waits on `timeout_at`: check here too.
            if Instant::now() >= deadline {
                return Err(Stop::Failed(GenerateError::OverBudget(budget)));
            }
        }

        let rest = reading.splitter.finish();
        if let Some(rest) = rest.filter(|_| !reading.cut_off) {
            reading.release(&rest)?;
        }
        // What the customer was shown, as they read it, is what is checked whole.
        reading
            .guard
            .check_answer(&reading.released)
            .map_err(Stop::Tripped)
    }
}

impl Reading<'_> {
    fn take(&mut self, text: &str) -> Result<(), Stop> {
        self.first_token
            .get_or_insert_with(|| self.started.elapsed());
        self.pieces += 1;
        self.answer.push_str(text);
        if self.answer.len() > self.max_chars {
            return Err(Stop::Tripped(Trip::Nonsense {
                why: "far longer than its sources",
            }));
        }
        for sentence in self.splitter.push(text) {
            self.release(&sentence)?;
        }
        Ok(())
    }

    /// Shows the customer one more sentence, once the guards have passed it.
    fn release(&mut self, sentence: &str) -> Result<(), Stop> {
        let (clean, cited) = take_citations(&normalise(sentence));
        let clean = clean.trim();
        for number in cited {
            if !self.cited.contains(&number) {
                self.cited.push(number);
            }
        }
        if clean.is_empty() {
            return Ok(());
        }
        // Read with the sentence before first: a promise split in two hands off.
        if let Some(last) = &self.last_sentence {
            let window = format!("{last} {clean}");
            self.guard.check_sentence(&window).map_err(Stop::Tripped)?;
        }
        self.guard.check_sentence(clean).map_err(Stop::Tripped)?;
        self.last_sentence = Some(clean.to_string());
        if !self.released.is_empty() {
            self.released.push(' ');
        }
        self.released.push_str(clean);
        (self.on_release)(&self.released);
        Ok(())
    }
}

/// The sources the answer cited by number, or every source when it cited none it was
/// given: the answer was written from them either way.
fn cited_sources(grounding: &Grounding, cited: &[usize]) -> Vec<SourceRef> {
    let named: Vec<SourceRef> = cited
        .iter()
        .filter_map(|number| grounding.sources.get(number.checked_sub(1)?))
        .map(|source| source.reference.clone())
        .collect();
    if named.is_empty() {
        grounding
            .sources
            .iter()
            .map(|s| s.reference.clone())
            .collect()
    } else {
        named
    }
}
