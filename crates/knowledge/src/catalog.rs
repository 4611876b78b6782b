//! Answers about the shop's products, read from the catalog rather than from FAQ text:
//! price, stock, the sizes and colours a product comes in, its dimensions, and
//! "do you have…" questions.
//!
//! A question is about a product when it names one: the product's head noun (the last
//! word of its title, "skillet" in "Cast Iron Skillet") or most of the distinctive words
//! of its title or handle. Rare words weigh more than common ones, so "linen duvet
//! cover" picks the duvet cover over the other linen products. When several products
//! fit equally well, the reply lists them rather than pick one at random.
//!
//! Everything here works on normalised text (see [`crate::normalize`]) and is English
//! only: the cue words ("how much", "in stock") and the reply sentences. A shop writing
//! to customers in another language gets FAQ answers but no catalog answers yet; cue
//! words and reply templates per language would lift that.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use frontdesk_core::{Product, ProductStatus, ProductVariant, SourceKind, SourceRef};
use regex::{Regex, RegexSet};

use crate::normalize::{normalize, words};
use crate::text::is_function_word;

/// How many products a reply lists when several fit the question.
const LISTED_PRODUCTS: usize = 5;

/// A product left in stock at or below this many units is said to be running low.
const LOW_STOCK: i64 = 3;

/// Words that say nothing about which product is meant ("set of 4", "pack").
const FILLER_WORDS: &[&str] = &[
    "set", "pack", "piece", "pair", "one", "two", "three", "four", "five", "six", "x",
];

/// Topics a shop's policies answer even when a product is named ("can I return the
/// skillet?"): the catalog stays out of those, as a product's price and stock would not
/// answer them. Problems with an order ("the wrong colour arrived"), exchanges ("change
/// it for a king size instead"), restocking dates and trade orders belong there too.
#[rustfmt::skip]
const POLICY_WORDS: &[&str] = &[
    "ship", "shipping", "shipped", "deliver", "delivery", "delivered", "return", "returns",
    "returned", "refund", "refunds", "exchange", "change", "swap", "instead", "warranty",
    "guarantee", "track", "tracking", "cancel", "cancelled", "discount", "voucher", "coupon",
    "code", "broken", "damaged", "faulty", "missing", "wrong", "opened", "arrived", "arrive",
    "received", "parcel", "order", "ordered", "invoice", "receipt", "care", "wash", "clean",
    "restock", "restocked", "when", "bulk", "wholesale", "trade", "supplier", "stockist", "maker",
    "payment", "pay", "paid", "postage", "courier", "bought", "purchased", "broke", "different",
    "photo", "photos", "picture", "pictures", "disappointed", "impressed", "complaint", "unhappy",
    "reserve", "claim", "replacement", "spare",
];

/// Policy topics written in more than one word: postage ("p&p"), price matching, gift
/// wrapping, and what a customer already has ("I got the lamp but not the shade").
const POLICY_PHRASES: &str = r"\bp (and |n )?p\b|\bprice (match|drop)|\bgift wrap|\bi (got|get)\b";

/// A question naming a product but asking nothing the catalog answers is read as "tell me
/// about it" only when it is this short or says so; a longer one asks something else.
const BARE_NAME_WORDS: usize = 6;
const TELL_ME_ABOUT: &str =
    r"\btell me (more )?about\b|\bmore (info|information|details) (on|about)\b";

/// "How much does the mug hold?" asks about its size, not its price.
const CAPACITY_QUESTION: &str = r"\bhow much (does|do|will|would|can) .*\bhold\b";

/// What a customer can ask about a product, each recognised by cue phrases written
/// as regular expressions over normalised text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Aspect {
    /// "Do you have…", "do you sell…": what it is, its price and whether it is in stock.
    Have,
    Price,
    Stock,
    Options,
    Dimensions,
}

const ASPECT_CUES: &[(Aspect, &str)] = &[
    (
        Aspect::Price,
        r"\bhow much\b|\bprices?\b|\bcosts?\b|\bpriced\b",
    ),
    (
        Aspect::Have,
        concat!(
            r"\bdo (you|u) (have|sell|carry|stock|make|do)\b|\bhave you got\b",
            r"|\bis there an?\b|\bare there any\b|\bany\b",
        ),
    ),
    (
        Aspect::Stock,
        r"\bin stock\b|\bstock\b|\bavailab|\bsold out\b|\bany left\b",
    ),
    (
        Aspect::Options,
        concat!(
            r"\bsizes?\b|\bcolou?rs?\b|\bcome in\b|\bcomes in\b|\boptions?\b",
            r"|\bvariants?\b|\bshades?\b|\bfinish(es)?\b",
        ),
    ),
    (
        Aspect::Dimensions,
        concat!(
            r"\bdimensions?\b|\bhow (big|large|wide|tall|high|deep|long|heavy)\b",
            r"|\bmeasure|\bweigh|\bcapacity\b",
        ),
    ),
];

