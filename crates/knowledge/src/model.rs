//! The trained part of the assistant: the lexical index, the intent
//! classifier and the confidence calibrator, built together from one snapshot
//! of the knowledge base and saved beside the database.

use std::fs;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom};

use bincode::Options;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use frontdesk_core::{DocPassage, FaqEntry, SourceKind, SourceRef, Ticket};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use crate::calibrate::{CalibrationExample, Calibrator};
use crate::classifier::{Classifier, TrainingOptions};
use crate::embedding::{
    Closeness, EncoderError, PhrasingVectors, SharedEncoder, VectorCache, VectorChanges,
};
use crate::engine::{Candidate, Target};
use crate::features::{SparseVector, Vectorizer};
use crate::index::{Entry, EntryKind, Hit, IndexError, LexicalIndex};
use crate::normalize::{normalize, words};
use crate::text::{is_courtesy_word, is_function_word};
use crate::{BuildProgress, KnowledgeSnapshot};

/// Bumped whenever the saved layout changes, so an old index is rebuilt
/// instead of misread.
const FORMAT: u32 = 3;
const MODEL_FILE: &str = "model.bin";
const LEXICAL_DIR: &str = "lexical";

/// Lexical hits read per message; the first [`VOTING_HITS`] of them vote.
const SEARCH_HITS: usize = 24;
const VOTING_HITS: usize = 10;
/// Tickets are split into this many folds; each fold is scored by a model
/// trained without it, so every ticket yields one honest calibration example.
const FOLDS: usize = 3;

