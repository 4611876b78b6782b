//! What generated answers cost, stored and totalled identically on SQLite and PostgreSQL.

#[macro_use]
mod common;

use frontdesk_core::{Channel, NewConversation};
use frontdesk_store::{utc_day, GenerationRecord, Store};

fn record(
    conversation_id: Option<i64>,
    outcome: &str,
    prompt: u32,
    completion: u32,
) -> GenerationRecord {
    GenerationRecord {
        conversation_id,
        message_id: None,
        model: "small-model".to_string(),
        outcome: outcome.to_string(),
        cause: (outcome != "generated").then(|| "unsupported_claim".to_string()),
        prompt_tokens: prompt,
        completion_tokens: completion,
        estimated: false,
    }
}

async fn usage_is_totalled_per_day_and_per_conversation(store: Store) {
    let conversation = store
        .create_conversation(&NewConversation {
            channel: Channel::Widget,
            external_id: "visitor-1".to_string(),
            token: "token-a".to_string(),
        })
        .await
        .unwrap();
    store
        .record_generation(&record(Some(conversation.id), "generated", 300, 40))
        .await
        .unwrap();
    store
        .record_generation(&record(Some(conversation.id), "fell_back", 280, 12))
        .await
        .unwrap();
    store
        .record_generation(&record(None, "handed_off", 100, 9))
        .await
        .unwrap();

    let today = utc_day(now_ms());
    let days = store.generation_usage_by_day(&today, &today).await.unwrap();
    assert_eq!(days.len(), 1, "{days:?}");
    let day = &days[0];
    assert_eq!(day.day, today);
    assert_eq!(
        (day.requests, day.generated, day.fell_back, day.handed_off),
        (3, 1, 1, 1)
    );
    assert_eq!((day.prompt_tokens, day.completion_tokens), (680, 61));

    let usage = store
        .conversation_generation_usage(conversation.id)
        .await
        .unwrap();
    assert_eq!(
        (usage.requests, usage.prompt_tokens, usage.completion_tokens),
        (2, 580, 52)
    );
    let nothing = store.conversation_generation_usage(9_999).await.unwrap();
    assert_eq!(nothing.requests, 0);
    assert!(store
        .generation_usage_by_day("2000-01-01", "2000-12-31")
        .await
        .unwrap()
        .is_empty());
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

on_both_backends!(usage_is_totalled_per_day_and_per_conversation);
