//! The demo page and the inbox in a real headless Chromium, driven over WebDriver: a
//! customer's story from a question to a person's reply arriving live, and customer text
//! that must show as text, never as markup, on every page.
//!
//! The tests start their own chromedriver on a free loopback port. They need Chromium
//! and chromedriver at /usr/bin/chromium and /usr/bin/chromedriver, or wherever
//! FRONTDESK_TEST_CHROMIUM and FRONTDESK_TEST_CHROMEDRIVER point. Without them each
//! test says it was skipped and why, and passes; with FRONTDESK_TEST_BROWSER=required
//! (as in CI) a missing browser fails the test instead.

use std::fs::File;
use std::future::Future;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fantoccini::elements::ShadowRoot;
use fantoccini::{Client, ClientBuilder, Locator};
use frontdesk_core::Role;
use frontdesk_generate::mock::{MockModel, MockRequest, Reply};
use frontdesk_generate::GenerationSettings;
use frontdesk_knowledge::import::read_faqs;
use frontdesk_server::auth::hash_password;
use frontdesk_server::ServerSettings;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::sync::Mutex;

use crate::feedback::{store_fixture_knowledge, wait_until_answered_with};
use crate::support::{
    data, free_port, with_server, Backend, TestServer, ASK_FOR_A_PERSON, LOST_CARD,
};
use crate::widget::UNSURE;

/// The fixture's FAQ for a lost card, which the unsure questions are about.
const LOST_CARD_FAQ: &str = "lost_or_stolen_card";

const CHROMIUM_VAR: &str = "FRONTDESK_TEST_CHROMIUM";
const CHROMEDRIVER_VAR: &str = "FRONTDESK_TEST_CHROMEDRIVER";
const REQUIRED_VAR: &str = "FRONTDESK_TEST_BROWSER";

/// How long a page may take to show what a step waits for. Generous, because CI
/// machines are small and shared; a passing step takes well under a second.
const PATIENCE: Duration = Duration::from_secs(10);
const POLL_EVERY: Duration = Duration::from_millis(100);
/// chromedriver answers within a second on an idle machine.
const DRIVER_PATIENCE: Duration = Duration::from_secs(20);

const AGENT_EMAIL: &str = "ana@shop.example";
const AGENT_PASSWORD: &str = "a long enough password";
const OWNER_EMAIL: &str = "owner@shop.example";
const OWNER_PASSWORD: &str = "the owner's long password";

/// Markup a customer sends: each would run script if a page parsed it as HTML (the image
/// fails to load, there being nothing at /x, and its handler runs).
const SCRIPT_TAG: &str = "<script>window.__pwned=1</script>";
/// This one also asks for a person, so the conversation waits in the inbox with all three
/// messages quoted in its summary.
const IMG_ONERROR: &str = r#"<img src=x onerror="window.__pwned=1"> Can I talk to a human please?"#;
/// A right-to-left override, as in a file name dressed up to look harmless. Sent before
/// the last message, so that a page letting it run on would draw that one backwards.
const RIGHT_TO_LEFT: &str = "invoice\u{202E}fdp.exe";
/// Where the last message's quote starts in a summary; drawn left to right.
const LAST_QUOTE: &str = "Customer: <img";
/// What a team member writes can be markup too.
const AGENT_MARKUP: &str = r#"<b>Thanks!</b> <img src=x onerror="window.__pwned=2">"#;

