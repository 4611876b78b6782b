//! Product questions in a widget conversation: answered from the catalog with the
//! product cited and linked, follow-ups read with the question before them, and a
//! customer thinking of buying marked on the conversation, on SQLite and PostgreSQL.

use serde_json::json;

use crate::support::{TestServer, DESK_LAMP};
use crate::widget::{open, say};

on_both_backends!(a_shopper_is_answered_from_the_catalog_and_counted);

async fn a_shopper_is_answered_from_the_catalog_and_counted(server: TestServer) {
    let (id, token) = open(&server).await;

    let price = say(&server, &token, "How much is the brass desk lamp?").await;
    let reply = &price["messages"][1];
    assert_eq!(reply["author"], "assistant", "{price}");
    // Cited with the title and page a customer reads it by.
    assert_eq!(
        reply["sources"],
        json!([{"kind": "product", "id": DESK_LAMP, "title": "Brass Desk Lamp",
                "url": "https://shop.example/products/brass-desk-lamp"}])
    );
    let text = reply["text"].as_str().unwrap();
    assert!(
        text.contains("£65.00 (Brushed) and £69.00 (Polished)"),
        "{text}"
    );
    assert!(
        text.contains("https://shop.example/products/brass-desk-lamp"),
        "{text}"
    );
    let stored = server.store.conversation(id).await.unwrap().unwrap();
    assert_eq!(
        stored.buying_intent_at, None,
        "asking a price is not yet buying"
    );

    // The follow-up names no product: it is read with the question before it.
    let stock = say(&server, &token, "is the polished one in stock?").await;
    let text = stock["messages"][1]["text"].as_str().unwrap();
    assert!(text.contains("(Polished) is sold out"), "{text}");
    let marked = server.store.conversation(id).await.unwrap().unwrap();
    let first_marked = marked
        .buying_intent_at
        .expect("asking for stock shows buying intent");

    // Only the first sign counts; the metric counts conversations, not messages.
    say(&server, &token, "I want to buy the brushed one").await;
    let again = server.store.conversation(id).await.unwrap().unwrap();
    assert_eq!(again.buying_intent_at, Some(first_marked));
    let metrics = server.text("/metrics").await;
    assert!(
        metrics.contains("frontdesk_conversations_with_buying_intent_total 1"),
        "{metrics}"
    );
    // It is for the team's analytics, not something the customer is shown.
    assert!(
        stock["conversation"].get("buying_intent_at").is_none(),
        "{stock}"
    );
}
