//! Contacts, conversations and messages, checked identically on SQLite and PostgreSQL:
//! every test function below runs once per backend.

#[macro_use]
mod common;

use frontdesk_core::{
    Author, Channel, ConversationStatus, Decision, DecisionKind, DeliveryState, NewConversation,
    NewMessage, Reason, SourceKind, SourceRef, StatusChange, Visibility,
};
use frontdesk_store::{ConversationFilter, Readers, Store, StoreError};

fn widget_visitor(visitor: &str, token: &str) -> NewConversation {
    NewConversation {
        channel: Channel::Widget,
        external_id: visitor.to_string(),
        token: token.to_string(),
    }
}

fn customer_says(conversation_id: i64, text: &str) -> NewMessage {
    NewMessage::from_customer(conversation_id, text.to_string())
}

fn assistant_answers(conversation_id: i64) -> NewMessage {
    let sources = vec![
        SourceRef::new(SourceKind::Faq, "card_arrival"),
        SourceRef::new(SourceKind::Ticket, "t-17"),
    ];
    let decision = Decision {
        kind: DecisionKind::Answer,
        faq_id: Some("card_arrival".to_string()),
        confidence: 0.9375,
        text: "Cards arrive within a week.".to_string(),
        reason: None,
        sources: sources.clone(),
        generation: None,
    };
    NewMessage {
        conversation_id,
        author: Author::Assistant,
        text: decision.text.clone(),
        decision: Some(decision),
        sources,
        delivery: DeliveryState::Sent,
        visibility: Visibility::Public,
        user_id: None,
    }
}

fn hand_off() -> StatusChange {
    StatusChange::HandOff {
        reason: Reason::PersonRequested,
        summary: "Wants to know where their card is.".to_string(),
    }
}

async fn one_identity_per_person_per_channel(store: Store) {
    let first = store
        .create_conversation(&widget_visitor("visitor-1", "token-a"))
        .await
        .unwrap();
    let again = store
        .create_conversation(&widget_visitor("visitor-1", "token-b"))
        .await
        .unwrap();
    let other = store
        .create_conversation(&widget_visitor("visitor-2", "token-c"))
        .await
        .unwrap();

    assert_ne!(first.id, again.id);
    assert_eq!(
        (first.contact_id, first.identity_id),
        (again.contact_id, again.identity_id)
    );
    assert_ne!(first.contact_id, other.contact_id);
    assert_eq!(first.status, ConversationStatus::Bot);
    assert_eq!(first.channel, Channel::Widget);
    assert!(first.created_at > 0 && first.created_at == first.updated_at);
    assert_eq!(first.handed_off_at, None);
}

async fn conversations_are_found_by_id_and_token(store: Store) {
    let created = store
        .create_conversation(&widget_visitor("visitor-1", "secret-token"))
        .await
        .unwrap();

    let by_token = store.conversation_by_token("secret-token").await.unwrap();
    assert_eq!(by_token.as_ref(), Some(&created));
    assert_eq!(store.conversation(created.id).await.unwrap(), Some(created));
    assert_eq!(store.conversation_by_token("guess").await.unwrap(), None);
    assert_eq!(store.conversation(999_999).await.unwrap(), None);
}

async fn a_token_opens_one_conversation_only(store: Store) {
    store
        .create_conversation(&widget_visitor("visitor-1", "same"))
        .await
        .unwrap();
    let err = store
        .create_conversation(&widget_visitor("visitor-2", "same"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Write { .. }), "{err}");
    // The failed attempt left no contact behind for visitor-2.
    let fresh = store
        .create_conversation(&widget_visitor("visitor-2", "other"))
        .await
        .unwrap();
    assert_eq!(
        store
            .conversations(&ConversationFilter::default())
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(fresh.contact_id > 0);
}

async fn messages_read_back_in_order_with_decisions(store: Store) {
    let conversation = store
        .create_conversation(&widget_visitor("visitor-1", "t"))
        .await
        .unwrap();
    let id = conversation.id;

    let question = store
        .append_message(&customer_says(id, "Where is my card? <b>é</b>"))
        .await
        .unwrap();
    let answer = store.append_message(&assistant_answers(id)).await.unwrap();
    let follow_up = store
        .append_message(&customer_says(id, "thanks"))
        .await
        .unwrap();

    assert!(question.id < answer.id && answer.id < follow_up.id);
    let all = store.messages(id, None, Readers::Team).await.unwrap();
    assert_eq!(
        all,
        vec![question.clone(), answer.clone(), follow_up.clone()]
    );
    assert_eq!(all[1].decision.as_ref().unwrap().confidence, 0.9375);
    assert_eq!(all[1].sources.len(), 2);
    assert_eq!(all[0].text, "Where is my card? <b>é</b>");

    let after = store
        .messages(id, Some(question.id), Readers::Team)
        .await
        .unwrap();
    assert_eq!(after, vec![answer, follow_up.clone()]);
    assert!(store
        .messages(id, Some(follow_up.id), Readers::Team)
        .await
        .unwrap()
        .is_empty());

    let touched = store.conversation(id).await.unwrap().unwrap();
    assert!(touched.updated_at >= follow_up.created_at);
}

async fn messages_of_other_conversations_stay_apart(store: Store) {
    let one = store
        .create_conversation(&widget_visitor("v1", "t1"))
        .await
        .unwrap();
    let two = store
        .create_conversation(&widget_visitor("v2", "t2"))
        .await
        .unwrap();
    store
        .append_message(&customer_says(one.id, "one"))
        .await
        .unwrap();
    store
        .append_message(&customer_says(two.id, "two"))
        .await
        .unwrap();

    let texts: Vec<String> = store
        .messages(two.id, None, Readers::Team)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, vec!["two".to_string()]);
}