/// Only one story drives browsers at a time: four Chromiums at once on a two-core
/// machine make every step slower than running the stories in turn.
static ONE_STORY_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// The text nodes directly inside an element: a message's own text, without the label
/// saying who wrote it.
const OWN_TEXT: &str = "const own = (node) => Array.from(node.childNodes)
  .filter((child) => child.nodeType === Node.TEXT_NODE)
  .map((child) => child.data)
  .join('');";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_asks_then_a_person_replies_live() {
    in_browsers(a_person_replies_live).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_show_as_text_on_every_page() {
    in_browsers(markup_shows_as_text).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_answer_is_written_in_before_the_customers_eyes() {
    // A model of our own that writes the FAQ's first sentence and another, a word every
    // 80 ms: slow enough for the draft to be seen before the stored answer replaces it.
    let mock = MockModel::start(|request: &MockRequest| {
        let answer = format!(
            "{} Freeze or cancel the card in the app first [1].",
            request.faithful_answer()
        );
        Reply::slow_words(&answer, Duration::from_millis(80))
    })
    .await
    .unwrap();
    let settings = ServerSettings {
        generation: Some(GenerationSettings::new(mock.base_url(), "mock-model")),
        ..ServerSettings::default()
    };
    in_browsers_with(settings, generated_answer_streams_in).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whatsapp_photo_and_a_refused_reply_show_in_the_inbox() {
    in_browsers(whatsapp_in_the_inbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_reads_the_analytics_and_the_maturity_report() {
    in_browsers(owner_reads_the_figures).await;
}

async fn owner_reads_the_figures(server: TestServer, customer: Page, owner: Page) {
    let hash = hash_password(OWNER_PASSWORD).unwrap();
    server
        .store
        .add_user(OWNER_EMAIL, Role::Owner, &hash)
        .await
        .unwrap();

    store_fixture_knowledge(&server).await;
    // A customer the assistant is unsure about, then one whose question shows as text
    // among the unanswered ones.
    customer.goto(&server.url("/demo")).await;
    customer.open_widget().await;
    customer.say(UNSURE[1]).await;
    customer
        .wait_for_bubble("the request to say it another way", "assistant", |text| {
            text.contains("another way")
        })
        .await;
    customer.say(IMG_ONERROR).await;
    customer
        .wait_for_bubble("the handoff notice", "assistant", |text| {
            text.contains("member of our team")
        })
        .await;

    owner.goto(&server.url("/inbox")).await;
    owner.sign_in_as(OWNER_EMAIL, OWNER_PASSWORD).await;
    // The inbox links an owner to the owner's pages, which open on the report.
    owner.click("#owner-pages").await;
    owner
        .wait_for_text("the report, from the inbox's link", "Next move:")
        .await;
    owner.goto(&server.url("/admin/analytics")).await;
    owner
        .wait_for_text("the analytics page with the handoff", "1 handed off")
        .await;
    owner.assert_nothing_ran("img").await;
    let charts = owner
        .js(
            "return document.querySelectorAll('svg.chart rect').length;",
            vec![],
        )
        .await;
    assert!(charts.as_u64().unwrap_or(0) >= 4, "bars drawn: {charts}");
    owner.keep_screenshot("admin-analytics").await;

    owner.goto(&server.url("/admin/report")).await;
    owner
        .wait_for_text("the maturity report", "Next move:")
        .await;
    owner
        .click("select[name=maintenance] option[value='4']")
        .await;
    owner.click("select[name=cost] option[value='3']").await;
    owner.click("form button[type=submit]").await;
    owner
        .wait_for(
            "the two answers shown as the owner's",
            "return Array.from(document.querySelectorAll('td'))
               .filter((cell) => cell.textContent === 'your answer').length;",
            vec![],
            |shown| shown.as_u64().filter(|shown| *shown == 2),
        )
        .await;
    let stored = server.store.maturity_answers().await.unwrap();
    let levels: Vec<(&str, u8)> = stored
        .iter()
        .map(|answer| (answer.question.as_str(), answer.level))
        .collect();
    assert_eq!(levels, [("cost", 3), ("maintenance", 4)]);
    owner.keep_screenshot("admin-report").await;

    // The weekly review: the question asked back should have been answered.
    owner.goto(&server.url("/admin/review")).await;
    owner
        .wait_for_text("the review queue", "No verdict yet.")
        .await;
    // Each reply's time is shown in the viewer's zone too, by the pages' script.
    owner
        .wait_for_text("the reply times in the viewer's zone", "(your time)")
        .await;
    owner.assert_nothing_ran("img").await;
    let first = "article.review:nth-of-type(1)";
    owner.click(&format!("{first} input[value=wrong]")).await;
    owner
        .type_into(&format!("{first} input[name=faq_id]"), LOST_CARD_FAQ)
        .await;
    owner.click(&format!("{first} button[type=submit]")).await;
    owner
        .wait_for_text(
            "the verdict with the right FAQ",
            &format!("should have answered with {LOST_CARD_FAQ}"),
        )
        .await;
    owner.keep_screenshot("admin-review").await;
    wait_until_answered_with(&server, UNSURE[1], LOST_CARD_FAQ).await;

    owner.click("a[href='/admin/knowledge']").await;
    owner
        .wait_for_text("the knowledge page", &format!("{LOST_CARD_FAQ}\n"))
        .await;
    owner.keep_screenshot("admin-knowledge").await;

    // A file with bad rows is refused, each bad row named by its line.
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("opening-hours.csv");
    let rows = "id,question,answer\nhours,When are you open?,\nparking,,Behind the shop.\n";
    std::fs::write(&file, rows).unwrap();
    owner
        .choose_file("form.upload input[type=file]", &file)
        .await;
    owner.click("form.upload button[type=submit]").await;
    owner
        .wait_for_text("the upload's row errors", "3\tfield `question` is empty")
        .await;
    owner
        .wait_for_text("the upload's row errors", "2\tfield `answer` is empty")
        .await;
    owner.keep_screenshot("admin-knowledge-upload").await;

    // The owner writes a canned reply for the team.
    owner.click("a[href='/admin/replies']").await;
    owner
        .wait_for_text("the canned replies page", "No canned replies yet.")
        .await;
    owner
        .type_into("form.entry input[name=title]", "Refund sent")
        .await;
    owner
        .type_into(
            "form.entry textarea[name=body]",
            "Hello {name}, your refund is on its way.",
        )
        .await;
    owner.click("form.entry button[type=submit]").await;
    owner
        .wait_for_text(
            "the saved canned reply",
            "Hello {name}, your refund is on its way.",
        )
        .await;
    owner.keep_screenshot("admin-replies").await;
}

async fn whatsapp_in_the_inbox(server: TestServer, _customer: Page, agent: Page) {
    use crate::channels::{add_whatsapp, post_whatsapp, PHONE_NUMBER_ID};
    use crate::provider::{Answer, MockProvider};

    add_agent(&server).await;
    let provider = MockProvider::start().await;
    // The assistant's handoff notice is refused for good.
    provider.script(&[Answer::Status(400)]);
    let channel = add_whatsapp(&server, &provider).await;
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "e", "changes": [{
    "field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "155501000001", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "<b>Ana</b>"}, "wa_id": "155501000002"}],
        "messages": [{"from": "155501000002", "id": "wamid.photo", "timestamp": "1697043223",
                      "type": "image", "image": {"caption": IMG_ONERROR,
                      "mime_type": "image/jpeg", "sha256": "abc", "id": "media-1"}}]
    }}]}]});
    let status = post_whatsapp(&server, channel, serde_json::to_vec(&body).unwrap()).await;
    assert_eq!(status, reqwest::StatusCode::OK);

    agent
        .open_in_inbox(&server, "Can I talk to a human please?")
        .await;
    agent
        .wait_for_messages("the photo's caption, as sent", "customer", |texts| {
            texts == [IMG_ONERROR]
        })
        .await;
    let attachments = agent
        .wait_for(
            "the photo listed with the message",
            "const notes = document.querySelectorAll('#messages li.customer .attachment');
             return notes.length ? Array.from(notes, (note) => note.textContent) : null;",
            vec![],
            |seen| (!seen.is_null()).then(|| strings(seen)),
        )
        .await;
    assert_eq!(attachments, ["attachment: image (image/jpeg)"]);
    let refused = agent
        .wait_for(
            "the refused reply marked as not delivered",
            "const failed = document.querySelector('#messages li.failed .meta');
             return failed ? failed.textContent : null;",
            vec![],
            |seen| seen.as_str().map(str::to_string),
        )
        .await;
    assert!(
        refused.contains("not delivered:") && refused.contains("scripted failure"),
        "the provider's reason is shown: {refused}"
    );
    agent
        .assert_nothing_ran("main img, main script, main b")
        .await;

    // The channel filter keeps the list to one channel.
    agent.choose_option("#channel-filter", "email").await;
    agent
        .wait_for_text("the list of email conversations", "Nothing here.")
        .await;
    agent.choose_option("#channel-filter", "whatsapp").await;
    let listed = agent
        .wait_for(
            "the list of WhatsApp conversations",
            "const titles = document.querySelectorAll('#conversations button strong');
             return titles.length ? Array.from(titles, (title) => title.textContent) : null;",
            vec![],
            |seen| (!seen.is_null()).then(|| strings(seen)),
        )
        .await;
    assert!(
        listed.iter().all(|title| title.contains("· whatsapp ·")),
        "{listed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_attachment_opens_as_a_download_and_its_name_stays_text() {
    in_browsers(email_attachment_in_the_inbox).await;
}

