//! The benchmark suite of docs/development/benchmark-method.md, 'Benchmark suite' (issue 8), run by
//! `vnetpeer-bench`.
//!
//! Each submodule measures one group of figures and returns [`Row`]s: a figure, its value, the
//! target and whether the target is met. [`Report`] renders them as one markdown table, which the
//! binary prints and writes into `BENCHMARKS.md` together with the [`Machine`] it ran on.
//!
//! The figures are ratios and counts from one run. Wall times on a shared 2-core machine are
//! noisy, so time figures are medians or percentiles, and nothing here is ever asserted by a test.

pub mod aliases;
pub mod build;
pub mod connections;
pub mod polling;
pub mod requests;
pub mod runbook;
pub mod scale;
pub mod schema;
pub mod size;
pub mod startup;
pub mod stats;
pub mod terraform;
pub mod throttling;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// Whether a figure meets its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The target is met.
    Met,
    /// The target is missed; the row's note says why.
    Missed,
    /// A figure without a target of its own (a floor, a count, context).
    Info,
    /// The figure could not be measured in this run; the note says why.
    NotMeasured,
}

impl Verdict {
    /// The met/missed decision of `holds`.
    pub fn of(holds: bool) -> Verdict {
        if holds { Verdict::Met } else { Verdict::Missed }
    }

    fn label(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Missed => "**missed**",
            Verdict::Info => "–",
            Verdict::NotMeasured => "not measured",
        }
    }
}

/// One line of the figures table.
#[derive(Clone, Debug)]
pub struct Row {
    /// Metric letter of docs/development/benchmark-method.md, 'Metrics, how to compute them, and
    /// targets' and a number, e.g. `a1`.
    pub id: String,
    pub figure: String,
    pub value: String,
    /// The target as text, empty when the figure has none.
    pub target: String,
    pub verdict: Verdict,
    /// Why a target is missed or a figure is missing, or what qualifies the value.
    pub note: Option<String>,
}

impl Row {
    /// A figure without a target.
    pub fn info(id: &str, figure: impl Into<String>, value: impl Into<String>) -> Row {
        Row {
            id: id.to_owned(),
            figure: figure.into(),
            value: value.into(),
            target: String::new(),
            verdict: Verdict::Info,
            note: None,
        }
    }

    /// A figure with a target and whether it holds.
    pub fn target(
        id: &str,
        figure: impl Into<String>,
        value: impl Into<String>,
        target: impl Into<String>,
        holds: bool,
    ) -> Row {
        Row {
            id: id.to_owned(),
            figure: figure.into(),
            value: value.into(),
            target: target.into(),
            verdict: Verdict::of(holds),
            note: None,
        }
    }

    /// A figure this run could not measure, and why.
    pub fn not_measured(id: &str, figure: impl Into<String>, why: impl Into<String>) -> Row {
        Row {
            id: id.to_owned(),
            figure: figure.into(),
            value: "–".to_owned(),
            target: String::new(),
            verdict: Verdict::NotMeasured,
            note: Some(why.into()),
        }
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Row {
        self.note = Some(note.into());
        self
    }
}

/// The figures of one run.
#[derive(Debug, Default)]
pub struct Report {
    pub rows: Vec<Row>,
}

impl Report {
    pub fn extend(&mut self, rows: impl IntoIterator<Item = Row>) {
        self.rows.extend(rows);
    }

    /// The figures as a markdown table (notes in the last column).
    pub fn table(&self) -> String {
        let mut text = String::from(
            "| # | figure | value | target | verdict | note |\n|---|---|---|---|---|---|\n",
        );
        for row in &self.rows {
            let _ = writeln!(
                text,
                "| {} | {} | {} | {} | {} | {} |",
                row.id,
                cell(&row.figure),
                cell(&row.value),
                cell(&row.target),
                row.verdict.label(),
                cell(row.note.as_deref().unwrap_or(""))
            );
        }
        text
    }

    /// How many targets are met and missed.
    pub fn tally(&self) -> (usize, usize) {
        let met = self
            .rows
            .iter()
            .filter(|row| row.verdict == Verdict::Met)
            .count();
        let missed = self
            .rows
            .iter()
            .filter(|row| row.verdict == Verdict::Missed)
            .count();
        (met, missed)
    }
}

/// A table cell: pipes escaped, line breaks flattened.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The machine a run happened on (recorded with every result, docs/development/benchmark-method.md,
/// 'Harness').
#[derive(Debug, Clone)]
pub struct Machine {
    pub cpu_model: String,
    pub cores: usize,
    pub ram: String,
    pub kernel: String,
    pub terraform: String,
    pub rustc: String,
    pub provider_commit: String,
    pub load_average: String,
}

impl Machine {
    /// Reads procfs, `terraform version` and git; unknown parts say so instead of failing.
    pub fn describe(repository: &Path) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map_or_else(
                || "unknown".to_owned(),
                |(_, model)| model.trim().to_owned(),
            );
        let cores = std::thread::available_parallelism().map_or(0, usize::from);
        let ram = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|meminfo| {
                meminfo
                    .lines()
                    .find_map(|line| line.strip_prefix("MemTotal:"))
                    .and_then(|rest| {
                        rest.trim()
                            .trim_end_matches("kB")
                            .trim()
                            .parse::<f64>()
                            .ok()
                    })
            })
            .map_or_else(
                || "unknown".to_owned(),
                |kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0),
            );
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".to_owned(), |text| text.trim().to_owned());
        let terraform = first_line_of("terraform", &["version"], repository);
        let rustc = first_line_of("rustc", &["--version"], repository);
        let commit = first_line_of("git", &["rev-parse", "--short=12", "HEAD"], repository);
        let dirty = Command::new("git")
            .args(["status", "--porcelain", "--untracked-files=no"])
            .current_dir(repository)
            .output()
            .is_ok_and(|output| !output.stdout.is_empty());
        let provider_commit = if dirty {
            format!("{commit} (with uncommitted changes in the work tree)")
        } else {
            commit
        };
        let load_average = std::fs::read_to_string("/proc/loadavg")
            .map(|text| {
                text.split_whitespace()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        Machine {
            cpu_model,
            cores,
            ram,
            kernel,
            terraform,
            rustc,
            provider_commit,
            load_average,
        }
    }

    /// The machine as markdown bullet points.
    pub fn markdown(&self) -> String {
        format!(
            "- CPU: {} ({} cores visible)\n- RAM: {}\n- Kernel: Linux {}\n- Terraform: {}\n- Rust: {}\n- Provider commit: {}\n- Load average at start (1, 5, 15 min): {}\n",
            self.cpu_model,
            self.cores,
            self.ram,
            self.kernel,
            self.terraform,
            self.rustc,
            self.provider_commit,
            self.load_average
        )
    }
}

/// The first line a command prints, or `unknown`.
fn first_line_of(program: &str, args: &[&str], dir: &Path) -> String {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .ok()
        .and_then(|output| {
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .next()
                .map(str::to_owned)
        })
        .filter(|line| !line.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Progress on stderr (the table goes to stdout).
pub fn progress(message: impl std::fmt::Display) {
    eprintln!("[bench] {message}");
}

/// Milliseconds with two decimals.
pub fn ms(duration: std::time::Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1e3)
}
