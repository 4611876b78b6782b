//! `frontdesk channels add|list`: the messaging channels (WhatsApp, Messenger, Instagram,
//! Telegram, email) that customers write in through, and the webhook URL each one's
//! provider must deliver to.
//!
//! A channel's secrets are written to the store and never printed again: not by `add`,
//! not by `list`, not in an error.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use clap::{Args, Subcommand};
use frontdesk_channels::{ChannelConfig, DEFAULT_META_API_BASE, DEFAULT_TELEGRAM_API_BASE};
use frontdesk_core::Channel;
use frontdesk_store::StoredChannel;
use serde::Serialize;

use crate::commands::serve::Listening;
use crate::commands::terminal::{is_hidden, printable};
use crate::commands::time::format_time;
use crate::workspace::Workspace;

#[derive(Debug, Subcommand)]
pub enum ChannelsCommand {
    /// Connect a channel and print the webhook URL its provider must deliver to. Each
    /// secret may come from its flag, its environment variable or a file (`--…-file`);
    /// prefer the last two, which stay out of the shell history and the process list.
    // Boxed: the kinds' flags make it far larger than `List`.
    #[command(subcommand)]
    Add(Box<AddCommand>),
    /// List the connected channels with their webhook URLs, never their secrets.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AddCommand {
    /// WhatsApp Business through Meta's Cloud API.
    Whatsapp(WhatsappArgs),
    /// A Facebook page's Messenger inbox.
    Messenger(MetaArgs),
    /// An Instagram professional account's direct messages.
    Instagram(MetaArgs),
    /// A Telegram bot.
    Telegram(TelegramArgs),
    /// A mailbox whose provider posts incoming mail to Frontdesk.
    Email(EmailArgs),
}

/// What every channel is added with.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// A name for the channel, unique among the channels, shown to the team.
    #[arg(long)]
    name: String,
    /// Print the new channel's id and webhook URL as JSON.
    #[arg(long)]
    json: bool,
    /// Replace the settings of the channel of this kind and name instead of adding one
    /// (a rotated secret, a corrected mailbox); its conversations stay. Running servers
    /// take the new settings within a minute.
    #[arg(long)]
    replace: bool,
}

/// The two secrets every Meta channel has.
#[derive(Debug, Args)]
pub struct MetaSecrets {
    /// The Meta app's secret, which signs every delivery.
    #[arg(
        long,
        env = "FRONTDESK_CHANNEL_APP_SECRET",
        hide_env_values = true,
        value_name = "SECRET",
        required_unless_present = "app_secret_file"
    )]
    app_secret: Option<String>,
    /// Read the app secret from this file (not with --app-secret or its variable).
    #[arg(long, value_name = "PATH", conflicts_with = "app_secret")]
    app_secret_file: Option<PathBuf>,
    /// A token of your choosing that Meta presents when it verifies the webhook.
    #[arg(
        long,
        env = "FRONTDESK_CHANNEL_VERIFY_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        required_unless_present = "verify_token_file"
    )]
    verify_token: Option<String>,
    /// Read the verify token from this file (not with --verify-token or its variable).
    #[arg(long, value_name = "PATH", conflicts_with = "verify_token")]
    verify_token_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct WhatsappArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    meta: MetaSecrets,
    /// The access token replies are sent with (a system user's permanent token).
    #[arg(
        long,
        env = "FRONTDESK_CHANNEL_ACCESS_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        required_unless_present = "access_token_file"
    )]
    access_token: Option<String>,
    /// Read the access token from this file (not with --access-token or its variable).
    #[arg(long, value_name = "PATH", conflicts_with = "access_token")]
    access_token_file: Option<PathBuf>,
    /// The business phone number's id in the Cloud API (not the phone number itself).
    #[arg(long, value_name = "ID")]
    phone_number_id: String,
    /// Meta's Graph API address.
    #[arg(long, value_name = "URL", default_value = DEFAULT_META_API_BASE)]
    api_base: String,
}

