//! Small word lists used to tell language from noise.

/// Function words of the five languages the assistant is most often written
/// to in. A message with none of these and no word of the knowledge base is
/// most likely a keyboard mash, not a question.
const FUNCTION_WORDS: &[&str] = &[
    // English
    "a", "an", "and", "are", "can", "do", "does", "for", "how", "i", "if", "in", "is", "it", "me",
    "my", "not", "of", "on", "or", "the", "to", "what", "when", "where", "which", "who", "why",
    "with", "you", "your", // Spanish
    "como", "con", "cual", "de", "donde", "el", "en", "es", "la", "las", "los", "mi", "no", "para",
    "por", "que", "un", "una", "y", // French
    "au", "avec", "ce", "comment", "dans", "des", "du", "est", "et", "il", "je", "le", "les", "ma",
    "mon", "ou", "pas", "pour", "quand", "qui", "sur", "une", // German
    "bitte", "das", "dem", "den", "der", "die", "ein", "eine", "ich", "ist", "mit", "nicht", "und",
    "wann", "warum", "was", "wie", "wo", // Portuguese
    "com", "da", "do", "em", "meu", "minha", "nao", "o", "onde", "os", "para", "qual", "um", "uma",
];

pub fn is_function_word(word: &str) -> bool {
    FUNCTION_WORDS.contains(&word)
}

/// Words that make up greetings, thanks and sign-offs in the same five
/// languages. A message made only of these carries no question yet.
const COURTESY_WORDS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "hiya",
    "there",
    "good",
    "morning",
    "afternoon",
    "evening",
    "day",
    "thanks",
    "thank",
    "you",
    "cheers",
    "ok",
    "okay",
    "bye",
    "goodbye",
    "please",
    "team",
    "hola",
    "buenos",
    "buenas",
    "dias",
    "tardes",
    "noches",
    "gracias",
    "adios",
    "bonjour",
    "bonsoir",
    "salut",
    "merci",
    "coucou",
    "au",
    "revoir",
    "hallo",
    "guten",
    "tag",
    "morgen",
    "abend",
    "danke",
    "tschuss",
    "ola",
    "oi",
    "bom",
    "boa",
    "dia",
    "tarde",
    "noite",
    "obrigado",
    "obrigada",
    "tchau",
];

pub fn is_courtesy_word(word: &str) -> bool {
    COURTESY_WORDS.contains(&word)
}
