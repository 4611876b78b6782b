//! Rules that decide before any model does: a customer who asks for a person,
//! an angry or abusive message, a topic the owner wants handled by people.
//!
//! Rules run on normalised text (see [`crate::normalize`]): lower case, accents
//! folded, no punctuation, so the patterns below are written that way too.

use regex::{Regex, RegexSet};
use serde::{Deserialize, Serialize};

/// Ways customers ask for a person, in English, Spanish, French, German and
/// Portuguese. Each pattern needs a request ("talk to", "quiero", "parler à")
/// or a bare demand ("agent please"), so that "are you a real person?" or
/// "the person I paid didn't get it" are not read as asking for one.
const PERSON_REQUEST_PATTERNS: &[&str] = &[
    // English
    r"\b(talk|speak|chat|connect|transfer|put|get) (me )?(through )?(to|with) (a |an |some |the |your |one of your )?(real |live |actual |human )?(human|person|people|agent|representative|rep|operator|someone|somebody|staff|employee|manager|supervisor|advisor|adviser|customer (service|support|care))\b",
    r"\b(want|need|d like|would like|get me|give me|request|prefer) (to have |to get )?(a |an |some |the )?(real |live |actual |human )?(human|person|agent|representative|operator|somebody real|someone real|manager|supervisor)\b",
    r"\b(talk|talking|speak|speaking|chat|chatting|contact|contacting|reach|reaching) (to |with )?(a |an |the |your )?(live|human|real) (agent|person|operator|representative|support|chat)\b",
    r"\b(complain|escalate) to (a |the |your )?(manager|supervisor)\b",
    r"\b(call me back|someone call me|somebody call me|can someone call|phone me back)\b",
    r"^(live chat|live agent|live support|human agent|real person|no bot)\b",
    r"\b(human|agent|person|representative|operator|someone) (please|pls|now|asap)\b",
    r"\b(real|live|actual) (human|person|agent|people)\b.*\b(please|want|need|talk|speak)\b",
    r"\b(is there|are there|can i get) (a |an |any )?(human|person|real person|agent|anyone real)\b",
    r"\b(stop|no more|enough of|not) (the |this |a )?(bot|robot|machine|automated)\b",
    r"\b(escalate|transfer) (this|me|my (case|issue|ticket))\b",
    r"^(human|agent|operator|representative|person|real person|live agent)$",
    // Spanish
    r"\b(hablar|comunicarme|contactar|chatear) con (un |una |alguien|el |la )?(persona|humano|agente|asesor|asesora|operador|operadora|representante|encargado|supervisor|alguien)\b",
    r"\b(quiero|necesito|prefiero|pasame|paseme|pasas|pasa|deme|dame) (con )?(un |una )?(persona|humano|agente|asesor|operador|representante)\b",
    r"\b(persona|humano|agente|asesor) (real|de verdad|por favor)\b",
    // French
    r"\bparler (a|avec) (un |une |quelqu un|quelquun|l )?(humain|personne|conseiller|conseillere|agent|operateur|operatrice|vrai|vraie|responsable|quelqu un|quelquun)\b",
    r"\b(je veux|je voudrais|j aimerais|jaimerais|je souhaite|passez moi|passe moi) (parler a )?(un |une )?(humain|personne|conseiller|conseillere|agent|operateur)\b",
    r"\b(un vrai humain|une vraie personne|un conseiller s il vous plait|conseiller svp|agent svp|humain svp)\b",
    // German
    r"\bmit (einem |einer |dem |der |ihrem |ihrer )?(echten |richtigen |menschlichen )?(menschen|mensch|mitarbeiter|mitarbeiterin|person|berater|beraterin|agenten|kundenberater|kundendienst|sachbearbeiter|support|jemandem)\b.*\b(sprechen|reden|verbinden|chatten|weiterleiten|spreche|rede)\b",
    r"\b(verbinden|weiterleiten) sie mich\b",
    r"\b(sprechen|reden|spreche|rede) mit (einem |einer |jemandem)",
    r"\b(echten|richtigen) (menschen|mitarbeiter|person)\b",
    r"\b(mitarbeiter|mensch|berater) bitte\b",
    r"\b(ich (will|mochte|brauche)) (einen |eine )?(menschen|mitarbeiter|berater|person)\b",
    // Portuguese
    r"\b(falar|conversar) com (um |uma |algum |alguma |o |a )?(alguem|humano|pessoa|atendente|agente|representante|operador|consultor|gerente)\b",
    r"\b(hablar|ablar) con (alguien|una persona|un humano|un agente)\b",
    r"\b(quero|preciso de|gostaria de) (um |uma )?(humano|pessoa|atendente|agente|representante)\b",
    r"\b(atendimento humano|pessoa real|atendente (por favor|agora))\b",
];

