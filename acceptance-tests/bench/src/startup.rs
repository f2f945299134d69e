//! Metric (a): exec → handshake line.
//!
//! The provider is started as Terraform starts it (magic cookie, protocol versions, a Unix
//! socket directory) with a P-521 client certificate in `PLUGIN_CLIENT_CERT` like Terraform's, so
//! AutoMTLS key generation is included. It is compared with two floors measured in the same
//! interleaved loop: a bare fork/exec of `true`, and the same binary without
//! `PLUGIN_CLIENT_CERT` (the plaintext path: same start-up minus TLS set-up). RSS is read from
//! procfs right after the line arrives.

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vnetpeer::plugin::handshake::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use vnetpeer::plugin::tls::{KeyAlgorithm, TlsIdentity};

use super::stats::{median, percentile};
use super::{Row, ms, progress};

/// docs/development/benchmark-method.md, 'Rust reference figures': the floor reference reaches its
/// handshake in 2.87 ms with AutoMTLS, and a bare exec of `true` took 0.93 ms on that machine.
const REFERENCE_FLOOR_MS: f64 = 2.87;
const REFERENCE_BARE_EXEC_MS: f64 = 0.93;

/// Variables that would change the provider's start-up if inherited.
const CLEARED: [&str; 8] = [
    "PLUGIN_CLIENT_CERT",
    "PLUGIN_PROTOCOL_VERSIONS",
    "PLUGIN_MIN_PORT",
    "PLUGIN_MAX_PORT",
    "TF_LOG",
    "TF_LOG_PROVIDER",
    "TF_LOG_PROVIDER_VNETPEER",
    "TF_REATTACH_PROVIDERS",
];

/// One start of the provider.
struct Start {
    to_handshake: Duration,
    /// Peak and current RSS right after the handshake line, kB.
    hwm_kb: u64,
    rss_kb: u64,
}

