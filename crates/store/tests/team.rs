//! Users, API tokens and private notes, checked identically on SQLite and PostgreSQL.

#[macro_use]
mod common;

use frontdesk_core::{
    Author, Channel, ConversationStatus, NewConversation, NewMessage, Role, StatusChange,
    Visibility,
};
use frontdesk_store::{ConversationFilter, Readers, Store, StoreError};

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

async fn conversation(store: &Store, visitor: &str) -> i64 {
    let new = NewConversation {
        channel: Channel::Widget,
        external_id: visitor.to_string(),
        token: format!("token-{visitor}"),
    };
    store.create_conversation(&new).await.unwrap().id
}

async fn users_are_unique_by_email_whatever_the_capitals(store: Store) {
    let owner = store
        .add_user("  Owner@Shop.Example ", Role::Owner, HASH)
        .await
        .unwrap();
    assert_eq!(owner.email, "owner@shop.example");
    assert_eq!(owner.role, Role::Owner);

    let err = store
        .add_user("OWNER@shop.example", Role::Agent, HASH)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UserExists { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "there is already a user with the email owner@shop.example"
    );

    store
        .add_user("agent@shop.example", Role::Agent, HASH)
        .await
        .unwrap();
    let emails: Vec<String> = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.email)
        .collect();
    assert_eq!(emails, ["owner@shop.example", "agent@shop.example"]);

    let (found, hash) = store
        .user_by_email("Agent@Shop.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.email, "agent@shop.example");
    assert_eq!(hash, HASH);
    assert!(store
        .user_by_email("nobody@shop.example")
        .await
        .unwrap()
        .is_none());
    // A NUL (which PostgreSQL cannot hold) finds nobody rather than failing.
    let with_nul = "agent\0@shop.example";
    assert!(store.user_by_email(with_nul).await.unwrap().is_none());
    let filter = ConversationFilter {
        assignee: Some(with_nul.to_string()),
        ..ConversationFilter::default()
    };
    assert!(store.conversations(&filter).await.unwrap().is_empty());
}

async fn a_token_finds_its_user_by_hash(store: Store) {
    let agent = store
        .add_user("agent@shop.example", Role::Agent, HASH)
        .await
        .unwrap();
    store
        .add_api_token("agent@shop.example", "hash-of-token", Some("laptop"), None)
        .await
        .unwrap();

    let found = store.user_by_token_hash("hash-of-token").await.unwrap();
    assert_eq!(found, Some(agent));
    assert_eq!(
        store.user_by_token_hash("another-hash").await.unwrap(),
        None
    );

    // Listed by id, and revoked by id.
    store
        .add_api_token("agent@shop.example", "second", Some("phone"), None)
        .await
        .unwrap();
    let listed = store.api_tokens("Agent@shop.example").await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].label.as_deref(), Some("phone"));
    assert!(store.revoke_api_token_by_id(listed[1].id).await.unwrap());
    assert!(!store.revoke_api_token_by_id(listed[1].id).await.unwrap());
    assert_eq!(store.user_by_token_hash("second").await.unwrap(), None);
    let after = store.api_tokens("agent@shop.example").await.unwrap();
    assert!(after[1].revoked_at.is_some());

    // Expired and revoked tokens let nobody in.
    store
        .add_api_token("agent@shop.example", "expired", None, Some(1))
        .await
        .unwrap();
    assert_eq!(store.user_by_token_hash("expired").await.unwrap(), None);
    store.revoke_api_token("hash-of-token").await.unwrap();
    assert_eq!(
        store.user_by_token_hash("hash-of-token").await.unwrap(),
        None
    );

    let err = store
        .add_api_token("nobody@shop.example", "hash-2", None, None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UserNotFound { .. }), "{err}");
}

async fn notes_are_for_the_team_only(store: Store) {
    let agent = store
        .add_user("agent@shop.example", Role::Agent, HASH)
        .await
        .unwrap();
    let id = conversation(&store, "v1").await;
    let question = NewMessage::from_customer(id, "where is my parcel?".to_string());
    store.append_message(&question).await.unwrap();
    let note = NewMessage::note(id, agent.id, "courier says Friday".to_string());
    let note = store.append_message(&note).await.unwrap();
    let reply = NewMessage::from_agent(id, agent.id, "It arrives on Friday.".to_string());
    store.append_message(&reply).await.unwrap();

    assert_eq!(note.visibility, Visibility::Internal);
    assert_eq!(note.user_id, Some(agent.id));

    let team = store.messages(id, None, Readers::Team).await.unwrap();
    let authors: Vec<(Author, Visibility)> =
        team.iter().map(|m| (m.author, m.visibility)).collect();
    assert_eq!(
        authors,
        [
            (Author::Customer, Visibility::Public),
            (Author::Agent, Visibility::Internal),
            (Author::Agent, Visibility::Public),
        ]
    );
    let customer = store.messages(id, None, Readers::Customer).await.unwrap();
    let texts: Vec<&str> = customer.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["where is my parcel?", "It arrives on Friday."]);
}

async fn a_note_is_not_a_first_reply(store: Store) {
    let agent = store
        .add_user("agent@shop.example", Role::Agent, HASH)
        .await
        .unwrap();
    let id = conversation(&store, "v1").await;
    store
        .append_message(&NewMessage::note(id, agent.id, "looking".to_string()))
        .await
        .unwrap();
    let after_note = store.conversation(id).await.unwrap().unwrap();
    assert_eq!(after_note.first_human_reply_at, None);

    store
        .append_message(&NewMessage::from_agent(id, agent.id, "Hello!".to_string()))
        .await
        .unwrap();
    let after_reply = store.conversation(id).await.unwrap().unwrap();
    assert!(after_reply.first_human_reply_at.is_some());
}

async fn conversations_filter_by_channel_and_assignee(store: Store) {
    let first = conversation(&store, "v1").await;
    let second = conversation(&store, "v2").await;
    let assign = |who: &str| StatusChange::Assign {
        assignee: who.to_string(),
    };
    store
        .change_status(first, &assign("ana@shop.example"))
        .await
        .unwrap();
    store
        .change_status(second, &assign("ben@shop.example"))
        .await
        .unwrap();

    let of_ana = store
        .conversations(&ConversationFilter {
            assignee: Some("ana@shop.example".to_string()),
            ..ConversationFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(of_ana.iter().map(|c| c.id).collect::<Vec<_>>(), [first]);

    let assigned_email = store
        .conversations(&ConversationFilter {
            status: Some(ConversationStatus::Assigned),
            channel: Some(Channel::Email),
            assignee: None,
            ..ConversationFilter::default()
        })
        .await
        .unwrap();
    assert!(assigned_email.is_empty());
}

on_both_backends!(
    users_are_unique_by_email_whatever_the_capitals,
    a_token_finds_its_user_by_hash,
    notes_are_for_the_team_only,
    a_note_is_not_a_first_reply,
    conversations_filter_by_channel_and_assignee,
);