async fn a_message_for_no_conversation_is_refused(store: Store) {
    let err = store
        .append_message(&customer_says(424_242, "hello?"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::ConversationNotFound { id: 424_242 }),
        "{err}"
    );
    assert!(store
        .messages(424_242, None, Readers::Team)
        .await
        .unwrap()
        .is_empty());
}

async fn the_first_agent_reply_is_timed_once(store: Store) {
    let conversation = store
        .create_conversation(&widget_visitor("v", "t"))
        .await
        .unwrap();
    let id = conversation.id;
    store.append_message(&assistant_answers(id)).await.unwrap();
    assert_eq!(
        store
            .conversation(id)
            .await
            .unwrap()
            .unwrap()
            .first_human_reply_at,
        None
    );

    let mut reply = customer_says(id, "Hi, I'm Sam from the team.");
    reply.author = Author::Agent;
    reply.delivery = DeliveryState::Sent;
    let first = store.append_message(&reply).await.unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    store.append_message(&reply).await.unwrap();

    let timed = store.conversation(id).await.unwrap().unwrap();
    assert_eq!(timed.first_human_reply_at, Some(first.created_at));
}

async fn status_changes_follow_the_rules(store: Store) {
    let conversation = store
        .create_conversation(&widget_visitor("v", "t"))
        .await
        .unwrap();
    let id = conversation.id;

    let waiting = store.change_status(id, &hand_off()).await.unwrap();
    assert_eq!(waiting.status, ConversationStatus::Waiting);
    assert_eq!(waiting.handoff_reason, Some(Reason::PersonRequested));
    assert_eq!(
        waiting.handoff_summary.as_deref(),
        Some("Wants to know where their card is.")
    );
    assert!(waiting.handed_off_at.is_some());

    let err = store.change_status(id, &hand_off()).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::StatusChangeRefused {
                change: "hand_off",
                status: ConversationStatus::Waiting,
                ..
            }
        ),
        "{err}"
    );

    let assign = StatusChange::Assign {
        assignee: "sam@shop.example".to_string(),
    };
    let assigned = store.change_status(id, &assign).await.unwrap();
    assert_eq!(assigned.status, ConversationStatus::Assigned);
    assert_eq!(assigned.assignee.as_deref(), Some("sam@shop.example"));

    let resolved = store
        .change_status(id, &StatusChange::Resolve)
        .await
        .unwrap();
    assert_eq!(resolved.status, ConversationStatus::Resolved);
    assert!(resolved.resolved_at.is_some());
    assert_eq!(resolved.assignee.as_deref(), Some("sam@shop.example"));
    assert!(store
        .change_status(id, &StatusChange::HandBack)
        .await
        .is_err());

    let reopened = store
        .change_status(id, &StatusChange::Reopen)
        .await
        .unwrap();
    assert_eq!(reopened.status, ConversationStatus::Bot);
    assert_eq!((reopened.resolved_at, reopened.assignee), (None, None));
    // The last handoff stays on record for analytics.
    assert_eq!(reopened.handoff_reason, Some(Reason::PersonRequested));

    let err = store.change_status(999_999, &hand_off()).await.unwrap_err();
    assert!(
        matches!(err, StoreError::ConversationNotFound { .. }),
        "{err}"
    );
}

