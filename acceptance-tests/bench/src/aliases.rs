//! Metric (g) of docs/development/benchmark-method.md, 'Metrics, how to compute them, and targets':
//! the per-launch fixed cost times the launches, for a `plan` with no changes and 1, 3 and 11
//! provider configurations (the default one plus aliases, one `vnetpeer_test_fixture` each, so the
//! figure is the plugin's own cost, not the clouds').
//!
//! Terraform starts a provider process per configuration and phase, so the cost of one launch
//! (start-up, handshake, schema, configure, one refresh) multiplies
//! (docs/development/benchmark-method.md, 'Process launches per command'). Two measurements:
//! - **CPU per launch.** GNU time prints CPU in hundredths and truncates, which rounds a 3 ms
//!   launch to zero; the wrapper here runs the provider as a child of bash and records bash's
//!   `times` for its children (millisecond resolution) when it exits.
//! - **Memory of the simultaneous processes.** A sampler reads `/proc` every 2 ms and sums the
//!   RSS of every live process running the provider binary: the largest sum is the figure, its
//!   integral over time is Σ (RSS × lifetime). The sum of the per-process peaks (an upper bound,
//!   as if all were alive at once at their peak) is reported alongside.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::build::PROVIDER_FILE_NAME;
use super::terraform::Workspace;
use super::{Row, progress};

/// Provider configurations per run (docs/development/benchmark-method.md, 'Harness').
pub const CONFIGURATIONS: [usize; 3] = [1, 3, 11];

/// Target CPU per launch, seconds.
const CPU_PER_LAUNCH_TARGET_S: f64 = 0.010;

/// Target total RSS of the simultaneous processes at 11 configurations, MB.
const SIMULTANEOUS_RSS_TARGET_MB: f64 = 150.0;

/// How often the sampler reads `/proc`.
const SAMPLE_EVERY: Duration = Duration::from_millis(2);

/// The configuration: `configurations` provider blocks (the default one, then aliases `a1`…),
/// each with one fixture object.
pub fn config(configurations: usize) -> String {
    let mut text = String::from(vnetpeer_harness::terraform::REQUIRED_PROVIDERS);
    for index in 0..configurations {
        let (provider, reference) = if index == 0 {
            (
                "provider \"vnetpeer\" {}\n".to_owned(),
                "vnetpeer".to_owned(),
            )
        } else {
            (
                format!("provider \"vnetpeer\" {{\n  alias = \"a{index}\"\n}}\n"),
                format!("vnetpeer.a{index}"),
            )
        };
        text.push_str(&provider);
        text.push_str(&format!(
            "resource \"vnetpeer_test_fixture\" \"r{index}\" {{\n  provider = {reference}\n  name     = \"object-{index}\"\n}}\n"
        ));
    }
    text
}

/// A `dev_overrides` directory whose provider is a bash script running `binary` as a child and
/// writing the children's CPU (`times`, second line) to `$VNETPEER_BENCH_CPU_DIR/launch.$$`.
/// Stdout and stdin are inherited, so the handshake line reaches Terraform unchanged.
pub fn cpu_wrapper(binary: &Path, dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    let script = dir.join(PROVIDER_FILE_NAME);
    let quoted = format!("'{}'", binary.display().to_string().replace('\'', "'\\''"));
    let text = format!(
        "#!/bin/bash\n{quoted} \"$@\"\nstatus=$?\ntimes > \"$VNETPEER_BENCH_CPU_DIR/launch.$$\"\nexit $status\n"
    );
    std::fs::write(&script, text).map_err(|error| format!("{}: {error}", script.display()))?;
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .map_err(|error| format!("{}: {error}", script.display()))?;
    Ok(dir.to_path_buf())
}

/// CPU seconds of the children from bash's `times` output (`0m0.003s 0m0.001s` on its second
/// line: user, then system).
pub fn parse_times(text: &str) -> Option<f64> {
    let children = text.lines().nth(1)?;
    children.split_whitespace().map(minutes_seconds).sum()
}

/// `1m2.345s` → 62.345.
fn minutes_seconds(field: &str) -> Option<f64> {
    let (minutes, seconds) = field.strip_suffix('s')?.split_once('m')?;
    Some(minutes.parse::<f64>().ok()? * 60.0 + seconds.parse::<f64>().ok()?)
}

