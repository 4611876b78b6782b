//! Progress display. indicatif draws only when stderr is a terminal, so piped
//! and scripted runs stay quiet without any flag.

use std::time::Duration;

use frontdesk_knowledge::BuildProgress;
use indicatif::{ProgressBar, ProgressStyle};

pub fn bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(bar_style());
    bar.set_message(what.to_string());
    bar
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} ({eta})")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// Shows a build of the assistant: a spinner naming each step, which becomes a bar with
/// the time left while phrasings are encoded, the one step that can take minutes.
pub struct BuildDisplay {
    line: ProgressBar,
}

impl BuildDisplay {
    pub fn new(what: &str) -> Self {
        Self {
            line: spinner(what),
        }
    }

    pub fn show(&self, progress: BuildProgress) {
        match progress {
            BuildProgress::Step(step) => {
                if self.line.length().is_some() {
                    self.line.set_style(ProgressStyle::default_spinner());
                    self.line.unset_length();
                }
                self.line.set_message(step);
            }
            BuildProgress::Encoding { done, total } => {
                if self.line.length() != Some(total as u64) {
                    self.line.set_style(bar_style());
                    self.line.set_length(total as u64);
                    // The time left is estimated from this step's own pace, not the build's.
                    self.line.reset_eta();
                    self.line.set_message("encoding");
                }
                self.line.set_position(done as u64);
            }
        }
    }

    pub fn finish(&self) {
        self.line.finish_and_clear();
    }
}

pub fn spinner(what: &str) -> ProgressBar {
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(what.to_string());
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}