async fn email_attachment_in_the_inbox(server: TestServer, _customer: Page, agent: Page) {
    use crate::email::{add_email, post_mail};

    add_agent(&server).await;
    let channel = add_email(&server, None).await;
    let name = r#"<img src=x onerror="window.__pwned=1">.html"#;
    let raw = format!(
        "From: ana@example.com\r\nTo: help@shop.example\r\nSubject: Page\r\n\
         Message-ID: <page@example.com>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Can I talk to a human please?\r\n\
         --b1\r\nContent-Type: text/html\r\n\
         Content-Disposition: attachment; filename=\"{}\"\r\n\r\n\
         <script>window.parent.__pwned=1</script>\r\n--b1--\r\n",
        name.replace('"', "\\\"")
    );
    let status = post_mail(&server, channel, raw.as_bytes()).await;
    assert_eq!(status, reqwest::StatusCode::OK);

    agent
        .open_in_inbox(&server, "Can I talk to a human please?")
        .await;
    let link = agent
        .wait_for(
            "the attachment as a link",
            "const link = document.querySelector('#messages li.customer a.attachment');
             return link ? [link.textContent, link.getAttribute('href')] : null;",
            vec![],
            |seen| (!seen.is_null()).then(|| strings(seen)),
        )
        .await;
    assert_eq!(link[0], format!("attachment: {name} (text/html)"));
    assert!(link[1].ends_with("/attachments/0"), "{link:?}");

    // Fetched with the inbox's own sign-in, as clicking it would: bytes of no type,
    // sandboxed, never a page of ours.
    let fetched = agent
        .js(
            "const link = document.querySelector('#messages li.customer a.attachment');
             return fetch(link.href).then(async (response) => ({
               status: response.status,
               type: response.headers.get('content-type'),
               policy: response.headers.get('content-security-policy'),
               disposition: response.headers.get('content-disposition'),
               body: await response.text(),
             }));",
            vec![],
        )
        .await;
    assert_eq!(fetched["status"], 200, "{fetched}");
    assert_eq!(fetched["type"], "application/octet-stream");
    assert!(fetched["policy"].as_str().unwrap().contains("sandbox"));
    assert!(fetched["disposition"]
        .as_str()
        .unwrap()
        .starts_with("attachment;"));
    assert!(fetched["body"].as_str().unwrap().contains("<script>"));
    agent.assert_nothing_ran("main img, main script").await;
}

async fn generated_answer_streams_in(server: TestServer, customer: Page, _agent: Page) {
    customer.goto(&server.url("/demo")).await;
    customer.open_widget().await;
    // Sent without waiting for the send to finish: it finishes with the stored answer,
    // and the draft is what comes before.
    let widget = customer.widget().await;
    let input = widget.find(Locator::Css("textarea")).await.unwrap();
    input.send_keys(LOST_CARD.0).await.unwrap();
    let send = widget.find(Locator::Css(".send")).await.unwrap();
    send.click().await.unwrap();

    let draft = "const root = document.querySelector('[data-frontdesk-widget]').shadowRoot;
         const draft = root.querySelector('.bubble.draft');
         return draft === null ? null : draft.textContent;";
    let first_sentence = customer
        .wait_for("the draft of the answer", draft, vec![], |seen| {
            seen.as_str()
                .filter(|text| text.contains('.'))
                .map(str::to_string)
        })
        .await;
    assert!(!first_sentence.contains("[1]"), "{first_sentence}");

    customer
        .wait_for_bubble(
            "the stored generated answer",
            "assistant:not(.draft)",
            |text| text.ends_with("Freeze or cancel the card in the app first."),
        )
        .await;
    let shown = customer
        .js(
            "const root = document.querySelector('[data-frontdesk-widget]').shadowRoot;
             const answers = root.querySelectorAll('.bubble.assistant:not(.draft)');
             const last = answers[answers.length - 1];
             const sources = last.querySelector('.sources');
             return [root.querySelectorAll('.bubble.draft').length,
                     sources === null ? null : sources.textContent];",
            vec![],
        )
        .await;
    assert_eq!(shown[0], 0, "the draft is gone once the answer is stored");
    assert_eq!(
        shown[1],
        json!("from: I've lost my card, what should I do?"),
        "where the answer came from, by title"
    );
}

