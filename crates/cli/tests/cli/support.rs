//! Runs the real `frontdesk` binary in a temporary data directory and reads
//! what it prints, so the tests see exactly what an owner or a script sees.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use serde_json::Value;
use tempfile::TempDir;

/// The environment variables the binary reads. They are cleared for every
/// run so that a developer's shell cannot point a test at their own data.
const FRONTDESK_ENV: &[&str] = &[
    "FRONTDESK_DATA_DIR",
    "DATABASE_URL",
    "FRONTDESK_CONFIG",
    "FRONTDESK_EMBEDDING_MODEL",
    "FRONTDESK_LISTEN",
    "FRONTDESK_PUBLIC_URL",
    "FRONTDESK_API_TOKEN",
    "FRONTDESK_MAX_BODY_BYTES",
    "FRONTDESK_WIDGET_REQUESTS_PER_MINUTE",
    "FRONTDESK_MESSAGES_PER_MINUTE",
    "FRONTDESK_LLM_BASE_URL",
    "FRONTDESK_LLM_MODEL",
    "FRONTDESK_LLM_API_KEY",
];

/// The fields of every decision `ask --json` and `answer --batch` print.
const DECISION_FIELDS: [&str; 6] = [
    "confidence",
    "decision",
    "faq_id",
    "reason",
    "sources",
    "text",
];

/// A file under `crates/cli/tests/data/`.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

pub fn arg(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

pub fn read_jsonl(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// One JSON value per line of `text`, as `answer --batch` prints them.
pub fn parse_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("not a JSON line ({err}): {line}"))
        })
        .collect()
}

pub fn keys(object: &Value) -> BTreeSet<&str> {
    object
        .as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// One Frontdesk installation: a data directory of its own and, optionally,
/// a database URL (for PostgreSQL) instead of the default SQLite file.
pub struct Frontdesk {
    dir: TempDir,
    database_url: Option<String>,
}

impl Frontdesk {
    pub fn new() -> Self {
        Frontdesk {
            dir: tempfile::tempdir().unwrap(),
            database_url: None,
        }
    }

    pub fn with_database(url: &str) -> Self {
        Frontdesk {
            database_url: Some(url.to_string()),
            ..Frontdesk::new()
        }
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = bare_command();
        command.arg("--data-dir").arg(self.data_dir());
        if let Some(url) = &self.database_url {
            command.arg("--database-url").arg(url);
        }
        command.args(args);
        command
    }

    /// Runs `frontdesk ARGS` and returns whatever happened, success or not.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .expect("the frontdesk binary runs")
    }

    /// Starts `frontdesk ARGS` with `env` added and its standard error piped, for
    /// commands that run until stopped (`serve`).
    pub fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
        let mut command = self.command(args);
        command.envs(env.iter().copied());
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the frontdesk binary runs")
    }

    /// Runs a command that must succeed and returns its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        succeeded(args, self.run(args))
    }

    /// Like [`Frontdesk::ok`], with `input` as the command's standard input.
    pub fn ok_with_stdin(&self, args: &[&str], input: &[u8]) -> String {
        succeeded(args, self.run_with_stdin(args, input))
    }

    /// Like [`Frontdesk::fails`], with `input` as the command's standard input.
    pub fn fails_with_stdin(&self, args: &[&str], input: &[u8]) -> String {
        failed(args, self.run_with_stdin(args, input))
    }

    fn run_with_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the frontdesk binary runs");
        // Written from a thread: a child that fills its stdout pipe before it has
        // read all of its input would otherwise wait on us while we wait on it.
        let mut stdin = child.stdin.take().unwrap();
        let input = input.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let output = child.wait_with_output().unwrap();
        // A command that fails before reading its input closes the pipe: not our error.
        let _ = writer.join().unwrap();
        output
    }

    /// Runs a command that must fail and returns its standard error.
    pub fn fails(&self, args: &[&str]) -> String {
        failed(args, self.run(args))
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let stdout = self.ok(args);
        serde_json::from_str(&stdout)
            .unwrap_or_else(|err| panic!("frontdesk {args:?} printed no JSON ({err}):\n{stdout}"))
    }

    pub fn json_lines(&self, args: &[&str]) -> Vec<Value> {
        parse_lines(&self.ok(args))
    }

    pub fn ask(&self, message: &str) -> Value {
        self.json(&["ask", message, "--json"])
    }

    /// Imports the Banking77 slice: 8 FAQ entries and 40 past tickets for each.
    pub fn import_banking(&self) {
        self.ok(&["import", "faq", arg(&data("banking_faq.jsonl"))]);
        self.ok(&["import", "tickets", arg(&data("banking_tickets.jsonl"))]);
    }

    /// The Banking77 slice, imported once for every test running at the same time
    /// that only reads it: training is the slow part of a run. It is deleted when
    /// the last of them ends, so a later test may import it again.
    pub fn shared_banking() -> Arc<Frontdesk> {
        static SHARED: Mutex<Weak<Frontdesk>> = Mutex::new(Weak::new());
        let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(frontdesk) = shared.upgrade() {
            return frontdesk;
        }
        let frontdesk = Arc::new(Frontdesk::new());
        frontdesk.import_banking();
        *shared = Arc::downgrade(&frontdesk);
        frontdesk
    }

    /// `knowledge stats --json` as (faq, ticket, doc) counts.
    pub fn counts(&self) -> (u64, u64, u64) {
        let stats = self.json(&["knowledge", "stats", "--json"]);
        let count = |kind: &str| {
            stats
                .as_array()
                .expect("stats are a list")
                .iter()
                .find(|row| row["kind"] == kind)
                .and_then(|row| row["count"].as_u64())
                .unwrap_or_else(|| panic!("no {kind} count in {stats}"))
        };
        (count("faq"), count("ticket"), count("doc"))
    }
}