/// The fold a tuned encoder never learns from (see [`held_out_from_tuning`]).
const TUNING_HELD_OUT_FOLD: usize = 0;
/// How much the nearest labelled phrasing of an FAQ adds to the classifier's
/// score for it when choosing the candidate (cosine similarity in [0, 1]).
const NEAREST_PHRASING_WEIGHT: f64 = 0.5;
/// How much the FAQ's share of the lexical hits' votes adds to its score.
/// Both weights were chosen on the Banking77 and CLINC150 dev questions; they
/// add about one point of top-candidate accuracy over the classifier alone.
const LEXICAL_VOTE_WEIGHT: f64 = 0.5;
/// Out-of-scope questions are rare in past tickets but common in real
/// traffic; calibration weighs them as if they were this share of messages,
/// so that the confidence stays honest when many more of them arrive.
const OUT_OF_SCOPE_SHARE: f64 = 0.2;
/// How much the nearest phrasing by meaning (embedding cosine) adds to an
/// FAQ's score when choosing the candidate.
const EMBEDDING_NEIGHBOUR_WEIGHT: f64 = 1.0;
/// The sentence vector joins the n-gram features of the classifier scaled by
/// this (both parts are unit vectors).
const EMBEDDING_FEATURE_WEIGHT: f32 = 1.0;
const LEXICAL_SIGNALS: usize = 12;
const EMBEDDING_SIGNALS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot write the index to {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot save the model to {path}: {source}")]
    Encode {
        path: PathBuf,
        source: bincode::Error,
    },
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Encoder(#[from] EncoderError),
}

/// What is saved in `model.bin`.
#[derive(Serialize, Deserialize)]
struct Saved {
    format: u32,
    revision: String,
    faqs: Vec<FaqEntry>,
    passages: Vec<DocPassage>,
    ticket_ids: Vec<String>,
    vocabulary: Vec<String>,
    entries: Vec<Entry>,
    /// The feature vector of each FAQ question and ticket entry (empty for
    /// other entries), to measure how close a message is to the phrasings
    /// the lexical search found.
    entry_vectors: Vec<SparseVector>,
    vectorizer: Vectorizer,
    classifier: Classifier,
    /// `None` when there were no tickets to calibrate on; see [`uncalibrated_confidence`].
    calibrator: Option<Calibrator>,
    /// Present when the model was built with a sentence encoder.
    embeddings: Option<EmbeddingPart>,
}

#[derive(Serialize, Deserialize)]
struct EmbeddingPart {
    /// The encoder's model name; another encoder at load time means rebuild.
    model: String,
    phrasings: PhrasingVectors,
}

pub struct Model {
    saved: Saved,
    vocabulary: FxHashSet<String>,
    index: LexicalIndex,
    encoder: Option<SharedEncoder>,
    /// Time spent in the sentence encoder since the model was made, in nanoseconds, so
    /// that an evaluation can tell the encoder's share of each decision's cost.
    encoding_nanos: AtomicU64,
    /// What this build changed among the stored vectors, until the caller takes it.
    vector_changes: VectorChanges,
}

/// A ticket prepared for training: its normalised text and its class
/// (an FAQ's position, or the out-of-scope class).
struct Example {
    text: String,
    /// The text as written, for the sentence encoder, which reads case and
    /// punctuation better than our normalisation.
    raw: String,
    class: usize,
    ticket: Option<u32>,
    /// The cross-fitting fold whose model does not see this example; `None`
    /// for FAQ questions, which every model learns from.
    fold: Option<usize>,
}

impl Model {
    pub fn build(
        dir: Option<&Path>,
        snapshot: KnowledgeSnapshot,
        revision: &str,
        encoder: Option<SharedEncoder>,
        progress: &dyn Fn(BuildProgress),
    ) -> Result<Self, ModelError> {
        let KnowledgeSnapshot {
            mut faqs,
            tickets,
            passages,
            sentence_vectors: known_vectors,
        } = snapshot;
        faqs.sort_by(|a, b| a.id.cmp(&b.id));
        let out_of_scope = faqs.len();
        let positions: FxHashMap<&str, usize> = faqs
            .iter()
            .enumerate()
            .map(|(i, f)| (f.id.as_str(), i))
            .collect();

        let started = std::time::Instant::now();
        let step = |name: &'static str| {
            tracing::debug!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "build step: {name}"
            );
            progress(BuildProgress::Step(name));
        };
        step("reading the knowledge base");
        let examples = training_examples(&faqs, &tickets, &positions, out_of_scope);
        let (texts, entries) = lexical_texts(&faqs, &tickets, &passages, &positions);
        let vocabulary: FxHashSet<String> = texts
            .iter()
            .flat_map(|(_, t)| words(t).map(str::to_string))
            .collect();

        step("indexing");
        let building = dir.map(building_dir);
        if let Some(path) = &building {
            fresh_dir(path)?;
            fresh_dir(&path.join(LEXICAL_DIR))?;
        }
        let index = LexicalIndex::build(
            building.as_ref().map(|p| p.join(LEXICAL_DIR)).as_deref(),
            texts,
        )?;

        let mut vector_changes = VectorChanges::default();
        let mut sentence_vectors = Vec::new();
        if let Some(encoder) = &encoder {
            step("encoding phrasings");
            let mut cache = VectorCache::new(encoder.model_name(), known_vectors);
            let raw: Vec<&str> = examples.iter().map(|e| e.raw.as_str()).collect();
            sentence_vectors = cache.encode_all(encoder.as_ref(), &raw, &|done, total| {
                progress(BuildProgress::Encoding { done, total })
            })?;
            vector_changes = cache.into_changes();
        }
        let sentence_dimensions = sentence_vectors.first().map_or(0, Vec::len);

        step("training the classifier");
        let all_texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
        let vectorizer = Vectorizer::fit(&all_texts, 1);
        let lexical_vectors: Vec<_> = examples
            .iter()
            .map(|e| (vectorizer.transform(&e.text), e.class))
            .collect();
        let entry_vectors = entry_vectors(&entries, &examples, &lexical_vectors);
        let vectors: Vec<_> = lexical_vectors
            .into_iter()
            .enumerate()
            .map(|(i, (x, class))| {
                let sentence = sentence_vectors.get(i).map(Vec::as_slice);
                (joint_features(x, sentence, vectorizer.dimensions()), class)
            })
            .collect();
        let dimensions = vectorizer.dimensions() + sentence_dimensions;
        let (classifier, fold_classifiers) =
            train_with_folds(dimensions, &vectors, &examples, out_of_scope + 1);
        let embeddings = encoder.as_ref().map(|encoder| {
            let mut phrasings = PhrasingVectors::new(sentence_dimensions);
            for (example, vector) in examples.iter().zip(&sentence_vectors) {
                let target = (example.class != out_of_scope).then_some(example.class as u32);
                phrasings.push(vector, target, example.ticket);
            }
            EmbeddingPart {
                model: encoder.model_name().to_string(),
                phrasings,
            }
        });

        let mut model = Model {
            saved: Saved {
                format: FORMAT,
                revision: revision.to_string(),
                ticket_ids: tickets.iter().map(|t| t.id.clone()).collect(),
                faqs,
                passages,
                vocabulary: vocabulary.iter().cloned().collect(),
                entries,
                entry_vectors,
                vectorizer,
                classifier,
                calibrator: None,
                embeddings,
            },
            vocabulary,
            index,
            encoder,
            encoding_nanos: AtomicU64::new(0),
            vector_changes,
        };

        step("calibrating confidence");
        if fold_classifiers.is_empty() && !model.saved.faqs.is_empty() {
            tracing::warn!(
                "no past tickets to learn from: the assistant matches messages against the FAQ \
                 questions alone, and its confidence is their similarity, not a calibrated \
                 probability; import tickets to improve both"
            );
        } else if !fold_classifiers.is_empty() {
            model.saved.calibrator =
                Some(model.calibrate(&examples, &sentence_vectors, &fold_classifiers));
        }

        if let (Some(dir), Some(building)) = (dir, building) {
            step("saving");
            model.save_into(&building)?;
            swap_into_place(&building, dir)?;
            step("saved");
            model.index = LexicalIndex::open(&dir.join(LEXICAL_DIR), model.saved.entries.clone())?;
        }
        Ok(model)
    }

    /// Fits the calibrator on every ticket, each scored by the fold model
    /// that did not learn from it: the signals of the candidate that model
    /// would pick, and whether that pick was right.
    fn calibrate(
        &self,
        examples: &[Example],
        sentence_vectors: &[Vec<f32>],
        folds: &[Classifier],
    ) -> Calibrator {
        let out_of_scope = self.saved.faqs.len();
        let score = |(example, sentence): (&Example, Option<&Vec<f32>>)| {
            let classifier = example.fold.and_then(|fold| folds.get(fold))?;
            // The ticket is in the index; hide it from its own search.
            let hits: Vec<Hit> = self
                .search(&example.text, SEARCH_HITS)
                .into_iter()
                .filter(|h| {
                    !(h.entry.kind == EntryKind::Ticket && Some(h.entry.item) == example.ticket)
                })
                .collect();
            let reading = Reading {
                normalized: &example.text,
                sentence: sentence.map(Vec::as_slice),
                held_out_ticket: example.ticket,
            };
            let (candidate, signals) = self.score_with(classifier, &reading, &hits)?;
            let correct = candidate.target == Target::Faq(example.class as u32)
                && example.class != out_of_scope;
            let weight = if example.class == out_of_scope {
                0.0
            } else {
                1.0
            };
            Some(CalibrationExample {
                signals,
                correct,
                weight,
            })
        };
        // A tuned encoder has seen every ticket outside the held-out fold: only the
        // held-out ones show how it reads a new message.
        let tuned = self.encoder.as_ref().is_some_and(|e| e.tuned_on_tickets());
        let calibrates_on =
            |example: &Example| !tuned || example.fold == Some(TUNING_HELD_OUT_FOLD);
        // Scoring every ticket is a search and a classification each, so the
        // tickets are scored in parallel.
        let mut held_out: Vec<CalibrationExample> = (0..examples.len())
            .into_par_iter()
            .filter(|&i| calibrates_on(&examples[i]))
            .map(|i| (&examples[i], sentence_vectors.get(i)))
            .filter_map(score)
            .collect();

        // Give out-of-scope examples the weight of their assumed share.
        let in_scope = held_out.iter().filter(|e| e.weight > 0.0).count() as f64;
        let oos = held_out.len() as f64 - in_scope;
        if oos > 0.0 {
            let weight = OUT_OF_SCOPE_SHARE / (1.0 - OUT_OF_SCOPE_SHARE) * in_scope / oos;
            held_out
                .iter_mut()
                .filter(|e| e.weight == 0.0)
                .for_each(|e| e.weight = weight.max(1.0));
        }
        tracing::debug!(examples = held_out.len(), out_of_scope = oos, "calibrating");
        Calibrator::fit(&held_out, self.signal_count())
    }

    fn signal_count(&self) -> usize {
        match self.saved.embeddings {
            Some(_) => LEXICAL_SIGNALS + EMBEDDING_SIGNALS,
            None => LEXICAL_SIGNALS,
        }
    }

    /// Opens the saved model if it was built from knowledge at `revision`
    /// with the same encoder (or none, as now).
    pub fn load(
        dir: &Path,
        revision: &str,
        encoder: Option<SharedEncoder>,
    ) -> Result<Option<Self>, ModelError> {
        let path = dir.join(MODEL_FILE);
        let Ok(mut file) = fs::File::open(&path) else {
            return Ok(None);
        };
        // The format number leads the file; a model saved in another layout
        // (by another version of Frontdesk) is rebuilt without being decoded.
        let mut format = [0u8; 4];
        if file.read_exact(&mut format).is_err() || u32::from_le_bytes(format) != FORMAT {
            tracing::info!(path = %path.display(), "model saved in another format; rebuilding");
            return Ok(None);
        }
        if file.seek(SeekFrom::Start(0)).is_err() {
            return Ok(None);
        }
        // The file's own length bounds every allocation while decoding, so a
        // damaged file is refused instead of asking for exabytes of memory.
        let length = file.metadata().map(|m| m.len()).unwrap_or(0);
        let decoded = bincode_options()
            .with_limit(length)
            .deserialize_from(BufReader::new(file));
        let saved: Saved = match decoded {
            Ok(saved) => saved,
            Err(err) => {
                let path = path.display();
                tracing::warn!(%path, %err, "unreadable model; it will be rebuilt");
                return Ok(None);
            }
        };
        if saved.format != FORMAT || saved.revision != revision {
            return Ok(None);
        }
        let built_with = saved.embeddings.as_ref().map(|e| e.model.as_str());
        if built_with != encoder.as_ref().map(|e| e.model_name()) {
            // A warning, because the rebuild may encode every text again, a minute or
            // more on a large knowledge base, and a piped command shows no progress bar.
            tracing::warn!(
                built_with = built_with.unwrap_or("no sentence encoder"),
                now = encoder
                    .as_ref()
                    .map_or("no sentence encoder", |e| e.model_name()),
                "the index was built with another sentence encoder; rebuilding it (texts \
                 not yet encoded by this one are encoded now)"
            );
            return Ok(None);
        }
        let index = match LexicalIndex::open(&dir.join(LEXICAL_DIR), saved.entries.clone()) {
            Ok(index) => index,
            Err(err) => {
                tracing::warn!(dir = %dir.display(), %err, "unreadable index; it will be rebuilt");
                return Ok(None);
            }
        };
        let vocabulary = saved.vocabulary.iter().cloned().collect();
        Ok(Some(Self {
            saved,
            vocabulary,
            index,
            encoder,
            encoding_nanos: AtomicU64::new(0),
            vector_changes: VectorChanges::default(),
        }))
    }

    fn save_into(&self, dir: &Path) -> Result<(), ModelError> {
        let path = dir.join(MODEL_FILE);
        let file = fs::File::create(&path).map_err(|source| ModelError::Write {
            path: path.clone(),
            source,
        })?;
        bincode_options()
            .serialize_into(BufWriter::new(file), &self.saved)
            .map_err(|source| ModelError::Encode { path, source })
    }

    pub fn is_empty(&self) -> bool {
        self.saved.faqs.is_empty() && self.saved.passages.is_empty()
    }

    pub fn knows_word(&self, word: &str) -> bool {
        self.vocabulary.contains(word)
    }

    pub fn faq(&self, i: u32) -> &FaqEntry {
        &self.saved.faqs[i as usize]
    }

    pub fn passage(&self, i: u32) -> &DocPassage {
        &self.saved.passages[i as usize]
    }

    pub fn ticket_id(&self, i: u32) -> Option<&str> {
        self.saved.ticket_ids.get(i as usize).map(String::as_str)
    }

    pub fn has_faq(&self, id: &str) -> bool {
        self.faq_by_id(id).is_some()
    }

    fn faq_by_id(&self, id: &str) -> Option<&FaqEntry> {
        self.saved.faqs.iter().find(|f| f.id == id)
    }

    fn passage_by_id(&self, id: &str) -> Option<&DocPassage> {
        self.saved.passages.iter().find(|p| p.id == id)
    }

    pub fn source_title(&self, source: &SourceRef) -> Option<String> {
        match source.kind {
            SourceKind::Faq => self.faq_by_id(&source.id).map(|f| f.question.clone()),
            SourceKind::Doc => self.passage_by_id(&source.id).map(|p| p.title.clone()),
            // Past tickets have no title; products are the catalog's to name.
            SourceKind::Ticket | SourceKind::Product => None,
        }
    }

    /// The address the owner gave for an FAQ entry.
    pub fn faq_url(&self, id: &str) -> Option<&str> {
        self.faq_by_id(id).and_then(|f| f.url.as_deref())
    }

    /// What a source says, for a language model to phrase an answer from: an FAQ's
    /// answer, a passage's text (their titles are [`Model::source_title`]).
    pub fn source_text(&self, source: &SourceRef) -> Option<String> {
        match source.kind {
            SourceKind::Faq => self.faq_by_id(&source.id).map(|f| f.answer.clone()),
            SourceKind::Doc => self.passage_by_id(&source.id).map(|p| p.text.clone()),
            SourceKind::Ticket | SourceKind::Product => None,
        }
    }

    pub fn search(&self, normalized: &str, limit: usize) -> Vec<Hit> {
        self.index.search(normalized, limit).unwrap_or_else(|err| {
            tracing::warn!(%err, "lexical search failed; answering from the classifier alone");
            Vec::new()
        })
    }

    /// The best FAQ or document passage for the message, whichever is more
    /// likely right.
    pub fn best_candidate(&self, message: &str, normalized: &str) -> Option<Candidate> {
        let hits = self.search(normalized, SEARCH_HITS);
        let sentence = self.encode_message(message);
        let reading = Reading {
            normalized,
            sentence: sentence.as_deref(),
            held_out_ticket: None,
        };
        let faq = self
            .score_with(&self.saved.classifier, &reading, &hits)
            .map(|(candidate, _)| candidate);
        let passage = self.best_passage(normalized, &hits);
        match (faq, passage) {
            (Some(faq), Some(passage)) if passage.confidence > faq.confidence => Some(passage),
            (Some(faq), _) => Some(faq),
            (None, passage) => passage,
        }
    }

    /// What the build changed among the stored vectors; empty after the first call, and
    /// for a model that was loaded rather than built.
    pub fn take_vector_changes(&mut self) -> VectorChanges {
        std::mem::take(&mut self.vector_changes)
    }

    /// Time spent encoding messages so far (training's encoding not included).
    pub fn time_spent_encoding(&self) -> Duration {
        Duration::from_nanos(self.encoding_nanos.load(Ordering::Relaxed))
    }

    /// The message's sentence vector, when the model reads by meaning.
    fn encode_message(&self, message: &str) -> Option<Vec<f32>> {
        let encoder = self.encoder.as_ref()?;
        self.saved.embeddings.as_ref()?;
        let started = Instant::now();
        let encoded = encoder.encode(&[message]);
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.encoding_nanos.fetch_add(nanos, Ordering::Relaxed);
        match encoded {
            Ok(mut vectors) => vectors.pop(),
            Err(err) => {
                tracing::warn!(%err, "cannot encode the message; it will be handed off");
                None
            }
        }
    }

    /// The best FAQ for the message and the signals its confidence is computed
    /// from.
    fn score_with(
        &self,
        classifier: &Classifier,
        reading: &Reading,
        hits: &[Hit],
    ) -> Option<(Candidate, Vec<f64>)> {
        let normalized = reading.normalized;
        let faqs = self.saved.faqs.len();
        let x = self.saved.vectorizer.transform(normalized);
        let hits: Vec<Hit> = hits
            .iter()
            .filter(|h| h.entry.kind != EntryKind::Passage)
            .copied()
            .collect();
        if faqs == 0 || x.is_empty() && hits.is_empty() {
            return None;
        }

        let closeness = match (&self.saved.embeddings, reading.sentence) {
            (Some(part), Some(sentence)) => Some(part.phrasings.closeness(
                sentence,
                faqs,
                reading.held_out_ticket,
            )),
            _ => None,
        };
        // A model that reads by meaning but could not encode this message
        // has no honest confidence for it.
        let unreadable = self.saved.embeddings.is_some() && closeness.is_none();
        // Without a sentence vector the n-gram features are the whole input; only
        // a model that reads by meaning pays for a second copy.
        let scores = match reading.sentence {
            Some(_) => {
                let dimensions = self.saved.vectorizer.dimensions();
                classifier.scores(&joint_features(x.clone(), reading.sentence, dimensions))
            }
            None => classifier.scores(&x),
        };
        let votes = faq_votes(&hits, faqs);
        let vote_total: f64 = votes.iter().sum::<f64>().max(1e-9);

        let similar = self.similarities(&x, &hits);
        let mut nearest_per_faq = vec![0.0f64; faqs];
        for &(target, cosine) in &similar {
            if let Some(t) = target {
                nearest_per_faq[t as usize] = nearest_per_faq[t as usize].max(cosine);
            }
        }
        let by_meaning = |f: usize| closeness.as_ref().map_or(0.0, |c| c.per_faq[f]);
        let combined = |f: usize| {
            scores[f] as f64
                + NEAREST_PHRASING_WEIGHT * nearest_per_faq[f]
                + LEXICAL_VOTE_WEIGHT * votes[f] / vote_total
                + EMBEDDING_NEIGHBOUR_WEIGHT * by_meaning(f)
        };
        let best = (0..faqs)
            .max_by(|&a, &b| combined(a).total_cmp(&combined(b)))
            .unwrap_or(0);
        let s_best = scores[best] as f64;
        let s_second = (0..faqs)
            .filter(|&f| f != best)
            .map(|f| scores[f] as f64)
            .fold(f64::NEG_INFINITY, f64::max);
        let s_second = if s_second.is_finite() {
            s_second
        } else {
            s_best
        };
        let s_oos = scores[faqs] as f64;
        let top_agrees = hits
            .iter()
            .find(|h| h.entry.kind != EntryKind::Passage)
            .is_some_and(|h| h.entry.target == Some(best as u32));
        let top_score = hits.first().map(|h| h.score as f64).unwrap_or(0.0);
        let tokens: Vec<&str> = words(normalized).collect();
        let known = tokens.iter().filter(|w| self.knows_word(w)).count() as f64;
        let neighbours = neighbours(&similar, best as u32);

        let mut signals = vec![
            s_best,
            s_best - s_second,
            s_oos,
            s_best - s_oos,
            votes[best] / vote_total,
            if top_agrees { 1.0 } else { 0.0 },
            (1.0 + top_score).ln(),
            known / tokens.len().max(1) as f64,
            (tokens.len().max(1) as f64).ln(),
            neighbours.nearest,
            neighbours.nearest_of_best,
            if neighbours.nearest_agrees { 1.0 } else { 0.0 },
        ];
        if let Some(closeness) = &closeness {
            signals.extend(meaning_signals(closeness, best as u32));
        }
        let evidence = hits
            .iter()
            .find(|h| h.entry.kind == EntryKind::Ticket && h.entry.target == Some(best as u32))
            .map(|h| h.entry.item);
        let confidence = match &self.saved.calibrator {
            _ if unreadable => 0.0,
            Some(calibrator) => calibrator.probability(&signals),
            None => uncalibrated_confidence(&neighbours),
        };
        let candidate = Candidate {
            target: Target::Faq(best as u32),
            confidence,
            evidence,
        };
        Some((candidate, signals))
    }

    /// Cosine similarity of the message to each labelled phrasing among the
    /// lexical hits, with the FAQ (or out-of-scope `None`) it is labelled with.
    fn similarities(&self, x: &SparseVector, hits: &[Hit]) -> Vec<(Option<u32>, f64)> {
        hits.iter()
            .filter_map(|hit| {
                let vector = self.saved.entry_vectors.get(hit.entry.slot as usize)?;
                (!vector.is_empty()).then(|| (hit.entry.target, x.dot(vector) as f64))
            })
            .collect()
    }

    /// The passage the lexical search ranks first, with a confidence from how
    /// much of the message it covers: the share of the message's content words
    /// found in the passage, squared, and scaled down for messages of fewer
    /// than three content words, which say too little to match on.
    ///
    /// This is a heuristic, not a calibrated probability: passages have no
    /// labelled examples to calibrate on. Once reviewed conversations record
    /// which passage answered them, passages can join the calibrated path.
    fn best_passage(&self, normalized: &str, hits: &[Hit]) -> Option<Candidate> {
        let hit = hits.iter().find(|h| h.entry.kind == EntryKind::Passage)?;
        let target = hit.entry.target?;
        let passage = self.saved.passages.get(target as usize)?;

        let content: Vec<&str> = words(normalized)
            .filter(|w| !is_function_word(w) && !is_courtesy_word(w))
            .collect();
        if content.is_empty() {
            return None;
        }
        let passage_text = normalize(&format!("{} {}", passage.title, passage.text));
        let stems: FxHashSet<&str> = words(&passage_text).map(stem).collect();
        let covered = content.iter().filter(|w| stems.contains(stem(w))).count() as f64;
        let coverage = covered / content.len() as f64;
        let length_factor = (content.len() as f64 / 3.0).min(1.0);
        Some(Candidate {
            target: Target::Passage(target),
            confidence: coverage * coverage * length_factor,
            evidence: None,
        })
    }
}

