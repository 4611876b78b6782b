//! The owner's pages and their JSON: who may read them, what they count, that customers'
//! words are shown as text, and that the one form cannot be sent from another site.

use frontdesk_core::{Author, Role};
use frontdesk_server::auth::hash_password;
use frontdesk_store::Readers;
use reqwest::redirect::Policy;
use reqwest::{header, StatusCode};
use serde_json::Value;

use crate::feedback::{store_fixture_knowledge, wait_until_answered_with, wait_until_decided};
use crate::inbox::{session_cookie, sign_in};
use crate::support::{TestServer, LOST_CARD};
use crate::widget::{open, say, UNSURE};

/// The fixture's FAQ for a lost card, which the unsure questions are about.
const RIGHT_FAQ: &str = "lost_or_stolen_card";

const PASSWORD: &str = "a long enough password";

/// What a customer writes that the assistant cannot answer, with markup in it.
const MARKUP_QUESTION: &str = "<img src=x onerror=alert(1)> the plastic thing with my money \
                               fell out of my pocket";

/// Signs in a new member of the team and returns their cookie.
async fn member(server: &TestServer, email: &str, role: Role) -> String {
    let hash = hash_password(PASSWORD).unwrap();
    server.store.add_user(email, role, &hash).await.unwrap();
    let response = sign_in(server, email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    session_cookie(&response)
}

/// A client that shows redirects instead of following them.
fn not_following() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

async fn get(server: &TestServer, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = not_following().get(server.url(path));
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.send().await.unwrap()
}

async fn post_answers(server: &TestServer, cookie: &str, form: &[(&str, &str)]) -> StatusCode {
    not_following()
        .post(server.url("/admin/report/answers"))
        .header(header::COOKIE, cookie)
        .form(form)
        .send()
        .await
        .unwrap()
        .status()
}

/// The hidden form token on the report page.
fn form_token(page: &str) -> String {
    let marker = "name=\"form_token\" value=\"";
    let start = page.find(marker).expect("the page has a form token") + marker.len();
    page[start..].split('"').next().unwrap().to_string()
}

async fn only_owners_read_the_figures(server: TestServer) {
    let agent = member(&server, "ana@shop.example", Role::Agent).await;

    // Not signed in: off to the inbox's sign-in.
    let anonymous = get(&server, "/admin/report", None).await;
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(anonymous.headers()[header::LOCATION], "/inbox");
    let forged = get(
        &server,
        "/admin/analytics",
        Some("frontdesk_session=fdt_0000"),
    )
    .await;
    assert_eq!(forged.status(), StatusCode::SEE_OTHER);

    // An agent: refused, on the pages and through the API.
    for path in [
        "/admin/report",
        "/admin/analytics",
        "/admin/analytics.csv",
        "/api/v1/analytics",
        "/api/v1/report/maturity",
    ] {
        let refused = get(&server, path, Some(&agent)).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        post_answers(&server, &agent, &[("form_token", "x"), ("cost", "3")]).await,
        StatusCode::FORBIDDEN
    );
    assert!(server.store.maturity_answers().await.unwrap().is_empty());
}

async fn the_owner_sees_what_happened(server: TestServer) {
    let owner = member(&server, "owner@shop.example", Role::Owner).await;

    // One customer answered, one handed off after two unsure turns (one with markup).
    let (_, answered) = open(&server).await;
    say(&server, &answered, LOST_CARD.0).await;
    let (_, unsure) = open(&server).await;
    say(&server, &unsure, MARKUP_QUESTION).await;
    let handed = say(
        &server,
        &unsure,
        "I left my wallet card on the bus yesterday",
    )
    .await;
    assert_eq!(handed["conversation"]["status"], "waiting", "{handed}");

    let response = get(&server, "/api/v1/analytics", Some(&owner)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let figures: Value = response.json().await.unwrap();
    assert_eq!(figures["outcomes"]["handed_off"], 1, "{figures}");
    // The answer is not a resolution until the customer has been quiet for a day.
    assert_eq!(figures["outcomes"]["resolved_without_person"], 0);
    assert_eq!(figures["outcomes"]["open"], 1);
    assert_eq!(figures["escalation_rate"], 1.0);
    assert_eq!(figures["volume_by_channel"]["widget"], 3);
    assert_eq!(figures["first_response_assistant"]["count"], 2);
    assert_eq!(figures["handoffs_waiting"], 1);
    let unanswered = figures["unanswered"].as_array().unwrap();
    let asked: Vec<&str> = unanswered
        .iter()
        .flat_map(|group| group["examples"].as_array().unwrap())
        .filter_map(Value::as_str)
        .collect();
    assert!(asked.contains(&MARKUP_QUESTION), "{figures}");
    assert!(figures["definitions"]["resolved_without_person"]
        .as_str()
        .unwrap()
        .contains("24 hours"));

    // The page shows the customer's markup as text, and draws its charts.
    let page = get(&server, "/admin/analytics", Some(&owner)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_string();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    assert!(!html.contains("<img src=x"));
    assert!(html.contains("<svg"));
    assert!(html.contains("counts as resolved without a person when"));

    let csv = get(&server, "/admin/analytics.csv", Some(&owner)).await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = csv.text().await.unwrap();
    assert!(
        csv.starts_with("figure,value,from,to,definition\n"),
        "{csv}"
    );
    assert!(csv.contains("\nhanded_off,1,"), "{csv}");
    let widget_messages: u64 = csv
        .lines()
        .map(|line| line.split(',').collect::<Vec<_>>())
        .filter(|cells| cells.len() > 2 && cells[1] == "widget")
        .map(|cells| cells[2].parse::<u64>().unwrap())
        .sum();
    assert_eq!(widget_messages, 3, "{csv}");

    // A period that is not one is refused, naming it.
    let bad = get(&server, "/api/v1/analytics?from=last-week", Some(&owner)).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let bad: Value = bad.json().await.unwrap();
    assert!(
        bad["error"].as_str().unwrap().contains("last-week"),
        "{bad}"
    );
    let path = "/api/v1/analytics?from=2026-12-01&to=2026-13-01";
    let bad: Value = get(&server, path, Some(&owner)).await.json().await.unwrap();
    assert_eq!(bad["field"], "to", "{bad}");
}

async fn the_owner_answers_the_questions_the_data_cannot(server: TestServer) {
    let owner = member(&server, "owner@shop.example", Role::Owner).await;
    let page = get(&server, "/admin/report", Some(&owner)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("Next move:"), "{page}");
    let token = form_token(&page);

    // Without the page's token (another site's form), or with a bad level: nothing stored.
    let forged = post_answers(&server, &owner, &[("form_token", "0"), ("cost", "3")]).await;
    assert_eq!(forged, StatusCode::FORBIDDEN);
    let bad = [
        ("form_token", token.as_str()),
        ("maintenance", "4"),
        ("cost", "9"),
    ];
    assert_eq!(
        post_answers(&server, &owner, &bad).await,
        StatusCode::BAD_REQUEST
    );
    assert!(server.store.maturity_answers().await.unwrap().is_empty());

    let good = [
        ("form_token", token.as_str()),
        ("maintenance", "4"),
        ("cost", "3"),
    ];
    assert_eq!(
        post_answers(&server, &owner, &good).await,
        StatusCode::SEE_OTHER
    );

    let report: Value = get(&server, "/api/v1/report/maturity", Some(&owner))
        .await
        .json()
        .await
        .unwrap();
    let answers = report["assessment"]["answers"].as_array().unwrap();
    let cost = answers.iter().find(|a| a["question"] == "cost").unwrap();
    assert_eq!(
        (cost["level"].as_u64(), &cost["basis"]["kind"]),
        (Some(3), &"owner".into())
    );
    // With no conversations, the measured questions stay open and the level rests on
    // the owner's answers.
    assert_eq!(report["assessment"]["level"], 3, "{report}");
    assert_eq!(
        report["assessment"]["in_transition"],
        serde_json::json!([3, 4])
    );
    let unanswered = report["assessment"]["unanswered"].as_array().unwrap();
    assert_eq!(unanswered.len(), 3, "{report}");
}

async fn post_form(
    server: &TestServer,
    cookie: &str,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    not_following()
        .post(server.url(path))
        .header(header::COOKIE, cookie)
        .form(form)
        .send()
        .await
        .unwrap()
}

/// A `wrong` verdict for the period's form, without the right FAQ.
fn vague_form<'a>(period: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = period.to_vec();
    form.push(("verdict", "wrong"));
    form
}

async fn the_owner_reviews_the_week_and_the_assistant_learns(server: TestServer) {
    store_fixture_knowledge(&server).await;
    let owner = member(&server, "owner@shop.example", Role::Owner).await;
    let (conversation, token) = open(&server).await;
    say(&server, &token, UNSURE[0]).await;
    let handed = say(&server, &token, UNSURE[1]).await;
    assert_eq!(handed["conversation"]["status"], "waiting", "{handed}");
    let replies: Vec<i64> = server
        .store
        .messages(conversation, None, Readers::Team)
        .await
        .unwrap()
        .into_iter()
        .filter(|message| message.author == Author::Assistant)
        .map(|message| message.id)
        .collect();
    let [asked_back, handoff] = replies[..] else {
        panic!("two assistant replies expected: {replies:?}")
    };

    let page = get(&server, "/admin/review", Some(&owner)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(
        page.contains(UNSURE[0]) && page.contains(UNSURE[1]),
        "{page}"
    );
    assert_eq!(page.matches("No verdict yet.").count(), 2, "{page}");
    let token = form_token(&page);
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_string();
    let week_ago = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .checked_sub(jiff::Span::new().days(6))
        .unwrap()
        .to_string();
    let period = [
        ("form_token", token.as_str()),
        ("from", &week_ago),
        ("to", &today),
    ];

    // Not finished while replies wait for a verdict; another site's form is refused.
    let early = post_form(&server, &owner, "/admin/review/finish", &period).await;
    assert_eq!(early.status(), StatusCode::BAD_REQUEST);
    let early = early.text().await.unwrap();
    assert!(early.contains("still have no verdict"), "{early}");
    let forged = [
        ("form_token", "0"),
        ("from", &week_ago),
        ("to", &today),
        ("verdict", "right"),
    ];
    let forged = post_form(
        &server,
        &owner,
        &format!("/admin/review/{asked_back}"),
        &forged,
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // Only the assistant's replies are judged, and an FAQ goes with `wrong` only.
    let customer_message = asked_back - 1;
    let mut right = period.to_vec();
    right.push(("verdict", "right"));
    let path = format!("/admin/review/{customer_message}");
    let refused = post_form(&server, &owner, &path, &right).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let mut confused = right.clone();
    confused.push(("faq_id", RIGHT_FAQ));
    let path = format!("/admin/review/{asked_back}");
    let refused = post_form(&server, &owner, &path, &confused).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    // A new FAQ answer may be long, but not endless.
    let mut huge = vague_form(&period);
    let endless = "x".repeat(100_000);
    huge.push(("new_question", "What now?"));
    huge.push(("new_answer", &endless));
    let refused = post_form(&server, &owner, &path, &huge).await;
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let (_, waiting) = server.store.review_counts(0, i64::MAX, 0.95).await.unwrap();
    assert_eq!(waiting, 2, "nothing refused was stored");

    // Asking back was right; the handoff was wrong only with the FAQ that should have
    // answered.
    let judged = post_form(
        &server,
        &owner,
        &format!("/admin/review/{asked_back}"),
        &right,
    )
    .await;
    assert_eq!(judged.status(), StatusCode::SEE_OTHER);
    let vague = vague_form(&period);
    let refused = post_form(&server, &owner, &format!("/admin/review/{handoff}"), &vague).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let mut corrected = vague.clone();
    corrected.push(("faq_id", RIGHT_FAQ));
    let judged = post_form(
        &server,
        &owner,
        &format!("/admin/review/{handoff}"),
        &corrected,
    )
    .await;
    let status = judged.status();
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "{}",
        judged.text().await.unwrap()
    );

    let page = get(&server, "/admin/review", Some(&owner))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Judged right."), "{page}");
    assert!(
        page.contains(&format!("should have answered with {RIGHT_FAQ}")),
        "{page}"
    );
    let finished = post_form(&server, &owner, "/admin/review/finish", &period).await;
    assert_eq!(finished.status(), StatusCode::SEE_OTHER);
    assert!(server.store.last_review_at().await.unwrap().is_some());

    let report: Value = get(&server, "/api/v1/report/maturity", Some(&owner))
        .await
        .json()
        .await
        .unwrap();
    let signals = report["assessment"]["signals"].as_array().unwrap();
    let review = signals
        .iter()
        .find(|s| s["name"] == "weekly_review_happens")
        .unwrap();
    assert_eq!(review["met"], true, "{report}");

    // The correction is learned in the background: the same question is then answered.
    wait_until_answered_with(&server, UNSURE[1], RIGHT_FAQ).await;
}

async fn the_knowledge_page_shows_use_and_what_needs_a_look(server: TestServer) {
    store_fixture_knowledge(&server).await;
    let stale = frontdesk_core::FaqEntry {
        id: "lost-card-old".to_string(),
        question: "I lost my card, what do I do?".to_string(),
        answer: "<b>Write</b> to us by post.".to_string(),
        tags: Vec::new(),
        url: None,
    };
    server.store.import_faqs(&[stale], &|_| {}).await.unwrap();
    let owner = member(&server, "owner@shop.example", Role::Owner).await;
    let agent = member(&server, "ana@shop.example", Role::Agent).await;
    let (_, customer) = open(&server).await;
    let answered = say(&server, &customer, LOST_CARD.0).await;
    let used = answered["messages"][1]["sources"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let refused = get(&server, "/admin/knowledge", Some(&agent)).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let page = get(&server, "/admin/knowledge", Some(&owner)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    // The answer used shows one use; the new entry's markup shows as text.
    let row = page
        .split("<tr>")
        .find(|row| row.contains(&format!("<strong>{used}</strong>")));
    let row = row.unwrap_or_else(|| panic!("no row for {used}: {page}"));
    assert!(row.contains("<td>1</td>"), "{row}");
    assert!(page.contains("&lt;b&gt;Write&lt;/b&gt;"), "{page}");
    assert!(page.contains("unused"), "{page}");

    let found = get(&server, "/admin/knowledge?q=post+WRITE", Some(&owner)).await;
    let found = found.text().await.unwrap();
    assert!(found.contains("1 of "), "{found}");
    assert!(found.contains("lost-card-old"));
    let bad = get(&server, "/admin/knowledge?stale_days=0", Some(&owner)).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    // Refused from a page, answered with a page naming what was wrong.
    assert!(bad.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let bad = bad.text().await.unwrap();
    assert!(
        bad.contains("give a number of days from 1 to 3650"),
        "{bad}"
    );
    assert!(bad.contains("<code>stale_days</code>"), "{bad}");
}

/// Sends the knowledge page's upload form.
async fn upload(
    server: &TestServer,
    cookie: &str,
    token: &str,
    kind: &str,
    (file_name, content): (&str, &str),
) -> reqwest::Response {
    let file = reqwest::multipart::Part::text(content.to_string()).file_name(file_name.to_string());
    let form = reqwest::multipart::Form::new()
        .text("form_token", token.to_string())
        .text("kind", kind.to_string())
        .part("file", file);
    not_following()
        .post(server.url("/admin/knowledge/upload"))
        .header(header::COOKIE, cookie)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// The page a redirect points at.
fn location(response: &reqwest::Response) -> &str {
    response.headers()[header::LOCATION].to_str().unwrap()
}

const HOURS_QUESTION: &str = "When is the branch on the high street open?";

async fn the_owner_uploads_edits_and_deletes_knowledge(server: TestServer) {
    store_fixture_knowledge(&server).await;
    let owner = member(&server, "owner@shop.example", Role::Owner).await;
    let agent = member(&server, "ana@shop.example", Role::Agent).await;
    let page = get(&server, "/admin/knowledge", Some(&owner)).await;
    let token = form_token(&page.text().await.unwrap());
    let stored = server.store.faqs().await.unwrap().len();

    // Two bad rows are both listed, by line, and nothing of the file is stored.
    let bad = "id,question,answer\n\
               branch-hours,When is the branch open?,Nine to five.\n\
               no-answer,Where is it?,\n\
               ,Who runs it?,Ana.\n";
    let refused = upload(
        &server,
        &owner,
        &token,
        "faq",
        ("<b onclick=x>hours.csv", bad),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("has 2 problems"), "{refused}");
    assert!(
        refused.contains("<td>3</td><td>field `answer` is empty</td>"),
        "{refused}"
    );
    assert!(
        refused.contains("<td>4</td><td>field `id` is empty</td>"),
        "{refused}"
    );
    assert!(
        refused.contains("&lt;b onclick=x&gt;hours.csv"),
        "{refused}"
    );
    assert_eq!(server.store.faqs().await.unwrap().len(), stored);

    // Only the owner, with the page's own token, may upload.
    let good = "id,question,answer\n\
                branch-hours,When is the branch on the high street open?,\"Nine to five, Monday to Saturday.\"\n";
    let by_agent = upload(&server, &agent, &token, "faq", ("hours.csv", good)).await;
    assert_eq!(by_agent.status(), StatusCode::FORBIDDEN);
    let forged = upload(&server, &owner, "forged", "faq", ("hours.csv", good)).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let wrong_kind = upload(&server, &owner, &token, "recipes", ("hours.csv", good)).await;
    assert_eq!(wrong_kind.status(), StatusCode::BAD_REQUEST);

    // A good file is stored and answered from after the retrain in the background.
    let accepted = upload(&server, &owner, &token, "faq", ("hours.csv", good)).await;
    assert_eq!(accepted.status(), StatusCode::OK);
    let accepted = accepted.text().await.unwrap();
    assert!(accepted.contains("1 new, 0 updated"), "{accepted}");
    wait_until_answered_with(&server, HOURS_QUESTION, "branch-hours").await;

    // The entry is edited in its form; a new one with mistakes comes back with them named.
    let form = get(
        &server,
        "/admin/knowledge/faq?id=branch-hours",
        Some(&owner),
    )
    .await;
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form
        .text()
        .await
        .unwrap()
        .contains("Nine to five, Monday to Saturday."));
    let edit = [
        ("form_token", token.as_str()),
        ("existing", "branch-hours"),
        ("question", HOURS_QUESTION),
        ("answer", "Nine to six, every day but Sunday."),
        ("tags", "hours, branch"),
        ("url", "https://shop.example/branches"),
    ];
    let saved = post_form(&server, &owner, "/admin/knowledge/faq", &edit).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&saved), "/admin/knowledge?saved=branch%2Dhours");
    let entry = server.store.faqs().await.unwrap();
    let entry = entry.iter().find(|faq| faq.id == "branch-hours").unwrap();
    assert_eq!(entry.answer, "Nine to six, every day but Sunday.");
    assert_eq!(entry.tags, ["hours", "branch"]);
    let listed = get(&server, "/admin/knowledge?saved=branch-hours", Some(&owner)).await;
    assert!(listed
        .text()
        .await
        .unwrap()
        .contains("Saved the entry <code>branch-hours</code>"));

    let careless = [
        ("form_token", token.as_str()),
        ("id", "branch-hours"),
        ("question", "<i>Parking?</i>"),
        ("answer", ""),
        ("url", "javascript:alert(1)"),
    ];
    let sent_back = post_form(&server, &owner, "/admin/knowledge/faq", &careless).await;
    assert_eq!(sent_back.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let sent_back = sent_back.text().await.unwrap();
    assert!(sent_back.contains("3 fields need a change"), "{sent_back}");
    assert!(sent_back.contains("exists already"), "{sent_back}");
    assert!(
        sent_back.contains("value=\"&lt;i&gt;Parking?&lt;/i&gt;\""),
        "{sent_back}"
    );
    let by_agent = post_form(&server, &agent, "/admin/knowledge/faq", &edit).await;
    assert_eq!(by_agent.status(), StatusCode::FORBIDDEN);

    // Deleted, the entry is gone from the store and from the assistant's answers.
    let delete = [("form_token", token.as_str()), ("id", "branch-hours")];
    let deleted = post_form(&server, &owner, "/admin/knowledge/faq/delete", &delete).await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert!(!server
        .store
        .faqs()
        .await
        .unwrap()
        .iter()
        .any(|f| f.id == "branch-hours"));
    let again = post_form(&server, &owner, "/admin/knowledge/faq/delete", &delete).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let forgotten = |decision: &Value| decision["faq_id"] != "branch-hours";
    wait_until_decided(&server, HOURS_QUESTION, "answered without it", forgotten).await;
}

on_both_backends!(
    the_owner_uploads_edits_and_deletes_knowledge,
    the_knowledge_page_shows_use_and_what_needs_a_look,
    the_owner_reviews_the_week_and_the_assistant_learns,
    only_owners_read_the_figures,
    the_owner_sees_what_happened,
    the_owner_answers_the_questions_the_data_cannot,
);