#[derive(Debug, Args)]
pub struct MetaArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    meta: MetaSecrets,
    /// The page access token replies are sent with.
    #[arg(
        long,
        env = "FRONTDESK_CHANNEL_PAGE_ACCESS_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        required_unless_present = "page_access_token_file"
    )]
    page_access_token: Option<String>,
    /// Read the page access token from this file (not with --page-access-token or its
    /// variable).
    #[arg(long, value_name = "PATH", conflicts_with = "page_access_token")]
    page_access_token_file: Option<PathBuf>,
    /// Meta's Graph API address.
    #[arg(long, value_name = "URL", default_value = DEFAULT_META_API_BASE)]
    api_base: String,
}

#[derive(Debug, Args)]
pub struct TelegramArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The bot's token from @BotFather.
    #[arg(
        long,
        env = "FRONTDESK_CHANNEL_BOT_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        required_unless_present = "bot_token_file"
    )]
    bot_token: Option<String>,
    /// Read the bot token from this file (not with --bot-token or its variable).
    #[arg(long, value_name = "PATH", conflicts_with = "bot_token")]
    bot_token_file: Option<PathBuf>,
    /// A secret of your choosing (1-256 of A-Z, a-z, 0-9, _ and -) that Telegram sends
    /// with every delivery; give the bot the same one with setWebhook.
    #[arg(
        long,
        env = "FRONTDESK_CHANNEL_SECRET_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        required_unless_present = "secret_token_file"
    )]
    secret_token: Option<String>,
    /// Read the secret token from this file (not with --secret-token or its variable).
    #[arg(long, value_name = "PATH", conflicts_with = "secret_token")]
    secret_token_file: Option<PathBuf>,
    /// Telegram's Bot API address.
    #[arg(long, value_name = "URL", default_value = DEFAULT_TELEGRAM_API_BASE)]
    api_base: String,
}

#[derive(Debug, Args)]
pub struct EmailArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The address customers write to.
    #[arg(long)]
    address: String,
    /// A secret the mail provider sends with every delivery to the webhook.
    #[arg(
        long,
        env = "FRONTDESK_CHANNEL_WEBHOOK_SECRET",
        hide_env_values = true,
        value_name = "SECRET",
        required_unless_present = "webhook_secret_file"
    )]
    webhook_secret: Option<String>,
    /// Read the webhook secret from this file (not with --webhook-secret or its variable).
    #[arg(long, value_name = "PATH", conflicts_with = "webhook_secret")]
    webhook_secret_file: Option<PathBuf>,
    /// The mailbox to read, such as imaps://user:password@mail.example:993/INBOX.
    #[arg(
        long,
        env = "FRONTDESK_CHANNEL_IMAP_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    imap_url: Option<String>,
    /// Read the IMAP URL, password and all, from this file (not with --imap-url).
    #[arg(long, value_name = "PATH", conflicts_with = "imap_url")]
    imap_url_file: Option<PathBuf>,
    /// The server replies are sent through, such as smtps://user:password@mail.example:465.
    #[arg(
        long,
        env = "FRONTDESK_CHANNEL_SMTP_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    smtp_url: Option<String>,
    /// Read the SMTP URL, password and all, from this file (not with --smtp-url).
    #[arg(long, value_name = "PATH", conflicts_with = "smtp_url")]
    smtp_url_file: Option<PathBuf>,
}

pub async fn run(workspace: &Workspace, command: ChannelsCommand) -> anyhow::Result<ExitCode> {
    match command {
        ChannelsCommand::Add(command) => add(workspace, *command).await,
        ChannelsCommand::List { json } => list(workspace, json).await,
    }
}