/// One message as the scorer reads it.
struct Reading<'a> {
    normalized: &'a str,
    /// The sentence vector, when the model reads by meaning.
    sentence: Option<&'a [f32]>,
    /// A ticket scored for calibration is hidden from its own neighbours.
    held_out_ticket: Option<u32>,
}

/// The n-gram features with the sentence vector appended after the last
/// n-gram column, so one linear model weighs words and meaning together.
fn joint_features(mut x: SparseVector, sentence: Option<&[f32]>, offset: usize) -> SparseVector {
    if let Some(sentence) = sentence {
        for (i, value) in sentence.iter().enumerate() {
            x.indices.push((offset + i) as u32);
            x.values.push(value * EMBEDDING_FEATURE_WEIGHT);
        }
    }
    x
}

/// How near the message is by meaning to the best FAQ's phrasings, to any
/// phrasing, and to the out-of-scope ones: a message far from everything
/// known, or nearer to what was handed off, should not be answered.
fn meaning_signals(closeness: &Closeness, best: u32) -> [f64; EMBEDDING_SIGNALS] {
    let of_best = closeness.per_faq.get(best as usize).copied().unwrap_or(0.0);
    let agrees = closeness.nearest_target == Some(Some(best));
    [
        of_best,
        closeness.nearest,
        if agrees { 1.0 } else { 0.0 },
        closeness.out_of_scope,
        of_best - closeness.out_of_scope,
    ]
}

