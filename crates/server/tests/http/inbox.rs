//! The inbox page and signing in to it: the cookie, what it allows, and the headers that
//! keep the page from running anyone else's script.

use frontdesk_core::Role;
use frontdesk_server::auth::hash_password;
use reqwest::{header, RequestBuilder, StatusCode};
use serde_json::{json, Value};

use crate::support::TestServer;
use crate::widget::open;

const PASSWORD: &str = "a long enough password";

pub(crate) async fn sign_in(server: &TestServer, email: &str, password: &str) -> reqwest::Response {
    server
        .client
        .post(server.url("/api/v1/sessions"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
}

/// `request` with the session cookie, and the inbox page's header when `from_the_page`.
fn signed(request: RequestBuilder, cookie: &str, from_the_page: bool) -> RequestBuilder {
    let request = request.header(header::COOKIE, cookie);
    if from_the_page {
        request.header("X-Frontdesk-Inbox", "1")
    } else {
        request
    }
}

/// The `name=value` part of the session cookie the response sets.
pub(crate) fn session_cookie(response: &reqwest::Response) -> String {
    let set = response.headers()[header::SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_string()
}

async fn a_team_member_signs_in_with_a_cookie(server: TestServer) {
    let hash = hash_password(PASSWORD).unwrap();
    server
        .store
        .add_user("ana@shop.example", Role::Agent, &hash)
        .await
        .unwrap();

    // A wrong password and an unknown email get the same answer.
    let wrong = sign_in(&server, "ana@shop.example", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong: Value = wrong.json().await.unwrap();
    let stranger = sign_in(&server, "who@shop.example", PASSWORD).await;
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED);
    let stranger: Value = stranger.json().await.unwrap();
    assert_eq!(wrong, stranger);

    // A form another site posts (text/plain) cannot sign anyone in.
    let form = server
        .client
        .post(server.url("/api/v1/sessions"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(json!({ "email": "ana@shop.example", "password": PASSWORD }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let signed_in = sign_in(&server, "Ana@Shop.example", PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    let set = signed_in.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set.contains(attribute), "{set}");
    }
    let cookie = session_cookie(&signed_in);
    let me: Value = signed_in.json().await.unwrap();
    assert_eq!(me["email"], "ana@shop.example");

    let me = || signed(server.client.get(server.url("/api/v1/me")), &cookie, false).send();
    assert_eq!(me().await.unwrap().status(), StatusCode::OK);

    // A change with the cookie alone could come from another site's form: refused.
    let (id, _) = open(&server).await;
    let assign = server.url(&format!("/api/v1/conversations/{id}/assign"));
    let forged = signed(server.client.post(&assign), &cookie, false)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let from_the_page = signed(server.client.post(&assign), &cookie, true)
        .send()
        .await
        .unwrap();
    assert_eq!(from_the_page.status(), StatusCode::OK);

    let sign_out = server.client.delete(server.url("/api/v1/sessions"));
    let signed_out = signed(sign_out, &cookie, true).send().await.unwrap();
    assert_eq!(signed_out.status(), StatusCode::NO_CONTENT);
    assert_eq!(me().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

async fn the_page_runs_only_its_own_script(server: TestServer) {
    for (path, kind) in [
        ("/inbox", "text/html"),
        ("/inbox/inbox.js", "text/javascript"),
        ("/inbox/inbox.css", "text/css"),
    ] {
        let response = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers();
        assert!(headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with(kind));
        let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(policy.contains("script-src 'self'"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }
    let script = server.text("/inbox/inbox.js").await;
    // Customer text reaches the page through textContent only.
    assert!(!script.contains("innerHTML"));
    assert!(!script.contains("insertAdjacentHTML"));
}

async fn an_account_locks_after_five_wrong_passwords(server: TestServer) {
    let hash = hash_password(PASSWORD).unwrap();
    server
        .store
        .add_user("ana@shop.example", Role::Agent, &hash)
        .await
        .unwrap();
    for _ in 0..5 {
        let wrong = sign_in(&server, "ana@shop.example", "a wrong guess").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    // Now even the right password waits, and says for how long.
    let locked = sign_in(&server, "Ana@shop.example", PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = locked.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 800 && wait <= 900, "{wait}");
    assert!(!locked.headers().contains_key(header::SET_COOKIE));
}

on_both_backends!(
    an_account_locks_after_five_wrong_passwords,
    a_team_member_signs_in_with_a_cookie,
    the_page_runs_only_its_own_script,
);
