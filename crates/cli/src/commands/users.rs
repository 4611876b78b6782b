//! `frontdesk users add|list` and `frontdesk tokens create`: the team who work the
//! inbox, and the API tokens they sign requests with.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use frontdesk_core::{Channel, Role};
use frontdesk_server::auth::{api_token_hash, hash_password, new_api_token};

use crate::commands::terminal::{is_hidden, printable};
use crate::commands::time::format_time;
use crate::workspace::Workspace;

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a member of the team. The password is asked for on the terminal, or read
    /// from the first line of standard input with --password-stdin.
    Add(AddArgs),
    /// List the team.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Limit an agent to some channels (widget, email, whatsapp, messenger, instagram,
    /// telegram): the inbox, the API and the event stream then show them only those
    /// channels' conversations. Without --channel the limit is lifted.
    Channels {
        /// The agent's email.
        email: String,
        /// A channel they work; repeat for several.
        #[arg(long = "channel", value_name = "CHANNEL")]
        channels: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Their email address: what they sign in with.
    email: String,
    /// What they may do.
    #[arg(long, value_enum)]
    role: RoleArg,
    /// Read the password from the first line of standard input instead of asking.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Owner,
    Agent,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Owner => Role::Owner,
            RoleArg::Agent => Role::Agent,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Make an API token for a member of the team and print it, once. Send it as
    /// `Authorization: Bearer TOKEN`.
    Create {
        /// The member's email.
        email: String,
        /// A note of what the token is for, such as the machine it lives on.
        #[arg(long)]
        label: Option<String>,
    },
    /// A member's tokens (inbox sign-ins included) with their ids, never the tokens.
    List {
        /// The member's email.
        email: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token for good, by the id `tokens list` shows: for a lost laptop, a
    /// person leaving, or an inbox session to end.
    Revoke {
        /// The token's id.
        id: i64,
    },
}

pub async fn run_users(workspace: &Workspace, command: UsersCommand) -> anyhow::Result<ExitCode> {
    match command {
        UsersCommand::Add(args) => add(workspace, args).await,
        UsersCommand::List { json } => list(workspace, json).await,
        UsersCommand::Channels { email, channels } => {
            limit_channels(workspace, &email, &channels).await
        }
    }
}

pub async fn run_tokens(workspace: &Workspace, command: TokensCommand) -> anyhow::Result<ExitCode> {
    match command {
        TokensCommand::Create { email, label } => create_token(workspace, &email, label).await,
        TokensCommand::List { email, json } => list_tokens(workspace, &email, json).await,
        TokensCommand::Revoke { id } => revoke_token(workspace, id).await,
    }
}

async fn list_tokens(workspace: &Workspace, email: &str, json: bool) -> anyhow::Result<ExitCode> {
    let store = workspace.open_store().await?;
    let found = async {
        let user = store.user_by_email(email).await?;
        let tokens = store.api_tokens(email).await?;
        anyhow::Ok((user, tokens))
    }
    .await;
    store.close().await;
    let (user, tokens) = found?;
    if user.is_none() {
        bail!(
            "there is no user with the email {}",
            printable(email.trim())
        );
    }
    if json {
        say!("{}", serde_json::to_string_pretty(&tokens)?);
        return Ok(ExitCode::SUCCESS);
    }
    say!("{:>4}  {:<20}  {:<28}  label", "id", "created", "state");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as i64);
    for token in &tokens {
        let state = match (token.revoked_at, token.expires_at) {
            (Some(revoked), _) => format!("revoked {}", format_time(revoked)),
            (None, Some(expires)) if expires <= now => format!("expired {}", format_time(expires)),
            (None, Some(expires)) => format!("expires {}", format_time(expires)),
            (None, None) => "active".to_string(),
        };
        let label = printable(token.label.as_deref().unwrap_or(""));
        say!(
            "{:>4}  {:<20}  {state:<28}  {label}",
            token.id,
            format_time(token.created_at)
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn revoke_token(workspace: &Workspace, id: i64) -> anyhow::Result<ExitCode> {
    let store = workspace.open_store().await?;
    let revoked = store.revoke_api_token_by_id(id).await;
    store.close().await;
    if !revoked? {
        bail!("there is no token {id} that is still active: see `frontdesk tokens list EMAIL`");
    }
    say!("token {id} revoked");
    Ok(ExitCode::SUCCESS)
}

async fn create_token(
    workspace: &Workspace,
    email: &str,
    label: Option<String>,
) -> anyhow::Result<ExitCode> {
    let store = workspace.open_store().await?;
    let token = new_api_token();
    let created = store
        .add_api_token(email, &api_token_hash(&token), label.as_deref(), None)
        .await;
    store.close().await;
    created.with_context(|| format!("cannot create a token for {email}"))?;
    say!("{token}");
    Ok(ExitCode::SUCCESS)
}

async fn add(workspace: &Workspace, args: AddArgs) -> anyhow::Result<ExitCode> {
    if !looks_like_email(&args.email) {
        bail!(
            "{:?} is not an email address: it needs one @ with text on both sides, and no \
             spaces or control characters",
            args.email
        );
    }
    let password = if args.password_stdin {
        password_from_stdin()?
    } else {
        password_from_terminal()?
    };
    // Hashing takes a moment on purpose; done before the database opens so a refused
    // password leaves nothing behind.
    let hash = hash_password(&password)?;
    let store = workspace.open_store().await?;
    let added = store.add_user(&args.email, args.role.into(), &hash).await;
    store.close().await;
    let user = added.with_context(|| format!("cannot add {}", args.email))?;
    say!(
        "added {} ({}), user {}",
        printable(&user.email),
        user.role,
        user.id
    );
    Ok(ExitCode::SUCCESS)
}

async fn limit_channels(
    workspace: &Workspace,
    email: &str,
    names: &[String],
) -> anyhow::Result<ExitCode> {
    // Every name is checked before anything is stored.
    let channels = names
        .iter()
        .map(|name| {
            name.trim().parse::<Channel>().map_err(|_| {
                anyhow::anyhow!(
                    "--channel `{}` is not a channel: use widget, email, whatsapp, messenger, \
                     instagram or telegram",
                    printable(name)
                )
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let store = workspace.open_store().await?;
    let limited = store.set_user_channels(email, &channels).await;
    store.close().await;
    let user = limited?;
    if user.role == Role::Owner {
        say!(
            "{} is an owner: owners see every channel whatever this list says",
            printable(&user.email)
        );
    } else if channels.is_empty() {
        say!("{} now works every channel", printable(&user.email));
    } else {
        let names: Vec<&str> = channels.iter().map(|channel| channel.as_str()).collect();
        say!("{} now works: {}", printable(&user.email), names.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

async fn list(workspace: &Workspace, json: bool) -> anyhow::Result<ExitCode> {
    let store = workspace.open_store().await?;
    let users = store.users().await;
    store.close().await;
    let users = users?;
    if json {
        say!("{}", serde_json::to_string_pretty(&users)?);
        return Ok(ExitCode::SUCCESS);
    }
    if users.is_empty() {
        say!("no users yet: add one with `frontdesk users add EMAIL --role owner`");
        return Ok(ExitCode::SUCCESS);
    }
    say!("{:>4}  {:<6}  {:<20}  email", "id", "role", "added");
    for user in &users {
        let added = format_time(user.created_at);
        say!(
            "{:>4}  {:<6}  {added:<20}  {}",
            user.id,
            user.role,
            printable(&user.email)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A light check that catches typing mistakes (a missing @, a stray space) and refuses
/// characters that would act on a terminal listing the team; whether the address
/// receives mail is not Frontdesk's to know.
fn looks_like_email(email: &str) -> bool {
    let email = email.trim();
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(|c| c.is_whitespace() || is_hidden(c))
        }
        None => false,
    }
}

fn password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        bail!("standard input held no password: give it on the first line");
    }
    Ok(password)
}

fn password_from_terminal() -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        bail!("there is no terminal to ask for the password on; pass --password-stdin");
    }
    let password = rpassword::prompt_password("Password: ").context("cannot read the password")?;
    let again = rpassword::prompt_password("Again: ").context("cannot read the password")?;
    if password != again {
        bail!("the two passwords differ; nothing was added");
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_need_one_at_with_text_around_it() {
        assert!(looks_like_email("ana@shop.example"));
        assert!(!looks_like_email("ana.shop.example"));
        assert!(!looks_like_email("@shop.example"));
        assert!(!looks_like_email("ana@"));
        assert!(!looks_like_email("ana@@shop.example"));
        assert!(!looks_like_email("ana smith@shop.example"));
        assert!(!looks_like_email("a\u{1b}]0;x\u{7}b@shop.example"));
        assert!(!looks_like_email("ana\u{202e}@shop.example"));
    }
}
