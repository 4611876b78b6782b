//! Text normalisation shared by indexing, training and answering.
//!
//! Every path that compares a customer's words with the knowledge base goes
//! through [`normalize`], so that "Pleeease, how do I RECIEVE my card?!" and
//! "please how do i receive my card" look the same to every model.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Misspellings common enough in support mail to be worth fixing before matching.
/// Kept short on purpose: the character n-gram features absorb the long tail.
const COMMON_TYPOS: &[(&str, &str)] = &[
    ("accout", "account"),
    ("acount", "account"),
    ("adress", "address"),
    ("adresse", "address"),
    ("cancell", "cancel"),
    ("cancle", "cancel"),
    ("definately", "definitely"),
    ("delievery", "delivery"),
    ("huamn", "human"),
    ("humna", "human"),
    ("passwrod", "password"),
    ("pasword", "password"),
    ("payement", "payment"),
    ("paymnet", "payment"),
    ("pls", "please"),
    ("plz", "please"),
    ("recieve", "receive"),
    ("recieved", "received"),
    ("refound", "refund"),
    ("somoene", "someone"),
    ("somone", "someone"),
    ("thx", "thanks"),
    ("transfered", "transferred"),
    ("u", "you"),
    ("untill", "until"),
    ("ur", "your"),
    ("wich", "which"),
    ("withdrawl", "withdrawal"),
];

/// Normalises text for matching: Unicode NFKC, lower case, accents folded,
/// punctuation turned into spaces (apostrophes inside words are dropped, so
/// "don't" and "dont" meet), letters repeated three or more times cut to two,
/// a few common typos fixed, and white space collapsed.
pub fn normalize(text: &str) -> String {
    let folded = fold(text);
    let mut out = String::with_capacity(folded.len());
    for word in folded.split(' ').filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(fix_typo(word));
    }
    out
}

/// The words of already normalised text.
pub fn words(normalized: &str) -> impl Iterator<Item = &str> {
    normalized.split(' ').filter(|w| !w.is_empty())
}

/// NFKC, lower case, accent folding, punctuation to spaces and repeated-letter
/// squashing in one pass over the characters.
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last: Option<char> = None;
    let mut run = 0;
    let mut chars = text.nfkc().flat_map(char::to_lowercase).nfd().peekable();

    while let Some(c) = chars.next() {
        if is_combining_mark(c) {
            continue;
        }
        let c = if c.is_alphanumeric() {
            c
        } else if is_inner_apostrophe(c, last, chars.peek().copied()) {
            // "don't" becomes "dont": customers type it both ways.
            continue;
        } else {
            ' '
        };

        if Some(c) == last {
            run += 1;
        } else {
            run = 1;
        }
        // "soooo" and "pleeease" carry no more meaning than "soo" and "pleease";
        // two letters are kept because English doubles them ("need", "account").
        if c == ' ' && run > 1 || c.is_alphabetic() && run > 2 {
            continue;
        }
        out.push(c);
        last = Some(c);
    }
    out
}

fn is_inner_apostrophe(c: char, before: Option<char>, after: Option<char>) -> bool {
    matches!(c, '\'' | '’' | '`')
        && before.is_some_and(char::is_alphanumeric)
        && after.is_some_and(char::is_alphanumeric)
}

fn fix_typo(word: &str) -> &str {
    match COMMON_TYPOS.binary_search_by(|(typo, _)| typo.cmp(&word)) {
        Ok(i) => COMMON_TYPOS[i].1,
        Err(_) => word,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typo_table_is_sorted_for_binary_search() {
        assert!(COMMON_TYPOS.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }

    #[test]
    fn case_punctuation_and_space_are_folded() {
        assert_eq!(normalize("  Where is MY card?!  "), "where is my card");
        assert_eq!(normalize("top-up\tfailed..."), "top up failed");
    }

    #[test]
    fn nfkc_and_accents_are_folded() {
        // Full-width letters and the "ﬁ" ligature are NFKC-compatible with ASCII.
        assert_eq!(normalize("Ｃａｒｄ ﬁle"), "card file");
        assert_eq!(
            normalize("¿Puedo hablar con una persona?"),
            "puedo hablar con una persona"
        );
        assert_eq!(normalize("Café Übergröße"), "cafe ubergroße");
    }

    #[test]
    fn repeated_letters_are_cut_to_two() {
        assert_eq!(normalize("pleeeease helppp"), "pleease helpp");
        assert_eq!(normalize("need account"), "need account");
    }

    #[test]
    fn apostrophes_inside_words_are_dropped() {
        assert_eq!(normalize("I don't see it"), "i dont see it");
        assert_eq!(normalize("I dont see it"), "i dont see it");
        assert_eq!(normalize("it’s 'quoted'"), "its quoted");
    }

    #[test]
    fn common_typos_are_fixed() {
        assert_eq!(
            normalize("I didnt recieve my refound"),
            "i didnt receive my refund"
        );
        assert_eq!(normalize("plz help u"), "please help you");
    }

    #[test]
    fn digits_survive_and_empty_stays_empty() {
        assert_eq!(normalize("order #1234"), "order 1234");
        assert_eq!(normalize(" \n\t "), "");
        assert_eq!(words("a  b").collect::<Vec<_>>(), vec!["a", "b"]);
    }
}