async fn a_person_replies_live(server: TestServer, customer: Page, agent: Page) {
    add_agent(&server).await;
    let canned = server
        .store
        .save_canned_reply("Thanks", "Thank you, {name}: glad we could help.", None)
        .await
        .unwrap();
    let answer = faq_answer(LOST_CARD.1);

    customer.goto(&server.url("/demo")).await;
    customer.open_widget().await;
    customer.say(LOST_CARD.0).await;
    customer
        .wait_for_bubble(
            "the answer to the lost card question",
            "assistant",
            |text| text == answer,
        )
        .await;

    customer.say(ASK_FOR_A_PERSON).await;
    customer
        .wait_for_bubble("the notice that a person will reply", "assistant", |text| {
            text.contains("member of our team")
        })
        .await;
    customer
        .wait_for_status("the waiting status", "passed your question to the team")
        .await;
    // Gone if the page reloads: the reply below must arrive in this same document.
    customer.js("window.__sameDocument = true;", vec![]).await;

    let conversation = agent.open_in_inbox(&server, ASK_FOR_A_PERSON).await;
    agent
        .wait_for_messages("the customer's two questions", "customer", |texts| {
            texts == [LOST_CARD.0, ASK_FOR_A_PERSON]
        })
        .await;
    agent
        .wait_for_messages("the assistant's answer", "assistant", |texts| {
            texts.first().map(String::as_str) == Some(answer.as_str())
        })
        .await;

    agent.click("#assign").await;
    agent
        .wait_for_title("the conversation assigned", "· assigned")
        .await;
    customer
        .wait_for_status(
            "the status saying a person joined",
            "A person from the team",
        )
        .await;

    // Unique to this run, so that only this reply can match what the widget shows.
    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let reply = format!("Ana here: I have frozen the card for you (reply {nonce}).");
    agent.type_into("#reply-text", &reply).await;
    agent
        .click("#reply button[type=submit]:not(#send-note)")
        .await;
    agent
        .wait_for_messages("the reply in the inbox", "agent", |texts| {
            texts == [reply.as_str()]
        })
        .await;
    customer
        .wait_for_bubble("the team's reply, live", "agent", |text| text == reply)
        .await;
    let same = customer
        .js("return window.__sameDocument === true;", vec![])
        .await;
    assert_eq!(
        same,
        json!(true),
        "the demo page reloaded to show the reply"
    );

    agent.click("#resolve").await;
    agent
        .wait_for_title("the conversation resolved", "· resolved")
        .await;
    customer
        .wait_for_status("the resolved status", "Marked as resolved")
        .await;

    // Resolved, the widget asks for a rating; the customer gives four of five.
    let widget = customer.widget().await;
    let four = widget
        .find(Locator::Css(".rating button[aria-label^='4 of 5']"))
        .await
        .unwrap();
    four.click().await.unwrap();
    customer
        .wait_for(
            "the thanks for the rating",
            "return document.querySelector('[data-frontdesk-widget]')
               .shadowRoot.querySelector('.rating').innerText;",
            vec![],
            |text| text.as_str().filter(|t| t.contains("Thank you")).map(drop),
        )
        .await;
    customer.keep_screenshot("widget-rated").await;
    let rating = server.store.rating_of(conversation).await.unwrap();
    assert_eq!(rating, Some((4, None)));

    // A canned reply goes into the reply field, the name filled in ("there": the widget
    // knows no name).
    agent
        .wait_for(
            "the canned reply in the list",
            "return document.querySelectorAll('#canned option').length;",
            vec![],
            |count| count.as_i64().filter(|count| *count == 2).map(drop),
        )
        .await;
    agent.choose_option("#canned", &canned.id.to_string()).await;
    let typed = agent
        .js(
            "return document.getElementById('reply-text').value;",
            vec![],
        )
        .await;
    assert_eq!(typed, json!("Thank you, there: glad we could help."));
}

