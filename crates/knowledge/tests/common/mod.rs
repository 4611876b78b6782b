//! Builders shared by the engine tests.

use frontdesk_core::FaqEntry;

pub fn faq(id: &str, question: &str, answer: &str) -> FaqEntry {
    FaqEntry {
        id: id.into(),
        question: question.into(),
        answer: answer.into(),
        tags: Vec::new(),
        url: None,
    }
}