/// A crude stem: the first five characters. Enough to meet "refunds" with
/// "refund" and "shipping" with "shipped" when comparing words with a passage.
fn stem(word: &str) -> &str {
    match word.char_indices().nth(5) {
        Some((end, _)) => &word[..end],
        None => word,
    }
}

/// Without tickets there is nothing to calibrate on, so the confidence is the
/// cosine similarity to the best FAQ's question, halved when another FAQ's
/// text is nearer. A message phrased like the question answers; a paraphrase
/// with other words hands off. What lifts this is importing past tickets.
fn uncalibrated_confidence(neighbours: &Neighbours) -> f64 {
    let agreement = if neighbours.nearest_agrees { 1.0 } else { 0.5 };
    (neighbours.nearest_of_best * agreement).clamp(0.0, 1.0)
}

/// The nearest labelled phrasing of all, and the nearest of the best FAQ.
fn neighbours(similar: &[(Option<u32>, f64)], best: u32) -> Neighbours {
    let mut found = Neighbours::default();
    let mut nearest_target = None;
    for &(target, cosine) in similar {
        if cosine > found.nearest {
            found.nearest = cosine;
            nearest_target = Some(target);
        }
        if target == Some(best) {
            found.nearest_of_best = found.nearest_of_best.max(cosine);
        }
    }
    found.nearest_agrees = nearest_target == Some(Some(best));
    found
}