async fn markup_shows_as_text(server: TestServer, customer: Page, agent: Page) {
    add_agent(&server).await;
    let sent = [SCRIPT_TAG, RIGHT_TO_LEFT, IMG_ONERROR];

    customer.goto(&server.url("/demo")).await;
    customer.open_widget().await;
    for text in sent {
        customer.say(text).await;
    }
    customer
        .wait_for_status("the waiting status", "passed your question to the team")
        .await;

    agent.goto(&server.url("/inbox")).await;
    agent.sign_in().await;
    let id = agent.find_conversation(IMG_ONERROR).await;
    let summary = server
        .store
        .conversation(id)
        .await
        .unwrap()
        .unwrap()
        .handoff_summary
        .unwrap();
    for text in sent {
        assert!(
            summary.contains(text),
            "the summary quotes {text:?}: {summary:?}"
        );
    }
    let preview = agent
        .js(
            "return document.querySelector(
               `#conversations button[data-id=\"${arguments[0]}\"] .preview`).textContent;",
            vec![json!(id)],
        )
        .await;
    assert_eq!(preview, json!(summary), "the list's preview of #{id}");

    agent.open_conversation(id).await;
    agent
        .wait_for_messages("the customer's messages, as sent", "customer", |texts| {
            texts == sent
        })
        .await;
    let shown_summary = agent
        .js(
            "return document.getElementById('conversation-summary').textContent;",
            vec![],
        )
        .await;
    assert_eq!(shown_summary, json!(summary), "the conversation's summary");

    // The override turns the rest of its own message around, and nothing after it.
    let list = format!("#conversations button[data-id=\"{id}\"] .preview");
    for (page, place, css, needle) in [
        (&agent, "the list's preview", list.as_str(), LAST_QUOTE),
        (
            &agent,
            "the conversation's summary",
            "#conversation-summary",
            LAST_QUOTE,
        ),
        (&agent, "the conversation", "#messages li.customer", "<img"),
        (&customer, "the widget", ".bubble.customer", "<img"),
    ] {
        assert_eq!(
            page.drawn_left_to_right(css, needle).await,
            json!(true),
            "{place} draws {needle:?}, after the message with the override, left to right"
        );
    }

    agent.type_into("#reply-text", AGENT_MARKUP).await;
    agent
        .click("#reply button[type=submit]:not(#send-note)")
        .await;
    agent
        .wait_for_messages("the reply in the inbox", "agent", |texts| {
            texts == [AGENT_MARKUP]
        })
        .await;
    customer
        .wait_for_bubble("the team's reply", "agent", |text| text == AGENT_MARKUP)
        .await;
    let in_the_widget = customer.widget_bubbles("customer").await;
    assert_eq!(in_the_widget, sent, "the customer's messages in the widget");

    // Nothing the messages held became an element or ran, on either page.
    let widget = customer
        .js(
            "const host = document.querySelector('[data-frontdesk-widget]');
             return {
               pwned: typeof window.__pwned,
               scripts: document.scripts.length,
               images: document.images.length,
               made: host.shadowRoot.querySelectorAll('img, script, b').length,
             };",
            vec![],
        )
        .await;
    let expected = json!({"pwned": "undefined", "scripts": 1, "images": 0, "made": 0});
    assert_eq!(
        widget, expected,
        "the demo page holds only its own elements"
    );
    let inbox = agent
        .js(
            "return {
               pwned: typeof window.__pwned,
               scripts: document.scripts.length,
               images: document.images.length,
               made: document.querySelectorAll('main img, main script, main b').length,
             };",
            vec![],
        )
        .await;
    let expected = json!({"pwned": "undefined", "scripts": 1, "images": 0, "made": 0});
    assert_eq!(inbox, expected, "the inbox holds only its own elements");
}

async fn add_agent(server: &TestServer) {
    let hash = hash_password(AGENT_PASSWORD).unwrap();
    server
        .store
        .add_user(AGENT_EMAIL, Role::Agent, &hash)
        .await
        .unwrap();
}

/// The fixture's answer for the FAQ `id`: what the widget must show for its question.
fn faq_answer(id: &str) -> String {
    read_faqs(&data("banking_faq.jsonl"))
        .unwrap()
        .into_iter()
        .find(|faq| faq.id == id)
        .unwrap_or_else(|| panic!("no FAQ {id} in the fixture"))
        .answer
}

/// Runs `story` against a fresh server on SQLite with two browsers, one for the customer
/// and one for the team member, or says why it cannot. The browsers and chromedriver are
/// closed afterwards, even when the story fails.
async fn in_browsers<F, Fut>(story: F)
where
    F: FnOnce(TestServer, Page, Page) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    in_browsers_with(ServerSettings::default(), story).await;
}

/// [`in_browsers`], on a server with `settings`.
async fn in_browsers_with<F, Fut>(settings: ServerSettings, story: F)
where
    F: FnOnce(TestServer, Page, Page) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(tools) = Tools::find() else { return };
    let _turn = ONE_STORY_AT_A_TIME.lock().await;
    with_server(Backend::Sqlite, settings, true, move |server| async move {
        let driver = Driver::start(&tools).await;
        let customer = driver.session(&tools, "the demo page").await;
        let agent = driver.session(&tools, "the inbox").await;
        let (customer, agent) = match (customer, agent) {
            (Ok(customer), Ok(agent)) => (customer, agent),
            (customer, agent) => {
                let mut failures = Vec::new();
                for session in [customer, agent] {
                    match session {
                        Ok(session) => session.close().await,
                        Err(failure) => failures.push(failure),
                    }
                }
                panic!("{}\n{}", failures.join("\n"), driver.log());
            }
        };
        let outcome = tokio::spawn(story(server, customer.page.clone(), agent.page.clone())).await;
        customer.close().await;
        agent.close().await;
        drop(driver);
        if let Err(failure) = outcome {
            std::panic::resume_unwind(failure.into_panic());
        }
    })
    .await;
}

struct Tools {
    chromium: PathBuf,
    chromedriver: PathBuf,
}