/// Insults and anger strong enough that a person should take over. Ordinary
/// frustration ("this is taking long") stays with the assistant.
const ANGER_OR_ABUSE_PATTERNS: &[&str] = &[
    r"\b(fuck\w*|f+u+c+k+|shit\w*|bullshit|crap|bastard\w*|asshole\w*|bitch\w*|dickhead|wtf|screw you)\b",
    r"\b(idiot\w*|moron\w*|stupid|useless|incompetent|pathetic|ridiculous|disgusting|outrageous)\b.*\b(bot|you|service|company|bank|app|people|support|team)\b",
    r"\b(you|your) (are|re|r) (an? )?(idiot|moron|joke|useless|liars?|thieves|scammers?|crooks?)\b",
    r"\b(scammers|thieves|rip ?off|ripped me off|worst (service|company|bank|experience))\b",
    r"\b(this|you|your company|your bank) (is|are) (a )?scam\b",
    r"\b(i am|im|i m) (so |really |very |extremely )?(angry|furious|livid|pissed|fed up|sick of)\b",
    r"\b(mierda|joder|idiota|estafa|estafadores|ladrones|putain|merde|connard|arnaque|voleurs|scheisse|scheiss|betrug|betruger|arschloch|idioten|porra|merda|caralho|golpe|ladroes)\b",
];

/// A topic the owner wants people, not the assistant, to handle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensitiveTopic {
    pub name: String,
    /// Phrases that mark the topic, matched as whole words on normalised text.
    pub phrases: Vec<String>,
}

/// The owner's sensitive list when none is configured: legal threats and
/// chargebacks, where a wrong word from a bot costs real money.
pub fn default_sensitive_topics() -> Vec<SensitiveTopic> {
    let topic = |name: &str, phrases: &[&str]| SensitiveTopic {
        name: name.to_string(),
        phrases: phrases.iter().map(|p| p.to_string()).collect(),
    };
    vec![
        topic(
            "legal_threat",
            &[
                "lawyer",
                "attorney",
                "solicitor",
                "lawsuit",
                "sue you",
                "sue your",
                "suing",
                "legal action",
                "take you to court",
                "small claims",
                "abogado",
                "demanda",
                "avocat",
                "anwalt",
                "advogado",
                "processo judicial",
            ],
        ),
        topic(
            "self_harm",
            &[
                "kill myself",
                "killing myself",
                "end my life",
                "suicide",
                "suicidal",
                "hurt myself",
                "self harm",
                "want to die",
            ],
        ),
        topic(
            "chargeback",
            &[
                "chargeback",
                "charge back",
                "dispute with my bank",
                "contracargo",
                "retrocesso",
            ],
        ),
    ]
}

/// What a rule found in a message, in the order the decision checks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleHit {
    PersonRequested,
    AngerOrAbuse,
    SensitiveTopic(String),
}

/// The compiled rules.
#[derive(Debug, Clone)]
pub struct Rules {
    person_request: RegexSet,
    anger_or_abuse: RegexSet,
    sensitive: Vec<(String, Regex)>,
}

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("sensitive topic `{topic}` has a phrase that cannot be matched: {source}")]
    Pattern {
        topic: String,
        #[source]
        source: regex::Error,
    },
    /// Matching is on normalised words, so a phrase of punctuation or of one
    /// letter would match everything or nearly everything.
    #[error(
        "sensitive topic `{topic}`: phrase {phrase:?} has fewer than two letters or digits \
         once punctuation is removed, so it would match almost every message"
    )]
    PhraseTooShort { topic: String, phrase: String },
    #[error("sensitive topic `{topic}` has no phrases")]
    NoPhrases { topic: String },
}

impl Rules {
    pub fn new(sensitive_topics: &[SensitiveTopic]) -> Result<Self, RuleError> {
        let sensitive = sensitive_topics
            .iter()
            .map(|t| compile_topic(t).map(|re| (t.name.clone(), re)))
            .collect::<Result<_, _>>()?;

        Ok(Self {
            person_request: RegexSet::new(PERSON_REQUEST_PATTERNS).expect("built-in patterns"),
            anger_or_abuse: RegexSet::new(ANGER_OR_ABUSE_PATTERNS).expect("built-in patterns"),
            sensitive,
        })
    }

    /// The first rule the normalised message trips, if any. Asking for a
    /// person wins over everything: that customer is owed a person whatever
    /// else they wrote.
    pub fn check(&self, normalized: &str) -> Option<RuleHit> {
        if self.person_request.is_match(normalized) {
            return Some(RuleHit::PersonRequested);
        }
        if let Some((name, _)) = self
            .sensitive
            .iter()
            .find(|(_, re)| re.is_match(normalized))
        {
            return Some(RuleHit::SensitiveTopic(name.clone()));
        }
        if self.anger_or_abuse.is_match(normalized) {
            return Some(RuleHit::AngerOrAbuse);
        }
        None
    }
}