#[derive(Debug, Default)]
struct Neighbours {
    nearest: f64,
    nearest_of_best: f64,
    nearest_agrees: bool,
}

/// The vectors of FAQ questions and tickets, in entry order; other entries
/// get an empty vector.
fn entry_vectors(
    entries: &[Entry],
    examples: &[Example],
    vectors: &[(SparseVector, usize)],
) -> Vec<SparseVector> {
    let mut by_ticket: FxHashMap<u32, &SparseVector> = FxHashMap::default();
    let mut by_faq: FxHashMap<usize, &SparseVector> = FxHashMap::default();
    for (example, (vector, _)) in examples.iter().zip(vectors) {
        match example.ticket {
            Some(ticket) => by_ticket.insert(ticket, vector),
            None => by_faq.insert(example.class, vector),
        };
    }
    entries
        .iter()
        .map(|entry| {
            let vector = match entry.kind {
                EntryKind::Ticket => by_ticket.get(&entry.item),
                EntryKind::FaqQuestion => by_faq.get(&(entry.item as usize)),
                EntryKind::FaqAnswer | EntryKind::Passage => None,
            };
            vector.map(|v| (*v).clone()).unwrap_or_default()
        })
        .collect()
}

/// Score-weighted votes of the top lexical hits for each FAQ.
fn faq_votes(hits: &[Hit], faqs: usize) -> Vec<f64> {
    let mut votes = vec![0.0; faqs];
    let top = hits.first().map(|h| h.score).unwrap_or(1.0).max(1e-6);
    for hit in hits
        .iter()
        .filter(|h| h.entry.kind != EntryKind::Passage)
        .take(VOTING_HITS)
    {
        if let Some(target) = hit.entry.target {
            votes[target as usize] += (hit.score / top) as f64;
        }
    }
    votes
}