/// The binary with none of its environment variables set and no arguments yet, for a test
/// that chooses the data dir itself (or checks the default).
pub fn bare_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_frontdesk"));
    for var in FRONTDESK_ENV {
        command.env_remove(var);
    }
    command
}

fn failed(args: &[&str], output: Output) -> String {
    assert!(
        !output.status.success(),
        "frontdesk {args:?} succeeded but should have failed\nstdout:\n{}",
        String::from_utf8_lossy(&output.stdout),
    );
    String::from_utf8(output.stderr).expect("stderr is UTF-8")
}

fn succeeded(args: &[&str], output: Output) -> String {
    assert!(
        output.status.success(),
        "frontdesk {args:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    String::from_utf8(output.stdout).expect("stdout is UTF-8")
}

/// What `knowledge stats` must show after [`Frontdesk::import_banking`]. The
/// ticket file repeats one line word for word (as the source data does), and
/// an exported ticket seen twice is one ticket, so it counts once.
pub fn banking_counts() -> (u64, u64, u64) {
    let faqs = read_jsonl(&data("banking_faq.jsonl")).len() as u64;
    let text = std::fs::read_to_string(data("banking_tickets.jsonl")).unwrap();
    let distinct: BTreeSet<&str> = text.lines().collect();
    (faqs, distinct.len() as u64, 0)
}

/// Asserts that `decision` is a decision object with exactly the public fields.
pub fn assert_decision_shape(decision: &Value) {
    assert_eq!(
        keys(decision),
        BTreeSet::from(DECISION_FIELDS),
        "{decision}"
    );
    for source in decision["sources"].as_array().expect("sources is a list") {
        assert_eq!(keys(source), BTreeSet::from(["id", "kind"]), "{decision}");
    }
}

pub fn assert_escalates(decision: &Value, reason: &str) {
    assert_decision_shape(decision);
    assert_eq!(decision["decision"], "escalate", "{decision}");
    assert_eq!(decision["reason"], reason, "{decision}");
    assert_eq!(decision["faq_id"], Value::Null, "{decision}");
}

pub fn assert_clarifies(decision: &Value, reason: &str) {
    assert_decision_shape(decision);
    assert_eq!(decision["decision"], "clarify", "{decision}");
    assert_eq!(decision["reason"], reason, "{decision}");
    assert_eq!(decision["faq_id"], Value::Null, "{decision}");
}
