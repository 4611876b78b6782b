//! `frontdesk channels`: a channel is added with its secrets, which are stored and never
//! shown again, and listed with the webhook URL its provider must deliver to.

use std::process::Output;

use frontdesk_channels::ChannelConfig;
use frontdesk_store::Store;
use serde_json::Value;

use crate::support::{arg, Frontdesk};

/// The variables the channel secrets may come from; cleared for every run so that a
/// developer's shell cannot supply a secret a test means to leave out.
const CHANNEL_ENV: &[&str] = &[
    "FRONTDESK_CHANNEL_APP_SECRET",
    "FRONTDESK_CHANNEL_VERIFY_TOKEN",
    "FRONTDESK_CHANNEL_ACCESS_TOKEN",
    "FRONTDESK_CHANNEL_PAGE_ACCESS_TOKEN",
    "FRONTDESK_CHANNEL_BOT_TOKEN",
    "FRONTDESK_CHANNEL_SECRET_TOKEN",
    "FRONTDESK_CHANNEL_WEBHOOK_SECRET",
];

const BOT_TOKEN: &str = "123456:bot-token-value";
const SECRET_TOKEN: &str = "secret_token-value";

fn run(frontdesk: &Frontdesk, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = frontdesk.command(args);
    for var in CHANNEL_ENV {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    command.output().expect("the frontdesk binary runs")
}

/// Standard output and standard error of a run that must succeed.
fn ok(frontdesk: &Frontdesk, args: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let output = run(frontdesk, args, env);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        output.status.success(),
        "frontdesk {args:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (stdout, stderr)
}

/// Standard error of a run that must fail.
fn fails(frontdesk: &Frontdesk, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = run(frontdesk, args, env);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        !output.status.success(),
        "frontdesk {args:?} succeeded but should have failed\nstdout:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    stderr
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("not JSON ({err}):\n{text}"))
}

fn assert_hidden(text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "{secret:?} was shown:\n{text}");
    }
}

/// The channels as stored, settings parsed.
fn stored(frontdesk: &Frontdesk) -> Vec<(String, ChannelConfig)> {
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
        let channels = store.channels().await.unwrap();
        store.close().await;
        channels
            .into_iter()
            .map(|channel| (channel.name, serde_json::from_str(&channel.config).unwrap()))
            .collect()
    })
}

fn add_telegram<'a>(name: &'a str, secret_token: &'a str) -> Vec<&'a str> {
    vec![
        "channels",
        "add",
        "telegram",
        "--name",
        name,
        "--bot-token",
        BOT_TOKEN,
        "--secret-token",
        secret_token,
    ]
}

