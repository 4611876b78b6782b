//! What the owner's report is computed from, gathered identically on SQLite and
//! PostgreSQL: every test function below runs once per backend.

#[macro_use]
mod common;

use frontdesk_core::{
    Author, Channel, Decision, DecisionKind, DeliveryState, NewConversation, NewMessage, Reason,
    StatusChange, Visibility,
};
use frontdesk_store::{Inbound, Store, VOLUME_SLOT_MS};

fn visitor(name: &str) -> NewConversation {
    NewConversation {
        channel: Channel::Widget,
        external_id: name.to_string(),
        token: format!("token-{name}"),
    }
}

fn assistant(conversation_id: i64, kind: DecisionKind, reason: Option<Reason>) -> NewMessage {
    let decision = Decision {
        kind,
        faq_id: (kind == DecisionKind::Answer).then(|| "card_arrival".to_string()),
        confidence: 0.5,
        text: "A reply.".to_string(),
        reason,
        sources: Vec::new(),
        generation: None,
    };
    NewMessage {
        conversation_id,
        author: Author::Assistant,
        text: decision.text.clone(),
        decision: Some(decision),
        sources: Vec::new(),
        delivery: DeliveryState::Sent,
        visibility: Visibility::Public,
        user_id: None,
    }
}

fn agent(conversation_id: i64, visibility: Visibility) -> NewMessage {
    NewMessage {
        conversation_id,
        author: Author::Agent,
        text: "Here to help.".to_string(),
        decision: None,
        sources: Vec::new(),
        delivery: DeliveryState::Sent,
        visibility,
        user_id: None,
    }
}

async fn facts_follow_each_conversation(store: Store) {
    // Answered once, then unsure about a second question and handed off; a person then
    // writes a note and a reply.
    let handed = store.create_conversation(&visitor("a")).await.unwrap();
    let first_question = NewMessage::from_customer(handed.id, "where is my card".into());
    store.append_message(&first_question).await.unwrap();
    let answer = assistant(handed.id, DecisionKind::Answer, None);
    store.append_message(&answer).await.unwrap();
    let second_question = NewMessage::from_customer(handed.id, "can I pay in yen".into());
    store.append_message(&second_question).await.unwrap();
    let unsure = assistant(
        handed.id,
        DecisionKind::Escalate,
        Some(Reason::LowConfidence),
    );
    let handoff = StatusChange::HandOff {
        reason: Reason::LowConfidence,
        summary: "Asks about paying in yen.".to_string(),
    };
    store
        .append_message_with_change(&unsure, &handoff)
        .await
        .unwrap();
    store
        .append_message(&agent(handed.id, Visibility::Internal))
        .await
        .unwrap();
    let reply = agent(handed.id, Visibility::Public);
    store
        .append_message_with_change(
            &reply,
            &StatusChange::Assign {
                assignee: "ana@shop.example".to_string(),
            },
        )
        .await
        .unwrap();

    // A conversation nobody wrote in yet.
    let quiet = store.create_conversation(&visitor("b")).await.unwrap();

    let facts = store.conversation_facts(0, i64::MAX).await.unwrap();
    assert_eq!(facts.len(), 2, "{facts:?}");
    let first = &facts[0];
    assert_eq!((first.id, first.channel.as_str()), (handed.id, "widget"));
    assert_eq!(first.handoff_reason.as_deref(), Some("low_confidence"));
    let handed_off_at = first.handed_off_at.expect("handed off");
    let first_customer_at = first.first_customer_at.expect("a customer wrote");
    let last_customer_at = first.last_customer_at.expect("a customer wrote");
    let first_assistant_at = first.first_assistant_at.expect("the assistant replied");
    let last_answer_at = first.last_answer_at.expect("the assistant answered");
    assert!(first_customer_at <= first_assistant_at);
    assert!(first_assistant_at <= last_answer_at);
    assert!(last_answer_at <= last_customer_at && last_customer_at <= handed_off_at);
    assert_eq!(first.agent_replies, 1, "the note is not a reply");
    assert_eq!(first.customer_messages_before_handoff, 2);
    assert!(first.first_human_reply_at.is_some());
    assert_eq!(first.resolved_at, None);

    let second = &facts[1];
    assert_eq!(second.id, quiet.id);
    assert_eq!(
        (
            second.first_customer_at,
            second.last_answer_at,
            second.agent_replies
        ),
        (None, None, 0)
    );
    assert_eq!(second.customer_messages_before_handoff, 0);

    // The period bounds: nothing changed after the far future, nothing began before 0.
    assert!(store
        .conversation_facts(i64::MAX - 1, i64::MAX)
        .await
        .unwrap()
        .is_empty());
    assert!(store.conversation_facts(0, 0).await.unwrap().is_empty());

    let unanswered = store.unanswered_questions(0, i64::MAX).await.unwrap();
    assert_eq!(unanswered.len(), 1, "{unanswered:?}");
    assert_eq!(unanswered[0].text, "can I pay in yen");
    assert_eq!(unanswered[0].conversation_id, handed.id);

    let volume = store.customer_message_volume(0, i64::MAX).await.unwrap();
    let counted: i64 = volume.iter().map(|slot| slot.messages).sum();
    assert_eq!(counted, 2, "{volume:?}");
    for slot in &volume {
        assert_eq!(slot.channel, "widget");
        assert_eq!(slot.slot_start % VOLUME_SLOT_MS, 0);
        assert!(slot.slot_start <= first_customer_at + VOLUME_SLOT_MS);
    }
}