impl Tools {
    /// Chromium and chromedriver, or `None` after saying why the test is skipped.
    /// Panics instead when FRONTDESK_TEST_BROWSER=required.
    fn find() -> Option<Tools> {
        let tools = Tools {
            chromium: tool_path(CHROMIUM_VAR, "/usr/bin/chromium"),
            chromedriver: tool_path(CHROMEDRIVER_VAR, "/usr/bin/chromedriver"),
        };
        let missing: Vec<String> = [
            (&tools.chromium, CHROMIUM_VAR),
            (&tools.chromedriver, CHROMEDRIVER_VAR),
        ]
        .into_iter()
        .filter(|(path, _)| !path.is_file())
        .map(|(path, var)| format!("{} (or set {var})", path.display()))
        .collect();
        if missing.is_empty() {
            return Some(tools);
        }
        let why = format!("not found: {}", missing.join(", "));
        if std::env::var(REQUIRED_VAR).is_ok_and(|value| value == "required") {
            panic!("{REQUIRED_VAR}=required, but the browser is {why}");
        }
        // Written past the test harness's capture, so a passing run still shows that the
        // browser was never opened.
        let thread = std::thread::current();
        let test = thread.name().unwrap_or("a browser test");
        let _ = writeln!(
            std::io::stderr(),
            "skipped: {test}: the browser is {why}; install chromium and chromium-driver, \
             or set {REQUIRED_VAR}=required to make this a failure"
        );
        None
    }
}

