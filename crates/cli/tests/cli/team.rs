//! `frontdesk users`, `tokens` and `conversations`: the team is added from the terminal,
//! and what customers wrote is read there without it acting on the terminal.

use frontdesk_core::{Channel, NewConversation, NewMessage, Reason, StatusChange};
use frontdesk_store::Store;

use crate::support::Frontdesk;

const PASSWORD: &[u8] = b"a long enough password\n";

#[test]
fn the_team_is_added_once_each_and_gets_tokens() {
    let frontdesk = Frontdesk::new();
    let add = [
        "users",
        "add",
        "Ana@Shop.example",
        "--role",
        "agent",
        "--password-stdin",
    ];
    let added = frontdesk.ok_with_stdin(&add, PASSWORD);
    assert_eq!(added.trim(), "added ana@shop.example (agent), user 1");

    let twice = frontdesk.fails_with_stdin(&add, PASSWORD);
    assert!(
        twice.contains("already a user with the email ana@shop.example"),
        "{twice}"
    );

    let owner = [
        "users",
        "add",
        "bo@shop.example",
        "--role",
        "owner",
        "--password-stdin",
    ];
    let short = frontdesk.fails_with_stdin(&owner, b"short\n");
    assert!(short.contains("at least 8 characters"), "{short}");
    let empty = frontdesk.fails_with_stdin(&owner, b"");
    assert!(empty.contains("no password"), "{empty}");
    let not_an_email = [
        "users",
        "add",
        "bo.shop.example",
        "--role",
        "owner",
        "--password-stdin",
    ];
    let bad = frontdesk.fails_with_stdin(&not_an_email, PASSWORD);
    assert!(bad.contains("is not an email address"), "{bad}");
    // No terminal and no --password-stdin: a clear refusal instead of a hang.
    let no_terminal = frontdesk.fails(&["users", "add", "bo@shop.example", "--role", "owner"]);
    assert!(no_terminal.contains("--password-stdin"), "{no_terminal}");

    let users = frontdesk.json(&["users", "list", "--json"]);
    assert_eq!(users.as_array().unwrap().len(), 1, "{users}");
    assert_eq!(users[0]["email"], "ana@shop.example");
    assert!(users[0].get("password_hash").is_none());

    let token = frontdesk.ok(&["tokens", "create", "ana@shop.example", "--label", "laptop"]);
    let token = token.trim();
    assert!(token.starts_with("fdt_") && token.len() > 40, "{token}");
    let other = frontdesk.ok(&["tokens", "create", "ana@shop.example"]);
    assert_ne!(other.trim(), token);
    let nobody = frontdesk.fails(&["tokens", "create", "nobody@shop.example"]);
    assert!(
        nobody.contains("no user with the email nobody@shop.example"),
        "{nobody}"
    );

    // Listed by id, never shown again; revoked by id, once.
    let tokens = frontdesk.json(&["tokens", "list", "ana@shop.example", "--json"]);
    assert_eq!(tokens.as_array().unwrap().len(), 2, "{tokens}");
    assert_eq!(tokens[0]["label"], "laptop");
    assert!(!tokens.to_string().contains(token));
    let first = tokens[0]["id"].to_string();
    let revoked = frontdesk.ok(&["tokens", "revoke", &first]);
    assert_eq!(revoked.trim(), format!("token {first} revoked"));
    let again = frontdesk.fails(&["tokens", "revoke", &first]);
    assert!(again.contains("no token"), "{again}");
    let table = frontdesk.ok(&["tokens", "list", "ana@shop.example"]);
    assert!(
        table.contains("revoked") && table.contains("active"),
        "{table}"
    );

    // An email that would act on the terminal listing the team is refused.
    let escape = "a\u{1b}]0;x\u{7}b@shop.example";
    let hostile = [
        "users",
        "add",
        escape,
        "--role",
        "agent",
        "--password-stdin",
    ];
    let refused = frontdesk.fails_with_stdin(&hostile, PASSWORD);
    assert!(refused.contains("control characters"), "{refused}");
}