/// The assistant hands conversation `id` off because the customer asked for a person; a
/// person writes a private note, then replies.
async fn hand_off_to_a_person_who_replies(store: &Store, id: i64) {
    let handoff = StatusChange::HandOff {
        reason: Reason::PersonRequested,
        summary: "Wants a person.".to_string(),
    };
    let notice = assistant(id, DecisionKind::Escalate, Some(Reason::PersonRequested));
    store
        .append_message_with_change(&notice, &handoff)
        .await
        .unwrap();
    // Times are milliseconds: what comes next must not share the handoff's millisecond,
    // which counts as before it.
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let note = agent(id, Visibility::Internal);
    store.append_message(&note).await.unwrap();
    let reply = agent(id, Visibility::Public);
    store.append_message(&reply).await.unwrap();
}

async fn kept_facts_match_a_recount_from_the_messages(store: Store) {
    // A widget conversation: answered, asked again, handed off, a note and a reply, and
    // the customer once more after the handoff.
    let widget = store.create_conversation(&visitor("w")).await.unwrap();
    let ask = |text: &str| NewMessage::from_customer(widget.id, text.into());
    store
        .append_message(&ask("where is my card"))
        .await
        .unwrap();
    let answer = assistant(widget.id, DecisionKind::Answer, None);
    store.append_message(&answer).await.unwrap();
    store.append_message(&ask("a person please")).await.unwrap();
    hand_off_to_a_person_who_replies(&store, widget.id).await;
    store.append_message(&ask("thanks")).await.unwrap();

    // Handed back, asked twice more, handed off again, and answered by a person again.
    store
        .change_status(widget.id, &StatusChange::HandBack)
        .await
        .unwrap();
    store.append_message(&ask("one more thing")).await.unwrap();
    store.append_message(&ask("a person again")).await.unwrap();
    hand_off_to_a_person_who_replies(&store, widget.id).await;

    // A Telegram conversation opened by a delivery, delivered twice, then answered and
    // written to again.
    let channel = store
        .add_channel(Channel::Telegram, "bot", common::TELEGRAM_CONFIG)
        .await
        .unwrap();
    let first = common::inbound(channel.id, "42", "42:1", "hello?", 1_000);
    let Inbound::New { conversation, .. } = store.store_inbound(&first).await.unwrap() else {
        panic!("the first delivery is new");
    };
    assert!(matches!(
        store.store_inbound(&first).await.unwrap(),
        Inbound::Duplicate
    ));
    let reply = assistant(conversation.id, DecisionKind::Answer, None);
    store.append_message(&reply).await.unwrap();
    let again = common::inbound(channel.id, "42", "42:2", "and the fees?", 2_000);
    store.store_inbound(&again).await.unwrap();

    let kept = store.conversation_facts(0, i64::MAX).await.unwrap();
    assert_eq!(kept.len(), 2, "{kept:?}");
    let widget_facts = &kept[0];
    assert_eq!(
        widget_facts.customer_messages_before_handoff, 5,
        "to the latest handoff"
    );
    assert_eq!(widget_facts.agent_replies, 2);
    let handed_off_at = widget_facts.handed_off_at.unwrap();
    let replied_at = widget_facts
        .handoff_replied_at
        .expect("the second handoff's reply");
    assert!(replied_at > handed_off_at);
    assert!(widget_facts.first_human_reply_at.unwrap() < handed_off_at);
    assert_eq!(kept[1].agent_replies, 0);
    assert_eq!(kept[1].handoff_replied_at, None);
    assert!(kept[1].last_customer_at >= kept[1].last_answer_at);

    let counted = store.recount_conversation_facts().await.unwrap();
    assert_eq!(counted, 2);
    let recounted = store.conversation_facts(0, i64::MAX).await.unwrap();
    assert_eq!(kept, recounted, "kept as stored, then counted afresh");
}

async fn the_owners_answers_are_kept_one_per_question(store: Store) {
    assert!(store.maturity_answers().await.unwrap().is_empty());
    assert_eq!(store.last_feedback_at().await.unwrap(), None);

    store.set_maturity_answer("cost", 2, None).await.unwrap();
    store
        .set_maturity_answer("maintenance", 4, None)
        .await
        .unwrap();
    store.set_maturity_answer("cost", 3, None).await.unwrap();
    let answers = store.maturity_answers().await.unwrap();
    let levels: Vec<(&str, u8)> = answers
        .iter()
        .map(|answer| (answer.question.as_str(), answer.level))
        .collect();
    assert_eq!(levels, [("cost", 3), ("maintenance", 4)]);

    // Outside 1–5 the database refuses it and the earlier answer stays.
    assert!(store.set_maturity_answer("cost", 6, None).await.is_err());
    assert_eq!(store.maturity_answers().await.unwrap()[0].level, 3);
}

on_both_backends!(
    facts_follow_each_conversation,
    kept_facts_match_a_recount_from_the_messages,
    the_owners_answers_are_kept_one_per_question,
);