/// What the sampler saw of the provider processes during one command.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MemoryProfile {
    /// Largest sum of VmRSS over the live provider processes, kB.
    pub max_simultaneous_kb: u64,
    /// Σ over processes of their peak (VmHWM), kB.
    pub sum_of_peaks_kb: u64,
    /// ∫ Σ VmRSS dt, in kB·s.
    pub rss_seconds_kb: f64,
    /// Distinct provider processes seen.
    pub processes: usize,
}

/// Samples `/proc` for processes whose executable is `binary` until stopped.
pub struct MemorySampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<MemoryProfile>,
}

impl MemorySampler {
    pub fn start(binary: PathBuf) -> MemorySampler {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut profile = MemoryProfile::default();
            let mut peaks: BTreeMap<u32, u64> = BTreeMap::new();
            let mut last = Instant::now();
            loop {
                let done = stopping.load(Ordering::SeqCst);
                let mut total = 0;
                for (pid, rss, hwm) in provider_processes(&binary) {
                    total += rss;
                    let peak = peaks.entry(pid).or_default();
                    *peak = (*peak).max(hwm);
                }
                let now = Instant::now();
                profile.rss_seconds_kb += total as f64 * (now - last).as_secs_f64();
                last = now;
                profile.max_simultaneous_kb = profile.max_simultaneous_kb.max(total);
                if done {
                    profile.sum_of_peaks_kb = peaks.values().sum();
                    profile.processes = peaks.len();
                    return profile;
                }
                std::thread::sleep(SAMPLE_EVERY);
            }
        });
        MemorySampler { stop, thread }
    }

    pub fn finish(self) -> MemoryProfile {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap_or_default()
    }
}

/// (pid, VmRSS kB, VmHWM kB) of every live process running `binary`.
fn provider_processes(binary: &Path) -> Vec<(u32, u64, u64)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // A replaced or deleted binary reads back as "<path> (deleted)".
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| {
                exe.as_os_str()
                    .to_string_lossy()
                    .starts_with(&*binary.to_string_lossy())
            })
        })
        .filter_map(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let field = |name: &str| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix(name))
                    .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            };
            Some((pid, field("VmRSS:")?, field("VmHWM:")?))
        })
        .collect()
}

/// One `plan` with no changes at one number of configurations.
#[derive(Debug, Clone)]
struct AliasRun {
    configurations: usize,
    launches_cpu_s: Vec<f64>,
    memory: MemoryProfile,
}

impl AliasRun {
    fn cpu_s(&self) -> f64 {
        self.launches_cpu_s.iter().sum()
    }

    fn cpu_per_launch_s(&self) -> f64 {
        self.cpu_s() / self.launches_cpu_s.len().max(1) as f64
    }
}

/// Measures (g): one row per number of configurations.
pub fn measure(scratch: &Path, binary: &Path) -> Result<Vec<Row>, String> {
    let wrapper = cpu_wrapper(binary, &scratch.join("aliases-wrapper"))?;
    let mut rows = Vec::new();
    for (index, configurations) in CONFIGURATIONS.into_iter().enumerate() {
        progress(format!(
            "(g) plan with no changes, {configurations} provider configurations"
        ));
        let run = plan_without_changes(scratch, &wrapper, binary, configurations)?;
        rows.push(row(&format!("g{}", index + 1), &run));
    }
    Ok(rows)
}