/// Phrases that show a customer thinking of buying: wanting to buy or order, asking
/// whether something is in stock, asking which one to get.
const BUYING_INTENT_CUES: &[&str] = &[
    concat!(
        r"\b(want|wanna|like|going|ready|planning|plan|looking|hoping) to ",
        r"(buy|order|purchase|get one|get it|get the)\b",
    ),
    r"\b(can|could|may) i (buy|order|purchase|get one)\b",
    r"\bhow (do|can|would) i (buy|order|purchase|pay for)\b",
    r"\bwhere (can|do) i (buy|order|get)\b",
    concat!(
        r"\b(is|are) (it|they|this|these|that|those|the \w+( \w+)?) ",
        r"(still )?(in stock|available)\b",
    ),
    r"\b(in stock|back in stock)\b",
    concat!(
        r"\bwhich (one|size|colou?r|model|of them|is better)\b",
        r".*\b(should|would|do you|to (buy|get|choose|pick))\b",
    ),
    r"\b(recommend|suggest)\b",
    r"\b(add|put) (it |this |them )?(to|in) (my |the )?(cart|basket|bag)\b",
    r"\bcheck ?out\b",
    r"\b(i ll|ill|i will|id|i d|i would) (take|buy|order|get) (it|one|two|them|the)\b",
    r"\bi (want|need|d like|would like) (a|an|the|one|two|some|this|that)\b",
];

/// Whether a customer's message shows they are thinking of buying, so analytics can
/// count the shoppers the assistant helped.
///
/// English cue phrases only; see the module documentation.
pub fn shows_buying_intent(message: &str) -> bool {
    static CUES: OnceLock<RegexSet> = OnceLock::new();
    let cues = CUES.get_or_init(|| {
        RegexSet::new(BUYING_INTENT_CUES).expect("the buying-intent cues are valid patterns")
    });
    cues.is_match(&normalize(message))
}

/// A reply from the catalog, with the products it was drawn from.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogReply {
    pub text: String,
    /// One source per product the reply speaks of, in the order it names them.
    pub sources: Vec<SourceRef>,
    /// The message named a product but asked nothing the catalog answers for certain
    /// (no price, stock, options or dimensions cue): the FAQ should have the first
    /// word, and this reply is what to say if it has none.
    pub defers_to_faq: bool,
}

/// The active products of a shop, prepared for answering questions about them.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    products: Vec<Entry>,
    /// How many products' names hold each word: a word many products share tells
    /// less about which one is meant.
    name_frequency: HashMap<String, usize>,
    /// Every option value any product is sold in ("sage", "king"), to notice a
    /// customer asking for one the product they named does not come in.
    known_values: HashSet<String>,
    /// Written before every price quoted: catalogs hold bare numbers.
    currency: String,
}

#[derive(Debug, Clone)]
struct Entry {
    product: Product,
    title_words: Vec<String>,
    handle_words: Vec<String>,
    head: Option<String>,
    /// The product type and tags, normalised, each a phrase of one or more words.
    categories: Vec<Vec<String>>,
    /// Per variant, its option values normalised.
    variant_values: Vec<Vec<String>>,
}

/// Which products a message is about.
enum Found {
    One {
        product: usize,
        variants: Vec<usize>,
    },
    Several(Vec<usize>),
}

impl Catalog {
    /// Prepares the catalog; drafts and archived products are left out, as customers
    /// cannot buy them.
    pub fn new(products: Vec<Product>) -> Self {
        let mut entries: Vec<Entry> = products
            .into_iter()
            .filter(|product| product.status == ProductStatus::Active)
            .map(Entry::new)
            .collect();
        entries.sort_by(|a, b| a.product.title.cmp(&b.product.title));

        let mut name_frequency: HashMap<String, usize> = HashMap::new();
        let mut known_values = HashSet::new();
        for entry in &entries {
            let names: HashSet<&String> = entry
                .title_words
                .iter()
                .chain(&entry.handle_words)
                .collect();
            for word in names {
                *name_frequency.entry(word.clone()).or_default() += 1;
            }
            for value in entry.variant_values.iter().flatten() {
                known_values.insert(value.clone());
            }
        }
        Self {
            products: entries,
            name_frequency,
            known_values,
            currency: String::new(),
        }
    }

    /// Quotes prices with this written before them, such as `£` or `EUR `; without it,
    /// prices are quoted as the catalog writes them.
    pub fn with_currency(mut self, currency: &str) -> Self {
        self.currency = currency.to_string();
        self
    }

    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    pub fn len(&self) -> usize {
        self.products.len()
    }

    /// The title of the product with this id, for showing a source.
    pub fn title(&self, id: &str) -> Option<&str> {
        self.products
            .iter()
            .find(|entry| entry.product.id == id)
            .map(|entry| entry.product.title.as_str())
    }

    /// The page of the product with this id, when the catalog gives one.
    pub fn url(&self, id: &str) -> Option<&str> {
        self.products
            .iter()
            .find(|entry| entry.product.id == id)
            .and_then(|entry| entry.product.url.as_deref())
    }