fn tool_path(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .filter(|value| !value.is_empty())
        .map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// A chromedriver process on a loopback port, killed when dropped.
struct Driver {
    process: Child,
    url: String,
    log_dir: TempDir,
}

impl Driver {
    async fn start(tools: &Tools) -> Driver {
        // The port is free when chosen, but another process may take it before
        // chromedriver binds it: a driver that exits at once is started again elsewhere.
        for _ in 0..3 {
            let log_dir = tempfile::tempdir().unwrap();
            let log = File::create(log_dir.path().join("chromedriver.log")).unwrap();
            let port = free_port();
            let process = Command::new(&tools.chromedriver)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::from(log.try_clone().unwrap()))
                .stderr(Stdio::from(log))
                .spawn()
                .unwrap_or_else(|err| panic!("starting {}: {err}", tools.chromedriver.display()));
            let mut driver = Driver {
                process,
                url: format!("http://127.0.0.1:{port}"),
                log_dir,
            };
            if driver.wait_until_ready().await {
                return driver;
            }
        }
        panic!("chromedriver exited at start three times; see its output above");
    }

    /// Whether chromedriver says it is ready; false when it exited first.
    async fn wait_until_ready(&mut self) -> bool {
        // Straight to loopback, whatever proxy the environment names.
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let status = format!("{}/status", self.url);
        let deadline = Instant::now() + DRIVER_PATIENCE;
        loop {
            if let Ok(Some(_)) = self.process.try_wait() {
                eprintln!("chromedriver exited at start\n{}", self.log());
                return false;
            }
            if let Ok(response) = client.get(&status).send().await {
                let body: Value = response.json().await.unwrap_or_default();
                if body["value"]["ready"] == json!(true) {
                    return true;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver at {} was not ready within {DRIVER_PATIENCE:?}\n{}",
                self.url,
                self.log()
            );
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// A new browser with a fresh profile of its own, or what went wrong.
    async fn session(&self, tools: &Tools, name: &'static str) -> Result<Session, String> {
        let profile = tempfile::tempdir().map_err(|err| format!("a profile folder: {err}"))?;
        let args = [
            "--headless=new".to_string(),
            // CI runs as root, where Chromium's sandbox cannot start.
            "--no-sandbox".to_string(),
            "--disable-dev-shm-usage".to_string(),
            format!("--user-data-dir={}", profile.path().display()),
            "--window-size=1280,900".to_string(),
            "--no-first-run".to_string(),
            "--no-default-browser-check".to_string(),
            "--disable-extensions".to_string(),
            "--disable-sync".to_string(),
            "--disable-component-update".to_string(),
            "--disable-background-networking".to_string(),
            // Pages talk to the test server on 127.0.0.1 only: any host name fails to
            // resolve, and any other address goes to a proxy port nothing listens on
            // (loopback bypasses proxies).
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1".to_string(),
            "--proxy-server=http://127.0.0.1:9".to_string(),
        ];
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        // Bounds on a page load or a script, so that a hung page fails the test rather
        // than holding it for chromedriver's five-minute default.
        capabilities.insert(
            "timeouts".into(),
            json!({ "pageLoad": 20_000, "script": 10_000 }),
        );
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": tools.chromium, "args": args }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .map_err(|err| format!("opening a browser for {name}: {err}"))?;
        Ok(Session {
            page: Page { client, name },
            _profile: profile,
        })
    }

    fn log(&self) -> String {
        let path = self.log_dir.path().join("chromedriver.log");
        let log = std::fs::read_to_string(path).unwrap_or_default();
        format!("chromedriver's output:\n{log}")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A browser with its own profile folder, removed once the browser is closed.
struct Session {
    page: Page,
    _profile: TempDir,
}

impl Session {
    async fn close(self) {
        if let Err(err) = self.page.client.close().await {
            eprintln!("closing the browser for {}: {err}", self.page.name);
        }
    }
}

/// One browser's page and what a person does on it.
#[derive(Clone)]
struct Page {
    client: Client,
    /// Which page this is, for failure messages.
    name: &'static str,
}

impl Page {
    async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|err| panic!("{}: opening {url}: {err}", self.name));
    }

    /// Fails when anything a customer sent ran on the page or became an element that
    /// `selector` matches.
    async fn assert_nothing_ran(&self, selector: &str) {
        let made = self
            .js(
                "return {
                   pwned: typeof window.__pwned,
                   made: document.querySelectorAll(arguments[0]).length,
                 };",
                vec![json!(selector)],
            )
            .await;
        assert_eq!(
            made,
            json!({"pwned": "undefined", "made": 0}),
            "{}",
            self.name
        );
    }

    /// Waits until the page's visible text contains `part`.
    async fn wait_for_text(&self, what: &str, part: &str) {
        self.wait_for(
            what,
            "return document.body.innerText.includes(arguments[0]);",
            vec![json!(part)],
            |found| found.as_bool().filter(|found| *found),
        )
        .await;
    }

    /// Saves what the page shows as `target/screenshots/NAME.png`, for a person to look
    /// at after a run (CI keeps the folder).
    async fn keep_screenshot(&self, name: &str) {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|err| panic!("{}: no screenshot: {err}", self.name));
        let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join(format!("{name}.png")), png).unwrap();
    }

    async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        match self.client.execute(script, args).await {
            Ok(value) => value,
            Err(err) => panic!(
                "{}: a script failed: {err}\n{script}\n{}",
                self.name,
                self.visible_text().await
            ),
        }
    }

    /// The page's visible text and the widget's, for failure messages.
    async fn visible_text(&self) -> String {
        let script = "const host = document.querySelector('[data-frontdesk-widget]');
            const root = host && host.shadowRoot && host.shadowRoot.querySelector('.root');
            return 'page text:\\n' + document.body.innerText
              + (root ? '\\nwidget text:\\n' + root.innerText : '');";
        match self.client.execute(script, vec![]).await {
            Ok(Value::String(text)) => text,
            Ok(other) => format!("page text: {other}"),
            Err(err) => format!("page text unavailable: {err}"),
        }
    }

    /// Runs `script` until `accept` takes what it returns, for at most PATIENCE; then
    /// fails saying what was awaited, what was last seen and what the page shows.
    async fn wait_for<T>(
        &self,
        what: &str,
        script: &str,
        args: Vec<Value>,
        mut accept: impl FnMut(&Value) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let seen = self.js(script, args.clone()).await;
            if let Some(found) = accept(&seen) {
                return found;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{}: waited {PATIENCE:?} for {what}; last saw {seen}\n{}",
                    self.name,
                    self.visible_text().await
                );
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// Clicks the element `css` finds, trying again while it is missing or being
    /// redrawn: the inbox redraws its list whenever a conversation changes.
    async fn click(&self, css: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let clicked = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.click().await,
                Err(err) => Err(err),
            };
            match clicked {
                Ok(()) => return,
                Err(err) if Instant::now() >= deadline => panic!(
                    "{}: could not click {css} within {PATIENCE:?}: {err}\n{}",
                    self.name,
                    self.visible_text().await
                ),
                Err(_) => tokio::time::sleep(POLL_EVERY).await,
            }
        }
    }

    /// Chooses the option of value `value` in the select `css` finds, as a person would.
    async fn choose_option(&self, css: &str, value: &str) {
        let select = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("{}: no {css}: {err}", self.name));
        select.select_by_value(value).await.unwrap();
    }

    /// Chooses the file at `path` in the file field `css` finds.
    async fn choose_file(&self, css: &str, path: &std::path::Path) {
        let field = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("{}: no {css}: {err}", self.name));
        field.send_keys(&path.display().to_string()).await.unwrap();
    }

    /// Types `text` into the field `css` finds, as keystrokes.
    async fn type_into(&self, css: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("{}: no {css}: {err}", self.name));
        field.send_keys(text).await.unwrap();
        let typed = self
            .js("return arguments[0].value;", vec![json!(field)])
            .await;
        assert_eq!(
            typed,
            json!(text),
            "{}: what {css} holds once typed",
            self.name
        );
    }

    /// Whether the first two characters of `needle`, in the first element `css` finds
    /// holding it (in the widget's shadow root, if there is one), are drawn left to
    /// right; null when no such element holds it.
    async fn drawn_left_to_right(&self, css: &str, needle: &str) -> Value {
        let script = "const host = document.querySelector('[data-frontdesk-widget]');
            const scope = host ? host.shadowRoot : document;
            for (const element of scope.querySelectorAll(arguments[0])) {
              const texts = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
              for (let node = texts.nextNode(); node; node = texts.nextNode()) {
                const at = node.data.indexOf(arguments[1]);
                if (at < 0) continue;
                const left = (offset) => {
                  const range = document.createRange();
                  range.setStart(node, at + offset);
                  range.setEnd(node, at + offset + 1);
                  return range.getBoundingClientRect().left;
                };
                return left(0) < left(1);
              }
            }
            return null;";
        self.js(script, vec![json!(css), json!(needle)]).await
    }

    // ----- the widget, in its shadow root

    async fn widget(&self) -> ShadowRoot {
        self.wait_for(
            "the widget to load",
            "const host = document.querySelector('[data-frontdesk-widget]');
             return !!(host && host.shadowRoot);",
            vec![],
            |loaded| loaded.as_bool().filter(|loaded| *loaded),
        )
        .await;
        let host = self
            .client
            .find(Locator::Css("[data-frontdesk-widget]"))
            .await
            .unwrap();
        host.shadow_root().await.unwrap()
    }

    async fn open_widget(&self) {
        let widget = self.widget().await;
        widget
            .find(Locator::Css(".launcher"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        self.wait_for(
            "the chat panel to open",
            "return document.querySelector('[data-frontdesk-widget]')
               .shadowRoot.querySelector('.panel').checkVisibility();",
            vec![],
            |shown| shown.as_bool().filter(|shown| *shown),
        )
        .await;
    }

    /// Sends `text` from the widget as a customer types it, and waits until it shows.
    async fn say(&self, text: &str) {
        let widget = self.widget().await;
        let input = widget.find(Locator::Css("textarea")).await.unwrap();
        input.send_keys(text).await.unwrap();
        let typed = self
            .js("return arguments[0].value;", vec![json!(input)])
            .await;
        assert_eq!(
            typed,
            json!(text),
            "{}: what the widget's input holds",
            self.name
        );
        widget
            .find(Locator::Css(".send"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let what = format!("the customer's message {text:?} to be sent");
        let script = format!(
            "{OWN_TEXT}
             const root = document.querySelector('[data-frontdesk-widget]').shadowRoot;
             const shown = Array.from(root.querySelectorAll('.bubble.customer'), own);
             return shown.includes(arguments[0]) && root.querySelector('textarea').value === '';"
        );
        self.wait_for(&what, &script, vec![json!(text)], |sent| {
            sent.as_bool().filter(|sent| *sent)
        })
        .await;
    }

    /// The own text of each of the widget's bubbles of `kind` (customer, assistant,
    /// agent), in order.
    async fn widget_bubbles(&self, kind: &str) -> Vec<String> {
        let script = format!(
            "{OWN_TEXT}
             const root = document.querySelector('[data-frontdesk-widget]').shadowRoot;
             return Array.from(root.querySelectorAll('.bubble.' + arguments[0]), own);"
        );
        strings(&self.js(&script, vec![json!(kind)]).await)
    }

    /// Waits for a widget bubble of `kind` whose own text `accept` takes.
    async fn wait_for_bubble(&self, what: &str, kind: &str, accept: impl Fn(&str) -> bool) {
        let script = format!(
            "{OWN_TEXT}
             const root = document.querySelector('[data-frontdesk-widget]').shadowRoot;
             return Array.from(root.querySelectorAll('.bubble.' + arguments[0]), own);"
        );
        self.wait_for(what, &script, vec![json!(kind)], |texts| {
            strings(texts).iter().any(|text| accept(text)).then_some(())
        })
        .await;
    }

    async fn wait_for_status(&self, what: &str, part: &str) {
        self.wait_for(
            what,
            "return document.querySelector('[data-frontdesk-widget]')
               .shadowRoot.querySelector('.status').textContent;",
            vec![],
            |status| status.as_str().filter(|s| s.contains(part)).map(drop),
        )
        .await;
    }

    // ----- the inbox

    /// Signs in as the team member, checking that the page shows the form alone before
    /// and the inbox alone after: what a person sees, not just what the DOM says.
    async fn sign_in(&self) {
        self.sign_in_as(AGENT_EMAIL, AGENT_PASSWORD).await;
    }

    /// Signs in on the inbox page as `email`.
    async fn sign_in_as(&self, email: &str, password: &str) {
        let shown = "const shown = (id) => document.getElementById(id).checkVisibility();
            return { form: shown('sign-in'), inbox: shown('inbox') };";
        self.wait_for("the sign-in form, shown alone", shown, vec![], |seen| {
            (*seen == json!({"form": true, "inbox": false})).then_some(())
        })
        .await;
        self.type_into("#sign-in input[name=email]", email).await;
        self.type_into("#sign-in input[name=password]", password)
            .await;
        self.click("#sign-in button[type=submit]").await;
        self.wait_for(
            "the inbox, shown alone once signed in",
            shown,
            vec![],
            |seen| (*seen == json!({"form": false, "inbox": true})).then_some(()),
        )
        .await;
    }

    /// The id of the listed conversation whose summary quotes `quote`.
    /// Signs in to the inbox and opens the conversation that quotes `quote`.
    /// Signs in to the inbox and opens the conversation whose summary quotes `quote`;
    /// returns its id.
    async fn open_in_inbox(&self, server: &TestServer, quote: &str) -> i64 {
        self.goto(&server.url("/inbox")).await;
        self.sign_in().await;
        let id = self.find_conversation(quote).await;
        self.open_conversation(id).await;
        id
    }

    async fn find_conversation(&self, quote: &str) -> i64 {
        self.wait_for(
            &format!("a waiting conversation whose summary quotes {quote:?}"),
            "for (const button of document.querySelectorAll('#conversations button')) {
               const preview = button.querySelector('.preview');
               if (preview && preview.textContent.includes(arguments[0])) {
                 return Number(button.dataset.id);
               }
             }
             return null;",
            vec![json!(quote)],
            Value::as_i64,
        )
        .await
    }

    async fn open_conversation(&self, id: i64) {
        self.click(&format!("#conversations button[data-id=\"{id}\"]"))
            .await;
        self.wait_for_title("the conversation to open", &format!("#{id} "))
            .await;
    }

    async fn wait_for_title(&self, what: &str, part: &str) {
        self.wait_for(
            what,
            "const section = document.getElementById('conversation');
             return section.hidden ? null
               : document.getElementById('conversation-title').textContent;",
            vec![],
            |title| title.as_str().filter(|t| t.contains(part)).map(drop),
        )
        .await;
    }

    /// Waits until the open conversation's messages by `author` (their own text, in
    /// order) are what `accept` takes.
    async fn wait_for_messages(
        &self,
        what: &str,
        author: &str,
        accept: impl Fn(&[String]) -> bool,
    ) {
        let script = format!(
            "{OWN_TEXT}
             return Array.from(document.querySelectorAll('#messages li.' + arguments[0]), own);"
        );
        self.wait_for(what, &script, vec![json!(author)], |texts| {
            accept(&strings(texts)).then_some(())
        })
        .await;
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