/// Stores a handed-off widget conversation whose customer wrote terminal escapes and a
/// right-to-left override, as the server would have.
fn seed_conversation(frontdesk: &Frontdesk) -> i64 {
    let url = format!(
        "sqlite://{}",
        frontdesk.data_dir().join("frontdesk.db").display()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Store::connect(&url).await.unwrap();
        let new = NewConversation {
            channel: Channel::Widget,
            external_id: "visitor-1".to_string(),
            token: "secret-token".to_string(),
        };
        let id = store.create_conversation(&new).await.unwrap().id;
        let hostile = "\u{1b}[2J<script>alert(1)</script> my order \u{202e}321\u{202c}";
        store
            .append_message(&NewMessage::from_customer(id, hostile.to_string()))
            .await
            .unwrap();
        let hand_off = StatusChange::HandOff {
            reason: Reason::PersonRequested,
            summary: format!("Customer: {hostile}"),
        };
        store.change_status(id, &hand_off).await.unwrap();
        store.close().await;
        id
    })
}

#[test]
fn conversations_are_read_from_the_terminal_safely() {
    let frontdesk = Frontdesk::new();
    let id = seed_conversation(&frontdesk);

    let waiting = frontdesk.json(&["conversations", "list", "--status", "waiting", "--json"]);
    assert_eq!(waiting[0]["id"], id);
    assert!(
        waiting[0].get("token").is_none(),
        "the customer's token stays hidden"
    );
    let none = frontdesk.json(&["conversations", "list", "--status", "assigned", "--json"]);
    assert_eq!(none, serde_json::json!([]));
    let bad = frontdesk.fails(&["conversations", "list", "--status", "open"]);
    assert!(
        bad.contains("\"open\" is not a known conversation status"),
        "{bad}"
    );

    let table = frontdesk.ok(&["conversations", "list"]);
    assert!(table.contains("waiting"), "{table}");
    assert!(
        !table.contains('\u{1b}') && !table.contains('\u{202e}'),
        "{table:?}"
    );

    let shown = frontdesk.ok(&["conversations", "show", &id.to_string()]);
    assert!(shown.contains("person_requested"), "{shown}");
    assert!(
        shown.contains("\\u{1b}[2J<script>alert(1)</script>"),
        "{shown}"
    );
    assert!(shown.contains("\\u{202e}321"), "{shown}");
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\u{202e}'),
        "{shown:?}"
    );

    let json = frontdesk.json(&["conversations", "show", &id.to_string(), "--json"]);
    assert_eq!(json["conversation"]["status"], "waiting");
    assert_eq!(json["messages"][0]["author"], "customer");
    assert_eq!(json["messages"][0]["delivery"], "received");

    let missing = frontdesk.fails(&["conversations", "show", "4242"]);
    assert!(
        missing.contains("there is no conversation 4242"),
        "{missing}"
    );
}

#[test]
fn an_agent_is_limited_to_some_channels() {
    let frontdesk = Frontdesk::new();
    let add = [
        "users",
        "add",
        "tg@shop.example",
        "--role",
        "agent",
        "--password-stdin",
    ];
    frontdesk.ok_with_stdin(&add, b"a long enough password\n");

    let limited = frontdesk.ok(&[
        "users",
        "channels",
        "tg@shop.example",
        "--channel",
        "telegram",
        "--channel",
        "email",
    ]);
    assert!(limited.contains("now works: telegram, email"), "{limited}");
    let lifted = frontdesk.ok(&["users", "channels", "tg@shop.example"]);
    assert!(lifted.contains("now works every channel"), "{lifted}");

    let err = frontdesk.fails(&["users", "channels", "tg@shop.example", "--channel", "fax"]);
    assert!(err.contains("`fax` is not a channel"), "{err}");
    let err = frontdesk.fails(&[
        "users",
        "channels",
        "who@shop.example",
        "--channel",
        "email",
    ]);
    assert!(err.contains("who@shop.example"), "{err}");
}