fn compile_topic(topic: &SensitiveTopic) -> Result<Regex, RuleError> {
    if topic.phrases.is_empty() {
        return Err(RuleError::NoPhrases {
            topic: topic.name.clone(),
        });
    }
    let mut alternatives = Vec::with_capacity(topic.phrases.len());
    for phrase in &topic.phrases {
        let normalized = crate::normalize::normalize(phrase);
        if normalized.chars().filter(|c| c.is_alphanumeric()).count() < 2 {
            return Err(RuleError::PhraseTooShort {
                topic: topic.name.clone(),
                phrase: phrase.clone(),
            });
        }
        alternatives.push(regex::escape(&normalized));
    }
    let pattern = format!(r"\b({})\b", alternatives.join("|"));
    Regex::new(&pattern).map_err(|source| RuleError::Pattern {
        topic: topic.name.clone(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::normalize;

    fn rules() -> Rules {
        Rules::new(&default_sensitive_topics()).expect("default rules compile")
    }

    fn hit(message: &str) -> Option<RuleHit> {
        rules().check(&normalize(message))
    }

    #[test]
    fn person_requests_in_five_languages() {
        let requests = [
            "talk to a human",
            "Can I speak with a real person please?",
            "agent please",
            "I want a human",
            "Human!",
            "connect me to customer service",
            "Where is my card? I'd like to talk to someone about it.",
            "¿Puedo hablar con una persona?",
            "quiero hablar con un agente",
            "Je voudrais parler à un conseiller",
            "Puis-je parler à quelqu'un ?",
            "Ich möchte mit einem Mitarbeiter sprechen",
            "Kann ich bitte mit einem echten Menschen reden?",
            "Quero falar com um atendente",
            "Posso falar com uma pessoa?",
            "get me a real person",
            "i need help talking to a live agent",
            "live chat",
            "I want to complain to a manager",
            "can someone call me back",
            "¿Me pasas con un agente?",
            "passez-moi un conseiller",
            "kann ich mit jemandem sprechen",
            "Bitte verbinden Sie mich mit einem Mitarbeiter",
            "can i talk to a huamn",
            "I'm trying to talk to somone",
        ];
        for request in requests {
            assert_eq!(hit(request), Some(RuleHit::PersonRequested), "{request}");
        }
    }

    #[test]
    fn talking_about_people_is_not_asking_for_one() {
        let questions = [
            "are you a real person",
            "the person I sent money to did not get it",
            "How do I change my personal details?",
            "who is the person responsible for creating you",
            "My agent told me to top up",
            "can you act and think like a real person",
            "is this a scam?",
        ];
        for question in questions {
            assert_eq!(hit(question), None, "{question}");
        }
    }

    #[test]
    fn sensitive_topics_and_abuse() {
        assert_eq!(
            hit("I will call my lawyer about this"),
            Some(RuleHit::SensitiveTopic("legal_threat".into()))
        );
        assert_eq!(
            hit("I'm filing a chargeback"),
            Some(RuleHit::SensitiveTopic("chargeback".into()))
        );
        assert_eq!(
            hit("you are useless, stupid bot"),
            Some(RuleHit::AngerOrAbuse)
        );
        assert_eq!(hit("This is taking a while, where is my card?"), None);
    }

    #[test]
    fn person_request_wins_over_other_rules() {
        assert_eq!(
            hit("this is a scam, let me talk to a human"),
            Some(RuleHit::PersonRequested)
        );
    }

    #[test]
    fn phrases_that_would_match_everything_are_refused() {
        for phrase in ["", "   ", "(.*)", "!!!", "?", "c++"] {
            let topics = vec![SensitiveTopic {
                name: "x".into(),
                phrases: vec![phrase.into()],
            }];
            assert!(Rules::new(&topics).is_err(), "{phrase:?}");
        }
        let empty = vec![SensitiveTopic {
            name: "x".into(),
            phrases: Vec::new(),
        }];
        assert!(Rules::new(&empty).is_err());
    }

    #[test]
    fn owner_topics_are_configurable() {
        let topics = vec![SensitiveTopic {
            name: "medical".into(),
            phrases: vec!["Allergic reaction".into()],
        }];
        let rules = Rules::new(&topics).expect("compiles");
        assert_eq!(
            rules.check(&normalize("I had an ALLERGIC reaction!")),
            Some(RuleHit::SensitiveTopic("medical".into()))
        );
        assert_eq!(rules.check(&normalize("lawyer")), None);
    }
}