/// Trains the model that answers, on every example, and one model per
/// cross-fitting fold, each without that fold's tickets, whose scores on the
/// tickets it did not see fit the calibrator. The jobs share the cores.
fn train_with_folds(
    dimensions: usize,
    vectors: &[(SparseVector, usize)],
    examples: &[Example],
    classes: usize,
) -> (Classifier, Vec<Classifier>) {
    let options = TrainingOptions::default();
    let has_tickets = examples.iter().any(|e| e.fold.is_some());
    if !has_tickets {
        return (Classifier::untrained(classes), Vec::new());
    }
    let folds = FOLDS;
    let jobs: Vec<Option<usize>> = std::iter::once(None).chain((0..folds).map(Some)).collect();

    let train = |fold: Option<usize>| {
        let set: Vec<(SparseVector, usize)> = vectors
            .iter()
            .zip(examples)
            .filter(|(_, e)| fold.is_none() || e.fold != fold)
            .map(|(v, _)| v.clone())
            .collect();
        Classifier::train(dimensions, classes, &set, options)
    };
    let trained: Vec<Classifier> = jobs.par_iter().map(|&fold| train(fold)).collect();

    let mut models = trained.into_iter();
    let answering = models.next().unwrap_or_else(|| train(None));
    (answering, models.collect())
}