#[test]
fn a_telegram_bot_is_added_once_and_listed_without_its_secrets() {
    let frontdesk = Frontdesk::new();
    let empty = ok(&frontdesk, &["channels", "list", "--json"], &[]).0;
    assert_eq!(json(&empty), Value::Array(Vec::new()));

    let mut add = add_telegram("support bot", SECRET_TOKEN);
    add.push("--json");
    let (stdout, stderr) = ok(&frontdesk, &add, &[]);
    let added = json(&stdout);
    assert_eq!(added["id"], 1, "{added}");
    assert_eq!(
        added["webhook_url"], "http://127.0.0.1:8080/webhooks/telegram/1",
        "{added}"
    );
    assert_eq!(added["kind"], "telegram", "{added}");
    assert_eq!(added["name"], "support bot", "{added}");
    // Providers cannot reach loopback: the owner is told where to set the real address.
    assert!(stderr.contains("server.public_url"), "{stderr}");
    assert_hidden(&stdout, &[BOT_TOKEN, SECRET_TOKEN]);
    assert_hidden(&stderr, &[BOT_TOKEN, SECRET_TOKEN]);

    let listed = ok(&frontdesk, &["channels", "list", "--json"], &[]).0;
    assert_hidden(&listed, &[BOT_TOKEN, SECRET_TOKEN]);
    let listed = json(&listed);
    let rows = listed.as_array().expect("a JSON array");
    assert_eq!(rows.len(), 1, "{listed}");
    assert_eq!(rows[0]["id"], 1);
    assert_eq!(rows[0]["kind"], "telegram");
    assert_eq!(rows[0]["name"], "support bot");
    assert_eq!(rows[0]["webhook_url"], added["webhook_url"]);
    assert!(rows[0]["created_at"].as_i64().is_some(), "{listed}");

    let table = ok(&frontdesk, &["channels", "list"], &[]).0;
    assert!(
        table.contains("support bot")
            && table.contains("telegram")
            && table.contains("http://127.0.0.1:8080/webhooks/telegram/1"),
        "{table}"
    );
    assert_hidden(&table, &[BOT_TOKEN, SECRET_TOKEN]);

    // The name is taken; the second channel is refused and nothing changes.
    let twice = fails(&frontdesk, &add_telegram("support bot", "other_token"), &[]);
    assert!(
        twice.contains("there is already a channel named \"support bot\""),
        "{twice}"
    );
    assert_eq!(stored(&frontdesk).len(), 1);

    let (config_name, config) = &stored(&frontdesk)[0];
    assert_eq!(config_name, "support bot");
    assert_eq!(
        config,
        &ChannelConfig::Telegram {
            bot_token: BOT_TOKEN.to_string(),
            secret_token: SECRET_TOKEN.to_string(),
            api_base: frontdesk_channels::DEFAULT_TELEGRAM_API_BASE.to_string(),
        }
    );
}

#[test]
fn a_setting_telegram_would_refuse_is_named_and_nothing_is_stored() {
    let frontdesk = Frontdesk::new();
    let spaced = fails(&frontdesk, &add_telegram("bot", "has space"), &[]);
    assert!(spaced.contains("--secret-token"), "{spaced}");
    let bad_base = [
        add_telegram("bot", SECRET_TOKEN),
        vec!["--api-base", "ftp://127.0.0.1"],
    ]
    .concat();
    let refused = fails(&frontdesk, &bad_base, &[]);
    assert!(refused.contains("--api-base"), "{refused}");
    let no_name = fails(&frontdesk, &add_telegram("  ", SECRET_TOKEN), &[]);
    assert!(no_name.contains("--name"), "{no_name}");
    let escape = fails(&frontdesk, &add_telegram("bot\u{1b}[2J", SECRET_TOKEN), &[]);
    assert!(escape.contains("--name"), "{escape}");
    let missing = fails(
        &frontdesk,
        &[
            "channels",
            "add",
            "telegram",
            "--name",
            "bot",
            "--bot-token",
            BOT_TOKEN,
        ],
        &[],
    );
    assert!(missing.contains("--secret-token"), "{missing}");
    assert!(stored(&frontdesk).is_empty());
}