    /// A reply to a question about the products `about` names, answering what `asking`
    /// asks (or, when `asking` asks nothing the catalog knows, what `about` asks). Both
    /// are normalised text; they differ for a follow-up ("is it in stock?" after "how
    /// much is the skillet?"). `None` when no product or category fits, or when the
    /// question is about a policy topic such as returns or delivery.
    pub fn reply(&self, about: &str, asking: &str) -> Option<CatalogReply> {
        if self.products.is_empty() {
            return None;
        }
        let words_in_order: Vec<String> = words(about).map(singular).collect();
        let tokens: HashSet<String> = words_in_order.iter().cloned().collect();
        let mut aspects = self.aspects(asking);
        if aspects.is_empty() {
            aspects = self.aspects(about);
        }
        if touches_policy(asking) {
            return None;
        }

        // A category is listed for "do you have any rugs?", not for anything that only
        // mentions one ("can you leave the price off, it's a gift").
        let found = self
            .named_products(about, &tokens, &words_in_order)
            .or_else(|| {
                aspects
                    .contains(&Aspect::Have)
                    .then(|| self.category(&words_in_order))?
            })?;
        let (text, products) = match found {
            Found::One { product, variants } => {
                let entry = &self.products[product];
                let text = self.about_one(entry, &variants, &aspects, about)?;
                (text, vec![product])
            }
            // A list answers "do you have…", "how much are…" and "are they in stock";
            // for anything else about several products the FAQ knows better.
            Found::Several(products) => {
                let listable = [Aspect::Have, Aspect::Price, Aspect::Stock];
                if !aspects.iter().any(|aspect| listable.contains(aspect)) {
                    return None;
                }
                (self.about_several(&products), products)
            }
        };
        let sources = products
            .iter()
            .map(|&i| SourceRef::new(SourceKind::Product, self.products[i].product.id.clone()))
            .collect();
        let reply = CatalogReply {
            text,
            sources,
            defers_to_faq: aspects.is_empty(),
        };
        (!reply.defers_to_faq || reads_as_tell_me_about(asking)).then_some(reply)
    }

    fn aspects(&self, normalized: &str) -> Vec<Aspect> {
        static CAPACITY: OnceLock<Regex> = OnceLock::new();
        let capacity = CAPACITY.get_or_init(|| Regex::new(CAPACITY_QUESTION).expect("valid"));
        if capacity.is_match(normalized) {
            return vec![Aspect::Dimensions];
        }
        static CUES: OnceLock<RegexSet> = OnceLock::new();
        let cues = CUES.get_or_init(|| {
            let patterns = ASPECT_CUES.iter().map(|(_, pattern)| *pattern);
            RegexSet::new(patterns).expect("the aspect cues are valid patterns")
        });
        cues.matches(normalized)
            .iter()
            .map(|i| ASPECT_CUES[i].0)
            .collect()
    }

    /// The product the message names, or the products it names equally well.
    fn named_products(
        &self,
        normalized: &str,
        tokens: &HashSet<String>,
        words_in_order: &[String],
    ) -> Option<Found> {
        let mut scored: Vec<(usize, f64)> = self
            .products
            .iter()
            .enumerate()
            .filter_map(|(i, entry)| {
                let score = self.name_score(entry, tokens, words_in_order)?;
                Some((i, score))
            })
            .collect();
        let best = scored.iter().map(|(_, score)| *score).fold(0.0, f64::max);
        // Within a hair of the best: equally well named.
        scored.retain(|(_, score)| *score >= best - 1e-9);
        match scored.as_slice() {
            [] => None,
            [(product, _)] => Some(Found::One {
                product: *product,
                variants: self.named_variants(&self.products[*product], normalized),
            }),
            several => Some(Found::Several(several.iter().map(|(i, _)| *i).collect())),
        }
    }

    /// How strongly the message names this product, or `None` when it does not: its
    /// head noun, or words carrying at least half the weight of its title or handle.
    fn name_score(
        &self,
        entry: &Entry,
        tokens: &HashSet<String>,
        words_in_order: &[String],
    ) -> Option<f64> {
        let weigh = |names: &[String]| -> (f64, f64) {
            let total: f64 = names.iter().map(|w| self.weight(w)).sum();
            let hit: f64 = names
                .iter()
                .filter(|w| tokens.contains(*w))
                .map(|w| self.weight(w))
                .sum();
            (hit, total)
        };
        let (title_hit, title_total) = weigh(&entry.title_words);
        let (handle_hit, handle_total) = weigh(&entry.handle_words);
        // One shared word ("gift" in "gift wrap" and "Gift Card") is not a name.
        let covers = |names: &[String], hit: f64, total: f64| {
            let shared = names.iter().filter(|w| tokens.contains(*w)).count();
            shared >= 2 && hit / total > 0.5
        };
        let named = self.head_named(entry, tokens, words_in_order)
            || covers(&entry.title_words, title_hit, title_total)
            || covers(&entry.handle_words, handle_hit, handle_total);
        named.then_some(title_hit.max(handle_hit))
    }