fn training_examples(
    faqs: &[FaqEntry],
    tickets: &[Ticket],
    positions: &FxHashMap<&str, usize>,
    out_of_scope: usize,
) -> Vec<Example> {
    let mut examples: Vec<Example> = faqs
        .iter()
        .enumerate()
        .map(|(i, faq)| Example {
            text: normalize(&faq.question),
            raw: faq.question.clone(),
            class: i,
            ticket: None,
            fold: None,
        })
        .collect();
    for (i, ticket) in tickets.iter().enumerate() {
        let Some(class) = class_of(ticket, positions, out_of_scope) else {
            continue;
        };
        examples.push(Example {
            text: normalize(&ticket.message),
            raw: ticket.message.clone(),
            class,
            ticket: Some(i as u32),
            fold: Some(fold_of(&ticket.id)),
        });
    }
    examples
}

/// The class a ticket teaches: its FAQ's position, or `out_of_scope` when no FAQ answers
/// it. `None` when it names an FAQ we do not have, which teaches nothing yet.
fn class_of(
    ticket: &Ticket,
    positions: &FxHashMap<&str, usize>,
    out_of_scope: usize,
) -> Option<usize> {
    match ticket.faq_id.as_deref() {
        None => Some(out_of_scope),
        Some(id) => positions.get(id).copied(),
    }
}

/// What the sentence encoder is tuned on (see [`tuning_set`]).
#[derive(Debug, Default)]
pub struct TuningSet<'a> {
    /// Every FAQ question, then every labelled ticket outside the held-out fold.
    pub texts: Vec<&'a str>,
    /// The class of each text: an FAQ's position in the FAQ list, or the list's length
    /// for tickets no FAQ answers.
    pub classes: Vec<usize>,
    /// Tickets among the texts.
    pub tickets: usize,
    /// Tickets left out so that confidence is calibrated on what the encoder never saw.
    pub held_out: usize,
}

/// The phrasings to tune the sentence encoder on, labelled as the classifier labels them,
/// without the tickets [`held_out_from_tuning`] keeps for calibration.
pub fn tuning_set<'a>(faqs: &'a [FaqEntry], tickets: &'a [Ticket]) -> TuningSet<'a> {
    let positions: FxHashMap<&str, usize> = faqs
        .iter()
        .enumerate()
        .map(|(i, faq)| (faq.id.as_str(), i))
        .collect();
    let mut set = TuningSet {
        texts: faqs.iter().map(|faq| faq.question.as_str()).collect(),
        classes: (0..faqs.len()).collect(),
        ..TuningSet::default()
    };
    for ticket in tickets {
        let Some(class) = class_of(ticket, &positions, faqs.len()) else {
            continue;
        };
        if held_out_from_tuning(&ticket.id) {
            set.held_out += 1;
            continue;
        }
        set.texts.push(&ticket.message);
        set.classes.push(class);
        set.tickets += 1;
    }
    set
}

fn lexical_texts(
    faqs: &[FaqEntry],
    tickets: &[Ticket],
    passages: &[DocPassage],
    positions: &FxHashMap<&str, usize>,
) -> (Vec<(Entry, String)>, Vec<Entry>) {
    let mut texts = Vec::new();
    for (i, faq) in faqs.iter().enumerate() {
        let target = Some(i as u32);
        let item = i as u32;
        let slot = texts.len() as u32;
        let question = Entry {
            kind: EntryKind::FaqQuestion,
            target,
            item,
            slot,
        };
        let answer = Entry {
            kind: EntryKind::FaqAnswer,
            target,
            item,
            slot: slot + 1,
        };
        texts.push((question, normalize(&faq.question)));
        texts.push((answer, normalize(&faq.answer)));
    }
    for (i, ticket) in tickets.iter().enumerate() {
        let target = match ticket.faq_id.as_deref() {
            None => None,
            Some(id) => match positions.get(id) {
                Some(&p) => Some(p as u32),
                None => continue,
            },
        };
        let slot = texts.len() as u32;
        let entry = Entry {
            kind: EntryKind::Ticket,
            target,
            item: i as u32,
            slot,
        };
        texts.push((entry, normalize(&ticket.message)));
    }
    for (i, passage) in passages.iter().enumerate() {
        let slot = texts.len() as u32;
        let target = Some(i as u32);
        let entry = Entry {
            kind: EntryKind::Passage,
            target,
            item: i as u32,
            slot,
        };
        texts.push((
            entry,
            normalize(&format!("{}\n{}", passage.title, passage.text)),
        ));
    }
    let entries = texts.iter().map(|(e, _)| *e).collect();
    (texts, entries)
}

