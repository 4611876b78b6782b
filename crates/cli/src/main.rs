//! The `frontdesk` command: import a business's knowledge, ask the assistant,
//! answer in batches and evaluate it on labelled questions.

/// Prints a line to standard output, returning an error instead of panicking
/// when the reader has gone away (`frontdesk eval | head`).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

mod commands;
mod config;
mod encoder;
mod workspace;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::commands::{
    answer, ask, assess, channels, conversations, demo, eval, import, knowledge, model, retrain,
    serve, settings, users,
};

#[derive(Debug, Parser)]
#[command(
    name = "frontdesk",
    version,
    about = "Self-hosted customer service assistant"
)]
struct Cli {
    /// Where Frontdesk keeps its database, search index and trained model.
    #[arg(
        long,
        global = true,
        env = "FRONTDESK_DATA_DIR",
        default_value = "./frontdesk-data"
    )]
    data_dir: PathBuf,

    /// Database to use: `sqlite://FILE` or `postgres://…`. Default: an SQLite file in the data dir.
    #[arg(long, global = true, env = "DATABASE_URL")]
    database_url: Option<String>,

    /// Settings file (TOML). Default: `frontdesk.toml` in the data dir, when it exists.
    #[arg(long, global = true, env = "FRONTDESK_CONFIG")]
    config: Option<PathBuf>,

    /// Folder of the sentence-embedding model. Default: `assistant.embedding_model` from the
    /// settings file, else `models/all-MiniLM-L6-v2` in the data dir.
    #[arg(
        long,
        global = true,
        env = "FRONTDESK_EMBEDDING_MODEL",
        value_name = "DIR"
    )]
    embedding_model: Option<PathBuf>,

    /// Answer from words alone, even when the sentence-embedding model is installed.
    /// The variable takes 1, true, yes or on (and 0, false, no or off).
    #[arg(
        long,
        global = true,
        env = "FRONTDESK_LEXICAL_ONLY",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    lexical_only: bool,

    /// How the sentence model multiplies: `int8` (8-bit weights, several times faster,
    /// vectors within a cosine of 0.995 of the reference) or `exact` (32-bit floats).
    /// Default: int8 where the CPU has AVX2 or AVX-512 VNNI, else exact. Vectors are
    /// stored per precision, so changing it re-encodes the knowledge once.
    #[arg(long, global = true, env = "FRONTDESK_EMBED_PRECISION", value_enum)]
    embed_precision: Option<encoder::EmbedPrecision>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Import FAQ entries, past tickets, documents or product catalogs into the knowledge base.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Look at the knowledge base.
    #[command(subcommand)]
    Knowledge(knowledge::KnowledgeCommand),
    /// Ask the assistant one question and print its decision.
    Ask(ask::AskArgs),
    /// Answer every message of a JSONL file, one JSON decision per line.
    Answer(answer::AnswerArgs),
    /// Measure the assistant on labelled questions.
    Eval(eval::EvalArgs),
    /// Rebuild the assistant from everything in the store, the team's feedback included.
    Retrain,
    /// Install or check the sentence-embedding model.
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Run the HTTP server: health, metrics, the answer API, widget conversations and
    /// the team's API.
    Serve(serve::ServeArgs),
    /// Run the server with a sample shop, Hearth & Home: its FAQ, past tickets, policies
    /// and catalog, and an owner account for the inbox. Data dir: ./frontdesk-demo.
    Demo(demo::DemoArgs),
    /// Add and list the team: owners and agents.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Make API tokens for the team.
    #[command(subcommand)]
    Tokens(users::TokensCommand),
    /// Connect messaging channels (WhatsApp, Messenger, Instagram, Telegram, email) and
    /// list them with their webhook URLs.
    #[command(subcommand)]
    Channels(channels::ChannelsCommand),
    /// Read conversations from the terminal.
    #[command(subcommand)]
    Conversations(conversations::ConversationsCommand),
    /// The settings file: `config default` prints every setting with its default.
    #[command(subcommand)]
    Config(settings::ConfigCommand),
    /// Where the business stands on the five-level customer service maturity model, with
    /// the failure modes its figures show and the next move.
    Assess(assess::AssessArgs),
}

fn main() -> ExitCode {
    let cli = parse_cli();
    // A server's log is how its operator sees it start and answer; the one-shot
    // commands print their results and log only warnings.
    let default_level = match cli.command {
        Command::Serve(_) | Command::Demo(_) => "info",
        _ => "warn",
    };
    init_logging(default_level);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Opened by the commands that use it: `config default` must work even where the
    // settings file is broken.
    let open = move || {
        workspace::Workspace::new(
            cli.data_dir,
            cli.database_url,
            cli.config,
            cli.embedding_model,
            cli.lexical_only,
            cli.embed_precision,
        )
    };
    match cli.command {
        Command::Import(command) => import::run(&open()?, command).await,
        Command::Knowledge(command) => knowledge::run(&open()?, command).await,
        Command::Ask(args) => ask::run(&open()?, args).await,
        Command::Answer(args) => answer::run(&open()?, args).await,
        Command::Eval(args) => eval::run(&open()?, args).await,
        Command::Model(command) => model::run(&open()?, command).await,
        Command::Retrain => retrain::run(&open()?).await,
        Command::Serve(args) => serve::run(&open()?, args).await,
        Command::Demo(args) => demo::run(&open()?, args).await,
        Command::Users(command) => users::run_users(&open()?, command).await,
        Command::Tokens(command) => users::run_tokens(&open()?, command).await,
        Command::Channels(command) => channels::run(&open()?, command).await,
        Command::Conversations(command) => conversations::run(&open()?, command).await,
        Command::Config(command) => settings::run(command),
        Command::Assess(args) => assess::run(&open()?, args).await,
    }
}

/// Parses the command line. `demo` keeps its sample shop apart from a real installation:
/// its data dir is `./frontdesk-demo` and its database the SQLite file in it, unless
/// `--data-dir` or `--database-url` is on its command line. Their environment variables
/// point at the real installation, which the demo must not import into.
fn parse_cli() -> Cli {
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    if matches!(cli.command, Command::Demo(_)) {
        let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
        if !given("data_dir") {
            cli.data_dir = PathBuf::from(demo::DEFAULT_DATA_DIR);
        }
        if !given("database_url") {
            cli.database_url = None;
        }
    }
    cli
}

/// A closed standard output (the reader was `head`) ends the command quietly.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Logs go to stderr so that stdout stays clean for JSON output. `RUST_LOG`
/// sets the level; the default is `default_level`.
fn init_logging(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    // Colour codes only where a person reads them, not in a CI log or a file.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .init();
}