async fn conversations_are_listed_by_status(store: Store) {
    let mut ids = Vec::new();
    for n in 0..3 {
        let created = store
            .create_conversation(&widget_visitor(&format!("v{n}"), &format!("t{n}")))
            .await
            .unwrap();
        ids.push(created.id);
    }
    store.change_status(ids[0], &hand_off()).await.unwrap();
    store.change_status(ids[2], &hand_off()).await.unwrap();

    let ids_of = |list: Vec<frontdesk_core::Conversation>| -> Vec<i64> {
        list.into_iter().map(|c| c.id).collect()
    };
    let waiting = store
        .conversations(&ConversationFilter {
            status: Some(ConversationStatus::Waiting),
            ..ConversationFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(ids_of(waiting), vec![ids[0], ids[2]]);
    let bot = store
        .conversations(&ConversationFilter {
            status: Some(ConversationStatus::Bot),
            ..ConversationFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(ids_of(bot), vec![ids[1]]);
    assert_eq!(
        ids_of(
            store
                .conversations(&ConversationFilter::default())
                .await
                .unwrap()
        ),
        ids
    );
}

async fn a_refused_change_keeps_its_message_out(store: Store) {
    let conversation = store
        .create_conversation(&widget_visitor("v", "t"))
        .await
        .unwrap();
    let id = conversation.id;

    let err = store
        .append_message_with_change(&assistant_answers(id), &StatusChange::HandBack)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::StatusChangeRefused { .. }),
        "{err}"
    );
    assert!(store
        .messages(id, None, Readers::Team)
        .await
        .unwrap()
        .is_empty());

    let (message, waiting) = store
        .append_message_with_change(&assistant_answers(id), &hand_off())
        .await
        .unwrap();
    assert_eq!(waiting.status, ConversationStatus::Waiting);
    assert_eq!(
        store.messages(id, None, Readers::Team).await.unwrap(),
        vec![message]
    );
}

async fn two_handoffs_at_once_apply_once(store: Store) {
    let conversation = store
        .create_conversation(&widget_visitor("v", "t"))
        .await
        .unwrap();
    let id = conversation.id;
    let change = hand_off();
    let (a, b) = tokio::join!(
        store.change_status(id, &change),
        store.change_status(id, &change)
    );
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{a:?} {b:?}"
    );
}

async fn the_database_answers_a_ping(store: Store) {
    store.ping().await.unwrap();
}

on_both_backends!(
    one_identity_per_person_per_channel,
    conversations_are_found_by_id_and_token,
    a_token_opens_one_conversation_only,
    messages_read_back_in_order_with_decisions,
    messages_of_other_conversations_stay_apart,
    a_message_for_no_conversation_is_refused,
    the_first_agent_reply_is_timed_once,
    status_changes_follow_the_rules,
    conversations_are_listed_by_status,
    a_refused_change_keeps_its_message_out,
    two_handoffs_at_once_apply_once,
    the_database_answers_a_ping,
);

/// The store keeps a digest of each customer-side token, never the token, and digests in
/// place any token an older version stored in plain text.
#[tokio::test]
async fn tokens_are_kept_as_digests_and_plain_ones_are_digested_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("frontdesk.db").display());
    let store = Store::connect(&url).await.unwrap();
    let opened = store
        .create_conversation(&widget_visitor("v1", "tok-secret-1"))
        .await
        .unwrap();
    let second = store
        .create_conversation(&widget_visitor("v2", "tok-secret-2"))
        .await
        .unwrap();
    store.close().await;

    let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
    let stored: Vec<String> = sqlx::query_scalar("SELECT token FROM conversations ORDER BY id")
        .fetch_all(&raw)
        .await
        .unwrap();
    assert!(
        stored.iter().all(|token| token.starts_with("sha256:")),
        "{stored:?}"
    );
    assert!(
        stored.iter().all(|token| !token.contains("tok-secret")),
        "{stored:?}"
    );
    // As an older version left it: the second token in plain text.
    sqlx::query("UPDATE conversations SET token = 'tok-secret-2' WHERE id = $1")
        .bind(second.id)
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;

    let store = Store::connect(&url).await.unwrap();
    let found = store.conversation_by_token("tok-secret-2").await.unwrap();
    assert_eq!(found.map(|c| c.id), Some(second.id));
    let found = store.conversation_by_token("tok-secret-1").await.unwrap();
    assert_eq!(found.map(|c| c.id), Some(opened.id));
    assert!(store
        .conversation_by_token("sha256:")
        .await
        .unwrap()
        .is_none());
    store.close().await;

    let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
    let plain: i64 =
        sqlx::query_scalar("SELECT count(*) FROM conversations WHERE token NOT LIKE 'sha256:%'")
            .fetch_one(&raw)
            .await
            .unwrap();
    assert_eq!(plain, 0);
    raw.close().await;
}