#[test]
fn secrets_from_the_environment_and_from_files_are_stored_and_never_shown() {
    let frontdesk = Frontdesk::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret-token");
    // An editor or `echo` leaves one line ending: it is not part of the secret.
    std::fs::write(&file, format!("{SECRET_TOKEN}\n")).unwrap();
    let add = [
        "channels",
        "add",
        "telegram",
        "--name",
        "from env",
        "--secret-token-file",
        arg(&file),
    ];
    let env = [("FRONTDESK_CHANNEL_BOT_TOKEN", BOT_TOKEN)];
    let (stdout, stderr) = ok(&frontdesk, &add, &env);
    assert!(
        stdout.starts_with("Channel 1 \"from env\" (telegram) added.\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Webhook URL: http://127.0.0.1:8080/webhooks/telegram/1\n"),
        "{stdout}"
    );
    assert!(stdout.contains("setWebhook"), "{stdout}");
    assert_hidden(&stdout, &[BOT_TOKEN, SECRET_TOKEN]);
    assert_hidden(&stderr, &[BOT_TOKEN, SECRET_TOKEN]);
    match &stored(&frontdesk)[0].1 {
        ChannelConfig::Telegram {
            bot_token,
            secret_token,
            ..
        } => {
            assert_eq!(bot_token, BOT_TOKEN);
            assert_eq!(secret_token, SECRET_TOKEN);
        }
        other => panic!("stored as {other:?}"),
    }

    // A value the file holds that Telegram would refuse is traced to the file, unshown.
    let bad = dir.path().join("bad-token");
    std::fs::write(&bad, "not allowed!\n").unwrap();
    let refused = fails(
        &frontdesk,
        &[
            "channels",
            "add",
            "telegram",
            "--name",
            "bad",
            "--secret-token-file",
            arg(&bad),
        ],
        &env,
    );
    assert!(
        refused.contains("--secret-token") && refused.contains(arg(&bad)),
        "{refused}"
    );
    assert_hidden(&refused, &["not allowed!", BOT_TOKEN]);

    // A value and a file for the same secret are one too many.
    let both = [
        add_telegram("both", SECRET_TOKEN),
        vec!["--bot-token-file", arg(&file)],
    ]
    .concat();
    let conflict = fails(&frontdesk, &both, &[]);
    assert!(conflict.contains("--bot-token-file"), "{conflict}");
    let missing = [
        "channels",
        "add",
        "telegram",
        "--name",
        "gone",
        "--bot-token-file",
        "/nonexistent/bot-token",
        "--secret-token",
        SECRET_TOKEN,
    ];
    let unreadable = fails(&frontdesk, &missing, &[]);
    assert!(unreadable.contains("--bot-token-file"), "{unreadable}");

    // Help names the variable but never shows the value it holds.
    let help = ok(&frontdesk, &["channels", "add", "telegram", "--help"], &env).0;
    assert!(help.contains("FRONTDESK_CHANNEL_BOT_TOKEN"), "{help}");
    assert_hidden(&help, &[BOT_TOKEN]);

    let listed = ok(&frontdesk, &["channels", "list"], &[]).0;
    assert_hidden(&listed, &[BOT_TOKEN, SECRET_TOKEN]);
    assert_eq!(stored(&frontdesk).len(), 1);
}