    /// Whether the message holds the product's head noun, and not as part of another
    /// product's name: "gift boxes" names no storage box when "gift" belongs to another
    /// product's name and not to this one's.
    fn head_named(
        &self,
        entry: &Entry,
        tokens: &HashSet<String>,
        words_in_order: &[String],
    ) -> bool {
        let Some(head) = &entry.head else {
            return false;
        };
        if !tokens.contains(head) {
            return false;
        }
        words_in_order
            .windows(2)
            .all(|pair| &pair[1] != head || !self.names_another(entry, &pair[0]))
    }

    /// Whether a word belongs to some product's name but not to this one's.
    fn names_another(&self, entry: &Entry, word: &String) -> bool {
        let own = entry.title_words.contains(word) || entry.handle_words.contains(word);
        !own && self.name_frequency.contains_key(word)
    }

    fn weight(&self, word: &str) -> f64 {
        let products = self.products.len() as f64;
        let holding = self.name_frequency.get(word).copied().unwrap_or(0) as f64;
        (1.0 + products / (1.0 + holding)).ln()
    }

    /// The variants whose option values the message names, best match first; empty
    /// when it names none.
    fn named_variants(&self, entry: &Entry, normalized: &str) -> Vec<usize> {
        let scores: Vec<usize> = entry
            .variant_values
            .iter()
            .map(|values| {
                values
                    .iter()
                    .filter(|value| mentions(normalized, value))
                    .count()
            })
            .collect();
        let best = scores.iter().copied().max().unwrap_or(0);
        if best == 0 {
            return Vec::new();
        }
        (0..scores.len()).filter(|&i| scores[i] == best).collect()
    }

    /// Products whose type or one of whose tags the message names ("any rugs?"), when
    /// it names no product.
    ///
    /// The category must be the whole noun: "kitchen knives" asks for knives, which a
    /// shop whose kitchen range has none does not sell, and "gift boxes" asks for
    /// something other than storage boxes when "gift" names another product.
    fn category(&self, words_in_order: &[String]) -> Option<Found> {
        let names_it = |entry: &Entry, phrase: &[String]| {
            !phrase.is_empty()
                && (0..words_in_order.len()).any(|start| {
                    let end = start + phrase.len();
                    let before = start.checked_sub(1).map(|i| &words_in_order[i]);
                    end <= words_in_order.len()
                        && words_in_order[start..end] == *phrase
                        && words_in_order
                            .get(end)
                            .is_none_or(|next| is_function_word(next))
                        && before.is_none_or(|word| !self.names_another(entry, word))
                })
        };
        let products: Vec<usize> = self
            .products
            .iter()
            .enumerate()
            .filter(|(_, entry)| {
                entry
                    .categories
                    .iter()
                    .any(|phrase| names_it(entry, phrase))
            })
            .map(|(i, _)| i)
            .collect();
        (!products.is_empty()).then_some(Found::Several(products))
    }

    /// What to tell a customer about one product. `None` when the question is only
    /// about dimensions and the catalog lists none.
    fn about_one(
        &self,
        entry: &Entry,
        variants: &[usize],
        aspects: &[Aspect],
        normalized: &str,
    ) -> Option<String> {
        let product = &entry.product;
        let chosen: Vec<&ProductVariant> = if variants.is_empty() {
            product.variants.iter().collect()
        } else {
            variants.iter().map(|&i| &product.variants[i]).collect()
        };
        let name = variant_name(product, variants);
        let mut sentences = Vec::new();

        // A value the shop sells some product in, that this one does not come in.
        let unavailable: Vec<&String> = self
            .known_values
            .iter()
            .filter(|value| mentions(normalized, value))
            .filter(|value| {
                !entry
                    .variant_values
                    .iter()
                    .flatten()
                    .any(|own| own == *value)
            })
            .collect();
        if let Some(value) = unavailable.first() {
            sentences.push(format!(
                "The {} does not come in {}.",
                product.title,
                self.display_value(value)
            ));
        }

        let wants = |aspect| aspects.contains(&aspect);
        // A bare name or "do you have…" asks what it is, what it costs and whether it
        // can be had.
        let everything = aspects.is_empty() || aspects == [Aspect::Have];
        if everything {
            sentences.push(overview(product));
        }
        if wants(Aspect::Price) || everything {
            let all = variants.is_empty();
            if let Some(price) = price_sentence(product, &name, &chosen, all, &self.currency) {
                sentences.push(price);
            }
        }
        if wants(Aspect::Stock) || wants(Aspect::Have) {
            if let Some(stock) = stock_sentence(product, &name, &chosen) {
                sentences.push(stock);
            }
        }
        if wants(Aspect::Options) || !unavailable.is_empty() {
            if let Some(options) = options_sentence(product) {
                sentences.push(options);
            }
        }
        if wants(Aspect::Dimensions) {
            let facts = measurements(&product.description);
            if facts.is_empty() && sentences.is_empty() {
                return None;
            }
            if facts.is_empty() {
                sentences.push(format!(
                    "The product page does not list the {}'s measurements.",
                    product.title
                ));
            }
            sentences.extend(facts);
        }
        if sentences.is_empty() {
            sentences.push(overview(product));
        }
        if let Some(url) = &product.url {
            sentences.push(format!("You can see it here: {url}"));
        }
        Some(sentences.join(" "))
    }