fn plan_without_changes(
    scratch: &Path,
    wrapper: &Path,
    binary: &Path,
    configurations: usize,
) -> Result<AliasRun, String> {
    let mut workspace =
        Workspace::new(scratch, &format!("aliases-{configurations}"), Some(wrapper))?;
    let store = workspace.path().join("fixture-store");
    let setup_cpu = workspace.path().join("cpu-setup");
    let measured_cpu = workspace.path().join("cpu-plan");
    for dir in [&store, &setup_cpu, &measured_cpu] {
        std::fs::create_dir_all(dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    }
    workspace.set_env("VNETPEER_FIXTURE_STORE", store.display().to_string());
    workspace.set_env("VNETPEER_BENCH_CPU_DIR", setup_cpu.display().to_string());
    workspace.write("main.tf", &config(configurations))?;
    workspace.run_ok(&["apply", "-auto-approve", "-input=false", "-no-color"])?;

    workspace.set_env("VNETPEER_BENCH_CPU_DIR", measured_cpu.display().to_string());
    let sampler = MemorySampler::start(binary.to_path_buf());
    let plan = workspace.run(&["plan", "-detailed-exitcode", "-input=false", "-no-color"]);
    let memory = sampler.finish();
    let plan = plan?;
    // -detailed-exitcode: 0 = no changes, 2 = changes, 1 = error.
    if plan.status != 0 {
        return Err(format!(
            "`terraform plan` with {configurations} configurations was not a plan without changes (exit {}):\n{}",
            plan.status,
            super::terraform::tail(&plan.output(), 40)
        ));
    }
    let mut launches_cpu_s = Vec::new();
    for entry in std::fs::read_dir(&measured_cpu).map_err(|error| error.to_string())? {
        let path = entry.map_err(|error| error.to_string())?.path();
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        launches_cpu_s.push(
            parse_times(&text)
                .ok_or_else(|| format!("{}: not bash `times` output: {text:?}", path.display()))?,
        );
    }
    Ok(AliasRun {
        configurations,
        launches_cpu_s,
        memory,
    })
}

fn row(id: &str, run: &AliasRun) -> Row {
    let mb = |kb: u64| kb as f64 / 1024.0;
    let launches = run.launches_cpu_s.len();
    let max_launch = run.launches_cpu_s.iter().copied().fold(0.0_f64, f64::max);
    let value = format!(
        "{launches} launches; provider CPU {:.1} ms in all = {:.1} ms per launch (max {:.1} ms); simultaneous RSS at most {:.1} MB (Σ of the {} processes' peaks {:.1} MB); Σ RSS × lifetime {:.2} MB·s",
        run.cpu_s() * 1e3,
        run.cpu_per_launch_s() * 1e3,
        max_launch * 1e3,
        mb(run.memory.max_simultaneous_kb),
        run.memory.processes,
        mb(run.memory.sum_of_peaks_kb),
        run.memory.rss_seconds_kb / 1024.0,
    );
    let figure = format!(
        "`plan` with no changes, {} provider configuration{}: CPU per launch, memory of the simultaneous processes",
        run.configurations,
        if run.configurations == 1 { "" } else { "s" }
    );
    let cpu_ok = launches > 0 && run.cpu_per_launch_s() <= CPU_PER_LAUNCH_TARGET_S;
    let row = if run.configurations >= 11 {
        let memory_ok = mb(run.memory.max_simultaneous_kb) <= SIMULTANEOUS_RSS_TARGET_MB
            && run.memory.processes > 0;
        Row::target(
            id,
            figure,
            value,
            "≤ 10 ms CPU per launch; simultaneous RSS ≤ 150 MB",
            cpu_ok && memory_ok,
        )
    } else {
        Row::target(id, figure, value, "≤ 10 ms CPU per launch", cpu_ok)
    };
    row.with_note(
        "CPU from bash `times` of the provider as its child (ms resolution); RSS sampled from /proc every 2 ms over the live provider processes; every configuration manages one vnetpeer_test_fixture",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bash_times_gives_the_childrens_cpu() {
        let text = "0m0.001s 0m0.002s\n0m0.004s 1m0.003s\n";
        let cpu = parse_times(text).expect("parsed");
        assert!((cpu - 60.007).abs() < 1e-9, "{cpu}");
        assert_eq!(parse_times("0m0.001s 0m0.002s\n"), None);
        assert_eq!(parse_times("0m0.001s 0m0.002s\nnonsense\n"), None);
    }

    #[test]
    fn every_configuration_manages_one_fixture() {
        let text = config(3);
        assert_eq!(text.matches("provider \"vnetpeer\"").count(), 3);
        assert_eq!(text.matches("alias").count(), 2);
        assert_eq!(
            text.matches("resource \"vnetpeer_test_fixture\"").count(),
            3
        );
        assert!(text.contains("provider = vnetpeer.a2\n"));
        assert!(text.contains("provider = vnetpeer\n"));
    }
}