#[test]
fn meta_and_email_channels_get_their_own_webhooks_under_the_public_url() {
    let frontdesk = Frontdesk::new();
    std::fs::write(
        frontdesk.data_dir().join("frontdesk.toml"),
        "[server]\npublic_url = \"https://help.shop.example/\"\n",
    )
    .unwrap();
    let secrets = ["app-secret-value", "verify-value", "access-value"];
    let whatsapp = [
        "channels",
        "add",
        "whatsapp",
        "--name",
        "WhatsApp",
        "--app-secret",
        secrets[0],
        "--verify-token",
        secrets[1],
        "--access-token",
        secrets[2],
        "--phone-number-id",
        "1555000000001",
        "--api-base",
        "http://127.0.0.1:9/v21.0/",
    ];
    let (stdout, stderr) = ok(&frontdesk, &whatsapp, &[]);
    assert!(
        stdout.contains("Webhook URL: https://help.shop.example/webhooks/whatsapp/1\n"),
        "{stdout}"
    );
    assert!(stdout.contains("--verify-token"), "{stdout}");
    assert!(!stderr.contains("public_url"), "{stderr}");
    assert_hidden(&stdout, &secrets);
    assert_hidden(&stderr, &secrets);
    assert_eq!(
        stored(&frontdesk)[0].1,
        ChannelConfig::Whatsapp {
            app_secret: secrets[0].to_string(),
            verify_token: secrets[1].to_string(),
            access_token: secrets[2].to_string(),
            phone_number_id: "1555000000001".to_string(),
            api_base: "http://127.0.0.1:9/v21.0".to_string(),
        }
    );

    let env = [
        ("FRONTDESK_CHANNEL_APP_SECRET", secrets[0]),
        ("FRONTDESK_CHANNEL_VERIFY_TOKEN", secrets[1]),
        ("FRONTDESK_CHANNEL_PAGE_ACCESS_TOKEN", secrets[2]),
    ];
    for kind in ["messenger", "instagram"] {
        let add = ["channels", "add", kind, "--name", kind, "--json"];
        let (stdout, stderr) = ok(&frontdesk, &add, &env);
        assert_hidden(&stdout, &secrets);
        assert_hidden(&stderr, &secrets);
        let url = json(&stdout)["webhook_url"].clone();
        assert!(
            url.as_str().is_some_and(
                |url| url.starts_with(&format!("https://help.shop.example/webhooks/{kind}/"))
            ),
            "{url}"
        );
    }

    let email = [
        "channels",
        "add",
        "email",
        "--name",
        "Help inbox",
        "--address",
        "help@shop.example",
        "--webhook-secret",
        "hook-secret-value",
        "--imap-url",
        "imaps://help:mail-pass@127.0.0.1:993/INBOX",
        "--json",
    ];
    let added = json(&ok(&frontdesk, &email, &[]).0);
    assert_eq!(
        added["webhook_url"],
        format!("https://help.shop.example/webhooks/email/{}", added["id"])
    );
    let not_an_address = [
        "channels",
        "add",
        "email",
        "--name",
        "Broken",
        "--address",
        "help.shop.example",
        "--webhook-secret",
        "s",
    ];
    let refused = fails(&frontdesk, &not_an_address, &[]);
    assert!(refused.contains("--address"), "{refused}");
    let no_password = [
        "channels",
        "add",
        "email",
        "--name",
        "Broken",
        "--address",
        "help@shop.example",
        "--webhook-secret",
        "s",
        "--imap-url",
        "imaps://help@mail.shop.example/INBOX",
    ];
    let refused = fails(&frontdesk, &no_password, &[]);
    assert!(
        refused.contains("--imap-url") && refused.contains("no password"),
        "{refused}"
    );

    // The mailbox URL, password and all, from a file; plain IMAP to another host warned of.
    let dir = tempfile::tempdir().unwrap();
    let url_file = dir.path().join("imap-url");
    std::fs::write(&url_file, "imap://help:file-pass@mail.shop.example/INBOX\n").unwrap();
    let from_file = [
        "channels",
        "add",
        "email",
        "--name",
        "Mailbox from a file",
        "--address",
        "help@shop.example",
        "--webhook-secret",
        "s",
        "--imap-url-file",
        url_file.to_str().unwrap(),
    ];
    let (stdout, stderr) = ok(&frontdesk, &from_file, &[]);
    assert!(
        stderr.contains("warning: --imap-url") && stderr.contains("imaps://"),
        "{stderr}"
    );
    assert_hidden(&stdout, &["file-pass"]);
    assert_hidden(&stderr, &["file-pass"]);

    // Corrected in place: the same channel, its settings replaced.
    let corrected = [
        "channels",
        "add",
        "email",
        "--name",
        "Mailbox from a file",
        "--address",
        "help@shop.example",
        "--webhook-secret",
        "s",
        "--imap-url",
        "imaps://help:file-pass@mail.shop.example/INBOX",
        "--replace",
    ];
    let (stdout, stderr) = ok(&frontdesk, &corrected, &[]);
    assert!(stdout.contains("(email) updated."), "{stdout}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let unknown = [&corrected[..4], &["Nobody's"], &corrected[5..]].concat();
    let refused = fails(&frontdesk, &unknown, &[]);
    assert!(refused.contains("no email channel named"), "{refused}");

    let listed = ok(&frontdesk, &["channels", "list", "--json"], &[]).0;
    assert_hidden(&listed, &secrets);
    assert_hidden(&listed, &["hook-secret-value", "mail-pass", "file-pass"]);
    let listed = json(&listed);
    let kinds: Vec<&str> = listed
        .as_array()
        .expect("a JSON array")
        .iter()
        .filter_map(|channel| channel["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["whatsapp", "messenger", "instagram", "email", "email"]
    );
    let table = ok(&frontdesk, &["channels", "list"], &[]).0;
    assert_hidden(&table, &secrets);
    assert_hidden(&table, &["hook-secret-value", "mail-pass", "file-pass"]);
    assert!(table.contains("Help inbox"), "{table}");
}