    /// An option value as the catalog writes it ("Sage"), for one found normalised.
    fn display_value(&self, normalized_value: &str) -> String {
        self.products
            .iter()
            .flat_map(|entry| entry.product.variants.iter())
            .flat_map(|variant| variant.option_values.iter())
            .find(|value| normalize(value) == normalized_value)
            .cloned()
            .unwrap_or_else(|| normalized_value.to_string())
    }

    /// A short list of the products that fit, with price, stock and link.
    fn about_several(&self, products: &[usize]) -> String {
        let mut lines = vec![match products.len() {
            n if n > LISTED_PRODUCTS => {
                format!("We have {n} products that fit; here are the first {LISTED_PRODUCTS}:")
            }
            _ => "Here is what we have:".to_string(),
        }];
        for &i in products.iter().take(LISTED_PRODUCTS) {
            let product = &self.products[i].product;
            let variants: Vec<&ProductVariant> = product.variants.iter().collect();
            let mut facts = Vec::new();
            if let Some(price) = price_range(&variants, &self.currency) {
                facts.push(price);
            }
            if !variants.is_empty() && variants.iter().all(|v| !in_stock(v)) {
                facts.push("sold out".to_string());
            }
            let mut line = format!("- {}", product.title);
            if !facts.is_empty() {
                line.push_str(&format!(" ({})", facts.join(", ")));
            }
            if let Some(url) = &product.url {
                line.push_str(&format!(": {url}"));
            }
            lines.push(line);
        }
        lines.join("\n")
    }
}

impl Entry {
    fn new(product: Product) -> Self {
        let name_words = |text: &str| -> Vec<String> {
            let mut seen = Vec::new();
            for word in words(&normalize(text)).map(singular) {
                let useful = !is_function_word(&word)
                    && !FILLER_WORDS.contains(&word.as_str())
                    && !word.chars().all(|c| c.is_ascii_digit());
                if useful && !seen.contains(&word) {
                    seen.push(word);
                }
            }
            seen
        };
        // The head noun closes the title's first part: "Linen Napkins, Set of 4".
        let main_part = product
            .title
            .split([',', '(', '-', '|'])
            .next()
            .unwrap_or("");
        let head = name_words(main_part).pop();
        let categories = product
            .tags
            .iter()
            .chain(product.product_type.iter())
            .map(|phrase| words(&normalize(phrase)).map(singular).collect())
            .collect();
        let variant_values = product
            .variants
            .iter()
            .map(|variant| variant.option_values.iter().map(|v| normalize(v)).collect())
            .collect();
        Entry {
            title_words: name_words(&product.title),
            handle_words: name_words(&product.id.replace(['-', '_'], " ")),
            head,
            categories,
            variant_values,
            product,
        }
    }
}

/// Whether a message is about a policy topic rather than a product's facts.
fn touches_policy(normalized: &str) -> bool {
    static PHRASES: OnceLock<Regex> = OnceLock::new();
    let phrases = PHRASES.get_or_init(|| Regex::new(POLICY_PHRASES).expect("valid pattern"));
    words(normalized).any(|word| POLICY_WORDS.contains(&word)) || phrases.is_match(normalized)
}

/// Whether a message that names a product without asking anything of it is short enough,
/// or plain enough, to be asking what the product is.
fn reads_as_tell_me_about(normalized: &str) -> bool {
    static ASKING: OnceLock<Regex> = OnceLock::new();
    let asking = ASKING.get_or_init(|| Regex::new(TELL_ME_ABOUT).expect("valid pattern"));
    words(normalized).count() <= BARE_NAME_WORDS || asking.is_match(normalized)
}

/// An English plural brought to its singular, well enough to match "mugs" to "mug" and
/// "candles" to "candle"; other words unchanged.
fn singular(word: &str) -> String {
    let keep = |w: &str| w.len() <= 3 || w.ends_with("ss") || w.ends_with("us");
    if keep(word) {
        return word.to_string();
    }
    if let Some(stem) = word.strip_suffix("ies") {
        return format!("{stem}y");
    }
    for ending in ["ches", "shes", "xes", "sses"] {
        if word.ends_with(ending) {
            return word[..word.len() - 2].to_string();
        }
    }
    word.strip_suffix('s').unwrap_or(word).to_string()
}

/// Whether normalised text holds a value as whole words, or written without its
/// spaces ("20cm" for "20 cm").
fn mentions(normalized: &str, value: &str) -> bool {
    if value.is_empty() {
        return false;
    }
    let padded = format!(" {normalized} ");
    if padded.contains(&format!(" {value} ")) {
        return true;
    }
    let joined: String = value.split(' ').collect();
    value.contains(' ') && words(normalized).any(|word| word == joined)
}