/// The secrets read from files, by flag, so that a refused value can be traced to the
/// file it came from: a stray space or line ending in a file is invisible otherwise.
#[derive(Default)]
struct SecretFiles(Vec<(&'static str, PathBuf)>);

impl SecretFiles {
    /// The secret for `--flag`: its value (from the command line or the environment), or
    /// the contents of its `--flag-file`. Clap has already made sure exactly one is given.
    fn take(
        &mut self,
        flag: &'static str,
        value: Option<String>,
        file: Option<PathBuf>,
    ) -> anyhow::Result<String> {
        match (value, file) {
            (Some(value), None) => Ok(value),
            (None, Some(path)) => {
                let secret = read_secret_file(flag, &path)?;
                self.0.push((flag, path));
                Ok(secret)
            }
            (Some(_), Some(_)) => bail!("give --{flag} or --{flag}-file, not both"),
            (None, None) => bail!("--{flag} or --{flag}-file is required"),
        }
    }

    /// Like [`SecretFiles::take`], for a secret that may be left out.
    fn take_optional(
        &mut self,
        flag: &'static str,
        value: Option<String>,
        file: Option<PathBuf>,
    ) -> anyhow::Result<Option<String>> {
        match (value, file) {
            (None, None) => Ok(None),
            (value, file) => self.take(flag, value, file).map(Some),
        }
    }

    /// `problem` (from [`ChannelConfig::check`], which names a flag) with the file that
    /// flag's value was read from, when it was.
    fn explain(&self, problem: String) -> String {
        for (flag, path) in &self.0 {
            if problem.starts_with(&format!("--{flag} ")) {
                return format!("{problem} (read from {})", path.display());
            }
        }
        problem
    }
}

/// A secret file's contents without the one line ending an editor or `echo` leaves.
fn read_secret_file(flag: &str, path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --{flag}-file {}", path.display()))?;
    let text = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    Ok(text.to_string())
}

/// The provider's address without a trailing slash, since paths are appended to it.
fn api_base(url: String) -> String {
    url.trim_end_matches('/').to_string()
}

/// Turns the command line into the channel's name, settings and `--json`, reading any
/// secret files on the way.
fn config_from(command: AddCommand) -> anyhow::Result<(CommonArgs, ChannelConfig, SecretFiles)> {
    let mut files = SecretFiles::default();
    let (common, config) = match command {
        AddCommand::Whatsapp(args) => {
            let config = ChannelConfig::Whatsapp {
                app_secret: files.take(
                    "app-secret",
                    args.meta.app_secret,
                    args.meta.app_secret_file,
                )?,
                verify_token: files.take(
                    "verify-token",
                    args.meta.verify_token,
                    args.meta.verify_token_file,
                )?,
                access_token: files.take(
                    "access-token",
                    args.access_token,
                    args.access_token_file,
                )?,
                phone_number_id: args.phone_number_id,
                api_base: api_base(args.api_base),
            };
            (args.common, config)
        }
        AddCommand::Messenger(args) => {
            let (common, [app_secret, verify_token, page_access_token], api_base) =
                meta_settings(&mut files, args)?;
            let config = ChannelConfig::Messenger {
                app_secret,
                verify_token,
                page_access_token,
                api_base,
            };
            (common, config)
        }
        AddCommand::Instagram(args) => {
            let (common, [app_secret, verify_token, page_access_token], api_base) =
                meta_settings(&mut files, args)?;
            let config = ChannelConfig::Instagram {
                app_secret,
                verify_token,
                page_access_token,
                api_base,
            };
            (common, config)
        }
        AddCommand::Telegram(args) => {
            let config = ChannelConfig::Telegram {
                bot_token: files.take("bot-token", args.bot_token, args.bot_token_file)?,
                secret_token: files.take(
                    "secret-token",
                    args.secret_token,
                    args.secret_token_file,
                )?,
                api_base: api_base(args.api_base),
            };
            (args.common, config)
        }
        AddCommand::Email(args) => {
            let config = ChannelConfig::Email {
                address: args.address.trim().to_string(),
                webhook_secret: files.take(
                    "webhook-secret",
                    args.webhook_secret,
                    args.webhook_secret_file,
                )?,
                imap_url: files.take_optional("imap-url", args.imap_url, args.imap_url_file)?,
                smtp_url: files.take_optional("smtp-url", args.smtp_url, args.smtp_url_file)?,
            };
            if let Some(host) = config.plaintext_remote_mailbox() {
                eprintln!(
                    "warning: --imap-url logs in to {host} over imap://, so its password \
                     crosses the network unencrypted; use imaps:// unless the server is on \
                     this host"
                );
            }
            (args.common, config)
        }
    };
    Ok((common, config, files))
}

/// A Messenger or Instagram channel's name and flags, its three secrets (app secret,
/// verify token, page access token) and its API address.
fn meta_settings(
    files: &mut SecretFiles,
    args: MetaArgs,
) -> anyhow::Result<(CommonArgs, [String; 3], String)> {
    let secrets = [
        files.take(
            "app-secret",
            args.meta.app_secret,
            args.meta.app_secret_file,
        )?,
        files.take(
            "verify-token",
            args.meta.verify_token,
            args.meta.verify_token_file,
        )?,
        files.take(
            "page-access-token",
            args.page_access_token,
            args.page_access_token_file,
        )?,
    ];
    Ok((args.common, secrets, api_base(args.api_base)))
}

/// The name as stored: trimmed, and refused when empty or when it holds characters
/// that would act on the terminal of whoever lists the channels.
fn channel_name(name: &str) -> anyhow::Result<String> {
    let name = name.trim();
    if name.is_empty() {
        bail!("--name is empty");
    }
    if name.chars().any(is_hidden) {
        bail!(
            "--name \"{}\" holds control or text-direction characters",
            printable(name)
        );
    }
    Ok(name.to_string())
}

async fn add(workspace: &Workspace, command: AddCommand) -> anyhow::Result<ExitCode> {
    let (common, config, files) = config_from(command)?;
    let name = channel_name(&common.name)?;
    let kind = config.kind();
    // Checked before the store opens, so that a channel that could never verify or send
    // leaves nothing behind.
    config
        .check()
        .map_err(|problem| anyhow!(files.explain(problem)))
        .with_context(|| format!("the {kind} channel {name:?} was not added"))?;
    let config_json = serde_json::to_string(&config)
        .with_context(|| format!("cannot write the settings of the {kind} channel {name:?}"))?;

    let store = workspace.open_store().await?;
    let added = match common.replace {
        true => {
            store
                .replace_channel_config(kind, &name, &config_json)
                .await
        }
        false => store.add_channel(kind, &name, &config_json).await,
    };
    store.close().await;
    let doing = if common.replace {
        "replace the settings of"
    } else {
        "add"
    };
    let channel = added.with_context(|| format!("cannot {doing} the {kind} channel {name:?}"))?;

    let base = WebhookBase::of(workspace);
    let webhook_url = base.url(&channel);
    if base.is_local {
        eprintln!(
            "note: server.public_url is not set in the settings file, so this URL is the \
             local listen address; {} must reach the server at its public https address: \
             set server.public_url and see `frontdesk channels list`",
            provider(kind)
        );
    }
    if common.json {
        let added = Added {
            id: channel.id,
            kind: kind.as_str(),
            name: &channel.name,
            webhook_url: &webhook_url,
        };
        say!("{}", serde_json::to_string_pretty(&added)?);
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "Channel {} \"{}\" ({kind}) {}.",
        channel.id,
        printable(&channel.name),
        if common.replace { "updated" } else { "added" }
    );
    say!("Webhook URL: {webhook_url}");
    match kind {
        Channel::Telegram => say!(
            "Point the bot at it with Telegram's setWebhook: this URL as `url` and the same \
             --secret-token as `secret_token`."
        ),
        Channel::Whatsapp | Channel::Messenger | Channel::Instagram => say!(
            "Enter it as the callback URL in the Meta app's webhook settings, with the same \
             --verify-token: Meta verifies the webhook with it before it delivers messages."
        ),
        Channel::Email => say!(
            "Have the mail-forwarding service post each incoming message, raw, to it with \
             the same --webhook-secret in the X-Frontdesk-Token header, or give --imap-url: \
             `frontdesk serve` then reads the mailbox itself (mail from the last 24 hours \
             first, then each new message). Replies go out through --smtp-url; without it \
             they are marked not delivered."
        ),
        Channel::Widget => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// Who must reach the webhook, for messages about it.
fn provider(kind: Channel) -> &'static str {
    match kind {
        Channel::Telegram => "Telegram",
        Channel::Whatsapp | Channel::Messenger | Channel::Instagram => "Meta",
        Channel::Email | Channel::Widget => "the provider",
    }
}

/// What `add --json` prints.
#[derive(Serialize)]
struct Added<'a> {
    id: i64,
    kind: &'a str,
    name: &'a str,
    webhook_url: &'a str,
}

/// One channel as `list --json` prints it: nothing from its settings, so no secret.
#[derive(Serialize)]
struct Listed<'a> {
    id: i64,
    kind: &'a str,
    name: &'a str,
    webhook_url: String,
    created_at: i64,
}

async fn list(workspace: &Workspace, json: bool) -> anyhow::Result<ExitCode> {
    let store = workspace.open_store().await?;
    let channels = store.channels().await;
    store.close().await;
    let channels = channels.context("cannot list the channels")?;
    let base = WebhookBase::of(workspace);
    if json {
        let listed: Vec<Listed> = channels
            .iter()
            .map(|channel| Listed {
                id: channel.id,
                kind: channel.kind.as_str(),
                name: &channel.name,
                webhook_url: base.url(channel),
                created_at: channel.created_at,
            })
            .collect();
        say!("{}", serde_json::to_string_pretty(&listed)?);
        return Ok(ExitCode::SUCCESS);
    }
    if channels.is_empty() {
        say!("no channels yet: add one with `frontdesk channels add KIND --name NAME …`");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<(String, String)> = channels
        .iter()
        .map(|channel| (printable(&channel.name), base.url(channel)))
        .collect();
    let width = |column: &dyn Fn(&(String, String)) -> &String, title: &str| {
        rows.iter()
            .map(|row| column(row).chars().count())
            .max()
            .unwrap_or(0)
            .max(title.len())
    };
    let name_width = width(&|row| &row.0, "name");
    let url_width = width(&|row| &row.1, "webhook URL");
    say!(
        "{:>4}  {:<9}  {:<name_width$}  {:<url_width$}  added",
        "id",
        "kind",
        "name",
        "webhook URL"
    );
    for (channel, (name, url)) in channels.iter().zip(&rows) {
        say!(
            "{:>4}  {:<9}  {name:<name_width$}  {url:<url_width$}  {}",
            channel.id,
            channel.kind.as_str(),
            format_time(channel.created_at)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Where providers deliver to: the public URL (`FRONTDESK_PUBLIC_URL`, else the settings
/// file), else the address
/// `frontdesk serve` listens on, which only this machine can reach.
struct WebhookBase {
    url: String,
    is_local: bool,
}

impl WebhookBase {
    fn of(workspace: &Workspace) -> WebhookBase {
        let server = &workspace.config().server;
        // The same order `serve` reads it in: the environment, then the settings file.
        let from_env = std::env::var("FRONTDESK_PUBLIC_URL").ok();
        let public = from_env.or_else(|| server.public_url.clone());
        if let Some(public) = public.as_deref().map(str::trim) {
            if !public.is_empty() {
                return WebhookBase {
                    url: public.trim_end_matches('/').to_string(),
                    is_local: false,
                };
            }
        }
        // Shown as serve shows its own address, so that a listener on every interface
        // reads as loopback rather than 0.0.0.0.
        let url = match server.listen.parse::<SocketAddr>() {
            Ok(address) => Listening {
                address,
                public_url: None,
            }
            .base_url(),
            Err(_) => format!("http://{}", server.listen),
        };
        WebhookBase {
            url,
            is_local: true,
        }
    }

    /// The channel's webhook: `/webhooks/{kind}/{id}`, the route the server serves.
    fn url(&self, channel: &StoredChannel) -> String {
        format!(
            "{}/webhooks/{}/{}",
            self.url,
            channel.kind.as_str(),
            channel.id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_must_be_printable() {
        assert_eq!(channel_name("  support bot ").unwrap(), "support bot");
        assert!(channel_name("   ").is_err());
        assert!(channel_name("bot\u{1b}[2J").is_err());
        assert!(channel_name("abc\u{202e}fed").is_err());
    }

    #[test]
    fn a_secret_file_loses_one_line_ending_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        for (written, read) in [
            ("abc\n", "abc"),
            ("abc\r\n", "abc"),
            ("abc\n\n", "abc\n"),
            ("abc", "abc"),
        ] {
            std::fs::write(&path, written).unwrap();
            assert_eq!(read_secret_file("bot-token", &path).unwrap(), read);
        }
        let missing = read_secret_file("bot-token", &dir.path().join("none")).unwrap_err();
        assert!(
            format!("{missing:#}").contains("--bot-token-file"),
            "{missing:#}"
        );
    }

    #[test]
    fn a_refusal_names_the_file_the_secret_came_from() {
        let files = SecretFiles(vec![("secret-token", PathBuf::from("/run/secret"))]);
        let problem = files.explain("--secret-token must be 1-256 of A-Z".to_string());
        assert!(problem.ends_with("(read from /run/secret)"), "{problem}");
        let other = files.explain("--bot-token is empty".to_string());
        assert_eq!(other, "--bot-token is empty");
    }
}