/// Measures `runs` starts with and without TLS and `runs` bare execs, interleaved.
pub fn measure(provider: &Path, runs: usize) -> Result<Vec<Row>, String> {
    progress(format!(
        "(a) exec → handshake: {runs} starts with AutoMTLS, {runs} without, {runs} bare execs"
    ));
    let client = TlsIdentity::generate(KeyAlgorithm::EcdsaP521Sha512)
        .map_err(|error| format!("cannot generate a client certificate: {error}"))?;
    let certificate = client.certificate_pem();
    let socket_dir = tempfile::tempdir().map_err(|error| error.to_string())?;

    // Warm the page cache and the dynamic loader before measuring.
    for _ in 0..5 {
        start_once(provider, socket_dir.path(), Some(&certificate))?;
        start_once(provider, socket_dir.path(), None)?;
    }
    let mut with_tls = Vec::with_capacity(runs);
    let mut without_tls = Vec::with_capacity(runs);
    let mut bare = Vec::with_capacity(runs);
    for _ in 0..runs {
        with_tls.push(start_once(provider, socket_dir.path(), Some(&certificate))?);
        without_tls.push(start_once(provider, socket_dir.path(), None)?);
        bare.push(bare_exec()?);
    }

    let tls_times: Vec<Duration> = with_tls.iter().map(|start| start.to_handshake).collect();
    let plain_times: Vec<Duration> = without_tls.iter().map(|start| start.to_handshake).collect();
    let tls_median = median(&tls_times);
    let plain_median = median(&plain_times);
    let bare_median = median(&bare);
    let hwm_kb = with_tls.iter().map(|start| start.hwm_kb).max().unwrap_or(0);
    let rss_median_kb = {
        let mut rss: Vec<u64> = with_tls.iter().map(|start| start.rss_kb).collect();
        rss.sort_unstable();
        rss.get(rss.len() / 2).copied().unwrap_or(0)
    };
    let to_plain = ratio(tls_median, plain_median);
    let to_bare = ratio(tls_median, bare_median);
    // The reference floor ('Rust reference figures') scaled to this machine through the bare exec.
    let scaled_floor_ms =
        REFERENCE_FLOOR_MS * bare_median.as_secs_f64() * 1e3 / REFERENCE_BARE_EXEC_MS;
    let to_scaled_floor = tls_median.as_secs_f64() * 1e3 / scaled_floor_ms;
    let tls_ms = tls_median.as_secs_f64() * 1e3;

    Ok(vec![
        Row::target(
            "a1",
            format!("exec → handshake line, AutoMTLS (P-521 client cert), median of {runs}"),
            format!("{} (p90 {})", ms(tls_median), ms(percentile(&tls_times, 90.0))),
            "< 5 ms",
            tls_ms < 5.0,
        ),
        Row::info(
            "a2",
            "floor: same binary without PLUGIN_CLIENT_CERT (no TLS), median",
            ms(plain_median),
        ),
        Row::info("a3", "floor: bare fork/exec of `true`, median", ms(bare_median)),
        Row::target(
            "a4",
            "AutoMTLS start ÷ no-TLS start of the same binary",
            format!("{to_plain:.2}×"),
            "≤ 1.5×",
            to_plain <= 1.5,
        )
        .with_note(
            "the difference is the server key generation, certificate signing and PEM parsing of the client certificate",
        ),
        Row::target(
            "a5",
            "AutoMTLS start ÷ bare exec",
            format!("{to_bare:.2}×"),
            "≤ 4.5× (1.5 × the reference floor's 3× a bare exec)",
            to_bare <= 4.5,
        ),
        Row::target(
            "a6",
            "AutoMTLS start ÷ reference floor scaled by bare exec",
            format!("{to_scaled_floor:.2}× (floor {scaled_floor_ms:.2} ms here)"),
            "≤ 1.5×",
            to_scaled_floor <= 1.5,
        ),
        Row::target(
            "a7",
            "RSS at handshake (median VmRSS; highest VmHWM)",
            format!(
                "{:.1} MB (VmHWM {:.1} MB)",
                rss_median_kb as f64 / 1024.0,
                hwm_kb as f64 / 1024.0
            ),
            "≤ 10 MB",
            (hwm_kb as f64 / 1024.0) <= 10.0,
        ),
    ])
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(f64::MIN_POSITIVE)
}

/// Starts the provider, waits for its first stdout line, reads its memory, and kills it.
fn start_once(
    provider: &Path,
    socket_dir: &Path,
    client_cert: Option<&str>,
) -> Result<Start, String> {
    let mut command = Command::new(provider);
    for variable in CLEARED {
        command.env_remove(variable);
    }
    command
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env("PLUGIN_UNIX_SOCKET_DIR", socket_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(certificate) = client_cert {
        command.env("PLUGIN_CLIENT_CERT", certificate);
    }
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|error| format!("cannot start {}: {error}", provider.display()))?;
    let Some(stdout) = child.stdout.take() else {
        return Err("the provider's stdout is not piped".to_owned());
    };
    let mut line = String::new();
    let read = std::io::BufReader::new(stdout).read_line(&mut line);
    let to_handshake = started.elapsed();
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    // SIGKILL: the socket file is left behind in the temporary directory, which is removed.
    let _ = child.kill();
    let _ = child.wait();
    read.map_err(|error| format!("cannot read the handshake line: {error}"))?;
    if !line.starts_with("1|6|") {
        return Err(format!("unexpected first line from the provider: {line:?}"));
    }
    Ok(Start {
        to_handshake,
        hwm_kb: status_kb(&status, "VmHWM:"),
        rss_kb: status_kb(&status, "VmRSS:"),
    })
}

fn status_kb(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn bare_exec() -> Result<Duration, String> {
    let started = Instant::now();
    let status = Command::new("true")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|error| format!("cannot run `true`: {error}"))?;
    let elapsed = started.elapsed();
    if !status.success() {
        return Err("`true` failed".to_owned());
    }
    Ok(elapsed)
}