/// "Cast Iron Skillet (26 cm)" for the chosen variant, "Linen Duvet Cover (King)" for
/// chosen variants that share the value named, or the title alone.
fn variant_name(product: &Product, variants: &[usize]) -> String {
    let Some((first, rest)) = variants.split_first() else {
        return product.title.clone();
    };
    let shared: Vec<&str> = product.variants[*first]
        .option_values
        .iter()
        .enumerate()
        .filter(|(i, value)| {
            rest.iter()
                .all(|&other| product.variants[other].option_values.get(*i) == Some(*value))
        })
        .map(|(_, value)| value.as_str())
        .collect();
    if shared.is_empty() {
        product.title.clone()
    } else {
        format!("{} ({})", product.title, shared.join(", "))
    }
}

/// The first sentence of the description, under the product's title.
fn overview(product: &Product) -> String {
    let first = sentences(&product.description).next().unwrap_or("");
    if first.is_empty() {
        format!("We sell the {}.", product.title)
    } else {
        format!("{}: {first}", product.title)
    }
}

/// A price as the catalog writes it, for ordering prices.
fn price_value(price: &str) -> Option<f64> {
    price.trim().parse().ok()
}

/// "£29.00" or "£29.00 to £49.00" over these variants.
fn price_range(variants: &[&ProductVariant], currency: &str) -> Option<String> {
    let mut prices: Vec<(&str, f64)> = variants
        .iter()
        .filter_map(|v| v.price.as_deref())
        .filter_map(|p| price_value(p).map(|value| (p, value)))
        .collect();
    prices.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (low, high) = (prices.first()?, prices.last()?);
    if low.1 == high.1 {
        Some(format!("{currency}{}", low.0))
    } else {
        Some(format!("{currency}{} to {currency}{}", low.0, high.0))
    }
}

fn price_sentence(
    product: &Product,
    name: &str,
    chosen: &[&ProductVariant],
    all_variants: bool,
    currency: &str,
) -> Option<String> {
    let priced: Vec<&&ProductVariant> = chosen.iter().filter(|v| v.price.is_some()).collect();
    let first = priced.first()?;
    let same_price = priced.iter().all(|v| v.price == first.price);
    if same_price {
        let price = first.price.as_deref().unwrap_or_default();
        let was = first
            .compare_at_price
            .as_deref()
            .filter(|was| price_value(was) > price_value(price))
            .map(|was| format!(" (down from {currency}{was})"))
            .unwrap_or_default();
        return Some(format!("The {name} costs {currency}{price}{was}."));
    }
    // Different prices: by variant when there are few, as a range otherwise.
    if all_variants && priced.len() > 6 {
        let range = price_range(chosen, currency)?;
        return Some(format!(
            "The {} costs {range}, depending on the option.",
            product.title
        ));
    }
    let each: Vec<String> = priced
        .iter()
        .map(|v| {
            let price = v.price.as_deref().unwrap_or_default();
            format!("{currency}{price} ({})", v.option_values.join(", "))
        })
        .collect();
    Some(format!("The {} costs {}.", product.title, join_list(&each)))
}

fn in_stock(variant: &ProductVariant) -> bool {
    // An untracked inventory is sold on demand, which for a customer means available.
    variant.stock.is_none_or(|units| units > 0)
}

fn stock_sentence(product: &Product, name: &str, chosen: &[&ProductVariant]) -> Option<String> {
    if chosen.is_empty() {
        return None;
    }
    let (available, sold_out): (Vec<&&ProductVariant>, Vec<&&ProductVariant>) =
        chosen.iter().partition(|v| in_stock(v));
    if sold_out.is_empty() {
        let low: Vec<i64> = available.iter().filter_map(|v| v.stock).collect();
        let running_low = available.len() == 1 && low.first().is_some_and(|&n| n <= LOW_STOCK);
        return Some(match (running_low, low.first()) {
            (true, Some(n)) => format!("The {name} is in stock, with only {n} left."),
            _ => format!("The {name} is in stock."),
        });
    }
    if available.is_empty() {
        return Some(format!("Sorry, the {name} is sold out at the moment."));
    }
    let label = |v: &&&ProductVariant| v.option_values.join(", ");
    Some(format!(
        "The {} is in stock in {}, and sold out in {} at the moment.",
        product.title,
        join_list(&available.iter().map(label).collect::<Vec<_>>()),
        join_list(&sold_out.iter().map(label).collect::<Vec<_>>()),
    ))
}