/// The cross-fitting fold a ticket belongs to.
fn fold_of(ticket_id: &str) -> usize {
    (stable_hash(ticket_id) % FOLDS as u64) as usize
}

/// Whether a ticket must be left out when the sentence encoder is tuned: the tickets of
/// one fold, on which a tuned encoder's confidence is calibrated.
pub fn held_out_from_tuning(ticket_id: &str) -> bool {
    fold_of(ticket_id) == TUNING_HELD_OUT_FOLD
}

/// FNV-1a: stable across builds and platforms, unlike the std hasher, so the
/// same ticket is always held out.
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn bincode_options() -> impl bincode::Options {
    bincode::DefaultOptions::new().with_fixint_encoding()
}

/// A directory beside `dir` that no other process uses: two commands that
/// rebuild at once (an import and an `ask`) each write their own.
fn building_dir(dir: &Path) -> PathBuf {
    sibling(dir, "building")
}

fn sibling(dir: &Path, purpose: &str) -> PathBuf {
    let mut name = dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    name.push(format!(".{purpose}-{}-{nanos}", std::process::id()));
    dir.with_file_name(name)
}

fn fresh_dir(path: &Path) -> Result<(), ModelError> {
    let write_error = |source| ModelError::Write {
        path: path.to_path_buf(),
        source,
    };
    if path.exists() {
        fs::remove_dir_all(path).map_err(write_error)?;
    }
    fs::create_dir_all(path).map_err(write_error)
}

/// Replaces `dir` with the finished `building` directory. The old index is
/// moved aside before the new one takes its name, so a reader finds a whole
/// index or none (and rebuilds), never half of one. Another process may swap
/// in between; then the rename is tried again over its result.
///
/// Known shortcoming: when two rebuilds of different revisions race, the
/// process that loses keeps answering from its own model with the winner's
/// lexical index until it exits. A lock file around rebuilds would lift it;
/// the server, which keeps one engine in memory, will need that lock anyway.
fn swap_into_place(building: &Path, dir: &Path) -> Result<(), ModelError> {
    let write_error = |source| ModelError::Write {
        path: dir.to_path_buf(),
        source,
    };
    let mut attempts = 0;
    loop {
        if dir.exists() {
            let old = sibling(dir, "old");
            if fs::rename(dir, &old).is_ok() {
                let _ = fs::remove_dir_all(&old);
            }
        }
        match fs::rename(building, dir) {
            Ok(()) => return Ok(()),
            Err(_) if attempts < 3 => attempts += 1,
            Err(err) => {
                let _ = fs::remove_dir_all(building);
                return Err(write_error(err));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faq(id: &str, question: &str) -> FaqEntry {
        FaqEntry {
            id: id.to_string(),
            question: question.to_string(),
            answer: format!("the answer to {question}"),
            tags: Vec::new(),
            url: None,
        }
    }

    fn ticket(id: &str, message: &str, faq_id: Option<&str>) -> Ticket {
        Ticket {
            id: id.to_string(),
            message: message.to_string(),
            faq_id: faq_id.map(str::to_string),
            answer: None,
        }
    }

    #[test]
    fn the_tuning_set_labels_like_the_classifier_and_keeps_one_fold_out() {
        let faqs = [
            faq("card", "Where is my card?"),
            faq("pin", "How do I reset my PIN?"),
        ];
        let tickets: Vec<Ticket> = (0..30)
            .map(|i| {
                let target = match i % 3 {
                    0 => Some("pin"),
                    1 => None,
                    _ => Some("an FAQ since deleted"),
                };
                ticket(&format!("t{i}"), &format!("message {i}"), target)
            })
            .collect();

        let set = tuning_set(&faqs, &tickets);

        assert_eq!(
            &set.texts[..2],
            ["Where is my card?", "How do I reset my PIN?"]
        );
        assert_eq!(&set.classes[..2], [0, 1]);
        // Tickets naming a missing FAQ teach nothing; the other 20 are tuned on or held out.
        assert_eq!(set.tickets + set.held_out, 20);
        let expected_held_out = tickets
            .iter()
            .filter(|t| t.faq_id.as_deref() != Some("an FAQ since deleted"))
            .filter(|t| held_out_from_tuning(&t.id))
            .count();
        assert_eq!(set.held_out, expected_held_out);
        assert!(
            set.held_out > 0 && set.tickets > 0,
            "{} / {}",
            set.held_out,
            set.tickets
        );
        for (text, class) in set.texts.iter().zip(&set.classes).skip(2) {
            let number: usize = text["message ".len()..].parse().unwrap();
            let expected = if number.is_multiple_of(3) {
                1
            } else {
                faqs.len()
            };
            assert_eq!(*class, expected, "{text}");
            assert!(!held_out_from_tuning(&format!("t{number}")), "{text}");
        }
    }
}