/// "It comes in Size: 20 cm, 26 cm and 30 cm." per option, values in catalog order.
fn options_sentence(product: &Product) -> Option<String> {
    if product.options.is_empty() {
        return None;
    }
    let parts: Vec<String> = product
        .options
        .iter()
        .enumerate()
        .map(|(i, option)| {
            let mut values: Vec<&str> = Vec::new();
            for variant in &product.variants {
                if let Some(value) = variant.option_values.get(i) {
                    if !values.contains(&value.as_str()) {
                        values.push(value);
                    }
                }
            }
            let values: Vec<String> = values.into_iter().map(str::to_string).collect();
            format!("{} {}", option.to_lowercase(), join_list(&values))
        })
        .collect();
    Some(format!(
        "The {} comes in {}.",
        product.title,
        parts.join("; ")
    ))
}

/// Sentences of a description that give a measurement: a number with a unit.
fn measurements(description: &str) -> Vec<String> {
    static UNITS: OnceLock<regex::Regex> = OnceLock::new();
    let units = UNITS.get_or_init(|| {
        regex::Regex::new(
            r"(?i)\d\s*(mm|cm|m|in|inch|inches|ft|ml|l|litres?|liters?|g|kg|oz|lb|lbs|°c|x\s*\d)\b",
        )
        .expect("the measurement pattern is valid")
    });
    sentences(description)
        .filter(|sentence| units.is_match(sentence))
        .map(str::to_string)
        .collect()
}

/// The sentences of a text: each ends at a full stop, question or exclamation mark
/// followed by a space or the end, so "4.2 litres" stays whole.
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    static END: OnceLock<regex::Regex> = OnceLock::new();
    let end = END.get_or_init(|| regex::Regex::new(r"[.!?](\s+|$)").expect("valid pattern"));
    let mut start = 0;
    let mut pieces = Vec::new();
    for found in end.find_iter(text) {
        pieces.push(text[start..found.start() + 1].trim());
        start = found.end();
    }
    pieces.push(text[start..].trim());
    pieces.into_iter().filter(|piece| !piece.is_empty())
}

/// "a", "a and b", "a, b and c".
fn join_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(values: &[&str], price: &str, stock: Option<i64>) -> ProductVariant {
        ProductVariant {
            sku: None,
            option_values: values.iter().map(|v| v.to_string()).collect(),
            price: Some(price.to_string()),
            compare_at_price: None,
            stock,
            barcode: None,
        }
    }

    fn product(id: &str, title: &str, options: &[&str], variants: Vec<ProductVariant>) -> Product {
        Product {
            id: id.to_string(),
            title: title.to_string(),
            description: format!("A fine {title}. It is 24 cm wide and holds 2 litres."),
            vendor: None,
            product_type: Some("Kitchen".to_string()),
            tags: vec!["cookware".to_string()],
            url: Some(format!("https://shop.example/products/{id}")),
            status: ProductStatus::Active,
            options: options.iter().map(|o| o.to_string()).collect(),
            variants,
        }
    }

    fn shop() -> Catalog {
        Catalog::new(vec![
            product(
                "cast-iron-skillet",
                "Cast Iron Skillet",
                &["Size"],
                vec![
                    variant(&["20 cm"], "29.00", Some(9)),
                    variant(&["26 cm"], "39.00", Some(2)),
                    variant(&["30 cm"], "49.00", Some(0)),
                ],
            ),
            product(
                "enamel-dutch-oven",
                "Enamelled Cast Iron Casserole",
                &["Color"],
                vec![
                    variant(&["Sage"], "89.00", Some(4)),
                    variant(&["Cream"], "89.00", None),
                ],
            ),
            product(
                "stoneware-mug",
                "Stoneware Mug",
                &[],
                vec![variant(&[], "12", Some(5))],
            ),
            product(
                "mug-set",
                "Set of Four Mugs",
                &[],
                vec![variant(&[], "42", Some(5))],
            ),
        ])
    }

    fn reply(message: &str) -> Option<CatalogReply> {
        let normalized = normalize(message);
        shop().reply(&normalized, &normalized)
    }

    fn ids(reply: &CatalogReply) -> Vec<&str> {
        reply.sources.iter().map(|s| s.id.as_str()).collect()
    }

    #[test]
    fn a_price_question_names_every_variant_price_and_links_the_product() {
        let reply = reply("How much is the cast iron skillet?").unwrap();
        assert_eq!(ids(&reply), ["cast-iron-skillet"]);
        assert!(!reply.defers_to_faq);
        assert!(
            reply
                .text
                .contains("29.00 (20 cm), 39.00 (26 cm) and 49.00 (30 cm)"),
            "{}",
            reply.text
        );
        assert!(reply
            .text
            .contains("https://shop.example/products/cast-iron-skillet"));
    }

    #[test]
    fn a_named_variant_narrows_price_and_stock_to_it() {
        let reply = reply("is the 30cm skillet in stock?").unwrap();
        assert!(reply.text.contains("sold out"), "{}", reply.text);
        assert!(reply.text.contains("30 cm"), "{}", reply.text);
        let reply = super::tests::reply("do you have the skillet in 26 cm").unwrap();
        assert!(reply.text.contains("only 2 left"), "{}", reply.text);
    }

    #[test]
    fn variants_sharing_the_named_value_are_named_by_it() {
        let catalog = Catalog::new(vec![product(
            "cover",
            "Duvet Cover",
            &["Size", "Color"],
            vec![
                variant(&["King", "White"], "139", Some(3)),
                variant(&["King", "Sage"], "139", Some(3)),
                variant(&["Double", "White"], "119", Some(3)),
            ],
        )]);
        let message = normalize("how much is the duvet cover in king");
        let reply = catalog.reply(&message, &message).unwrap();
        assert!(
            reply.text.starts_with("The Duvet Cover (King) costs 139."),
            "{}",
            reply.text
        );
    }

    #[test]
    fn a_handle_word_names_a_product_its_title_does_not() {
        let reply = reply("what colours does the dutch oven come in?").unwrap();
        assert_eq!(ids(&reply), ["enamel-dutch-oven"]);
        assert!(
            reply.text.contains("color Sage and Cream"),
            "{}",
            reply.text
        );
    }

    #[test]
    fn a_colour_the_product_is_not_sold_in_is_said_so() {
        let catalog = Catalog::new(vec![
            product(
                "skillet",
                "Skillet",
                &["Color"],
                vec![variant(&["Black"], "9", None)],
            ),
            product(
                "kettle",
                "Kettle",
                &["Color"],
                vec![variant(&["Red"], "9", None)],
            ),
        ]);
        let message = normalize("do you have the skillet in red?");
        let reply = catalog.reply(&message, &message).unwrap();
        assert!(
            reply.text.contains("does not come in Red"),
            "{}",
            reply.text
        );
        assert!(reply.text.contains("color Black"), "{}", reply.text);
    }

    #[test]
    fn prices_carry_the_shops_currency() {
        let message = normalize("how much is the stoneware mug");
        let reply = shop().with_currency("£").reply(&message, &message).unwrap();
        assert!(reply.text.contains("costs £12."), "{}", reply.text);
    }

    #[test]
    fn equally_named_products_are_listed() {
        let reply = reply("how much are your mugs").unwrap();
        assert_eq!(ids(&reply), ["mug-set", "stoneware-mug"]);
        assert!(
            reply.text.contains("- Stoneware Mug (12)"),
            "{}",
            reply.text
        );
    }

    #[test]
    fn dimensions_come_from_the_description() {
        let reply = reply("how big is the casserole?").unwrap();
        assert!(
            reply.text.contains("24 cm wide and holds 2 litres."),
            "{}",
            reply.text
        );
        let split: Vec<&str> = sentences("It holds 4.2 litres. Oven safe! Done").collect();
        assert_eq!(split, ["It holds 4.2 litres.", "Oven safe!", "Done"]);
    }

    #[test]
    fn do_you_have_tells_what_it_is_what_it_costs_and_whether_it_is_in_stock() {
        let reply = reply("do you have a stoneware mug?").unwrap();
        assert!(!reply.defers_to_faq);
        assert!(
            reply
                .text
                .starts_with("Stoneware Mug: A fine Stoneware Mug."),
            "{}",
            reply.text
        );
        assert!(reply.text.contains("costs 12."), "{}", reply.text);
        assert!(reply.text.contains("is in stock"), "{}", reply.text);
    }

    #[test]
    fn policy_questions_and_bare_names_defer_to_the_faq() {
        assert!(reply("can I return the skillet?").is_none());
        assert!(reply("how much is shipping for the skillet").is_none());
        assert!(reply("tell me about the skillet").unwrap().defers_to_faq);
        assert!(reply("where is my parcel").is_none());
    }

    #[test]
    fn a_category_lists_its_products() {
        let listed = reply("do you sell cookware?").unwrap();
        assert_eq!(listed.sources.len(), 4);
        assert!(reply("we'd like cookware for our hotel kitchen").is_none());
        assert!(reply("do you sell cookware knives").is_none());
    }

    #[test]
    fn drafts_are_not_sold() {
        let mut draft = product("lamp", "Desk Lamp", &[], vec![variant(&[], "30", None)]);
        draft.status = ProductStatus::Draft;
        let catalog = Catalog::new(vec![draft]);
        let message = normalize("how much is the desk lamp");
        assert!(catalog.reply(&message, &message).is_none());
    }

    #[test]
    fn buying_intent_is_recognised() {
        for message in [
            "I want to buy the linen duvet cover",
            "Is it in stock?",
            "which one should I get for a small kitchen?",
            "I'd like to order two mugs",
            "can you recommend a pan",
        ] {
            assert!(shows_buying_intent(message), "{message}");
        }
        for message in [
            "where is my order?",
            "I bought a skillet and it cracked",
            "hello",
        ] {
            assert!(!shows_buying_intent(message), "{message}");
        }
    }

    #[test]
    fn plurals_meet_their_singulars() {
        assert_eq!(singular("mugs"), "mug");
        assert_eq!(singular("candles"), "candle");
        assert_eq!(singular("dishes"), "dish");
        assert_eq!(singular("berries"), "berry");
        assert_eq!(singular("glass"), "glass");
    }
}
