//! `vnetpeer-bench`: the benchmark suite of docs/development/benchmark-method.md, 'Benchmark suite'
//! (issue 8) as one command.
//!
//! ```text
//! cargo run --release -p vnetpeer-bench
//! ```
//!
//! It builds the release provider itself (with and without the `test-fixtures` feature), runs
//! every figure against the real `terraform` and the emulator, prints one table, and writes it
//! with the machine description into `BENCHMARKS.md`. Figures are ratios and counts from one run;
//! no test asserts any of them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use vnetpeer_bench as bench;
use vnetpeer_bench::{Machine, Report, Row, progress};
use vnetpeer_harness::binaries::workspace_root;

/// The resource types of the runbook (and of the mix of docs/development/benchmark-method.md,
/// 'Harness').
const RUNBOOK_TYPES: [&str; 6] = [
    "vnetpeer_aad_app",
    "vnetpeer_service_principal",
    "vnetpeer_custom_role",
    "vnetpeer_role_assignment",
    "vnetpeer_aiven_vpc_peering",
    "vnetpeer_cross_tenant_vnet_peering",
];

const COMMAND: &str = "cargo run --release -p vnetpeer-bench";

const USAGE: &str = "usage: vnetpeer-bench [--quick] [--only LETTERS] [--sizes N,N] [--mix-only] [--provider PATH] [--no-write] [--keep]

  --quick          fewer repetitions and N ≤ 100 (a development check; never written to BENCHMARKS.md)
  --only LETTERS   run only these metrics, e.g. --only abh (metric letters of docs/development/benchmark-method.md)
  --sizes N,N      resource counts of metric (c) (default 1,10,100,400; --quick: 1,10,100)
  --mix-only       (c) runs only the resource mix against the emulator, without its floors: the
                   provider CPU of plan, apply, plan (refresh) and destroy (e.g. c31's share with
                   --only c --sizes 400 --mix-only; never written to BENCHMARKS.md)
  --provider PATH  use this provider binary instead of building the release binaries
  --no-write       print the table without updating BENCHMARKS.md
  --keep           keep the scratch directory (workspaces, logs) and print its path";

/// What to run.
struct Options {
    quick: bool,
    only: Option<String>,
    sizes: Option<Vec<usize>>,
    mix_only: bool,
    provider: Option<PathBuf>,
    write: bool,
    keep: bool,
}

impl Options {
    fn parse() -> Result<Options, String> {
        let mut options = Options {
            quick: false,
            only: None,
            sizes: None,
            mix_only: false,
            provider: None,
            write: true,
            keep: false,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => options.quick = true,
                "--only" => options.only = Some(args.next().ok_or("--only needs letters")?),
                "--sizes" => {
                    let list = args.next().ok_or("--sizes needs a list like 1,10")?;
                    let sizes = list
                        .split(',')
                        .map(|size| size.trim().parse::<usize>())
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|_| format!("--sizes: '{list}' is not a list of numbers"))?;
                    options.sizes = Some(sizes);
                }
                "--provider" => {
                    options.provider =
                        Some(PathBuf::from(args.next().ok_or("--provider needs a path")?));
                }
                "--mix-only" => options.mix_only = true,
                "--no-write" => options.write = false,
                "--keep" => options.keep = true,
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown argument '{other}'")),
            }
        }
        Ok(options)
    }

    fn wants(&self, metric: char) -> bool {
        self.only.as_ref().is_none_or(|only| only.contains(metric))
    }

    /// A run that may be recorded: everything, full size, release binaries built here.
    fn is_complete(&self) -> bool {
        !self.quick
            && self.only.is_none()
            && self.sizes.is_none()
            && !self.mix_only
            && self.provider.is_none()
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let options = match Options::parse() {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("vnetpeer-bench: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("vnetpeer-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: &Options) -> Result<(), String> {
    let repository = workspace_root();
    let machine = Machine::describe(&repository);
    if !bench::build::gnu_time_available() {
        return Err(
            "GNU time is missing at /usr/bin/time (install the `time` package, e.g. apt-get install time)"
                .to_owned(),
        );
    }
    let scratch_dir = tempfile::Builder::new()
        .prefix("vnetpeer-bench-")
        .tempdir()
        .map_err(|error| format!("cannot create a scratch directory: {error}"))?;
    let scratch = scratch_dir.path().to_path_buf();
    let binaries = match &options.provider {
        Some(path) => bench::build::existing(path, &scratch)?,
        None => bench::build::build_release(&repository, &scratch)?,
    };
    let provider_dir = binaries
        .with_fixtures
        .parent()
        .map(Path::to_path_buf)
        .ok_or("the provider copy has no directory")?;
    let wrapper_dir = bench::build::timed_wrapper(&binaries.with_fixtures, &scratch.join("timed"))?;

    let mut report = Report::default();
    if options.wants('h') {
        report.extend(bench::size::measure(
            &repository,
            &binaries.shipping,
            &scratch,
        ));
    }
    if options.wants('a') {
        let runs = if options.quick { 20 } else { 100 };
        report.extend(section(
            "a",
            bench::startup::measure(&binaries.with_fixtures, runs),
        ));
    }
    // The schema also tells which resource types this build serves.
    let calls = if options.quick { 200 } else { 1000 };
    let resource_types = match bench::schema::latency(&binaries.with_fixtures, calls).await {
        Ok((rows, types)) => {
            if options.wants('b') {
                report.extend(rows);
            }
            types
        }
        Err(why) => {
            report.extend(section("b", Err(why)));
            Vec::new()
        }
    };
    if options.wants('b') {
        report.extend(section(
            "b",
            bench::schema::calls_per_command(&scratch, &provider_dir),
        ));
    }
    let missing: Vec<&str> = RUNBOOK_TYPES
        .iter()
        .copied()
        .filter(|wanted| !resource_types.iter().any(|served| served == wanted))
        .collect();
    let resources_ready = missing.is_empty();
    if !resources_ready {
        progress(format!(
            "resource types not served yet: {missing:?}; (c) runs the floors only, (d) (e) (f) (i) are skipped"
        ));
    }
    let not_yet = |metric: &str| {
        vec![Row::not_measured(
            &format!("{metric}0"),
            format!("metric ({metric})"),
            format!("the provider does not serve {} yet", missing.join(", ")),
        )]
    };
    if options.wants('c') {
        let default_sizes: &[usize] = if options.quick {
            &[1, 10, 100]
        } else {
            &[1, 10, 100, 400]
        };
        let sizes = options.sizes.as_deref().unwrap_or(default_sizes);
        let result = if options.mix_only && resources_ready {
            bench::scale::measure_mix_only(&scratch, &wrapper_dir, sizes).await
        } else {
            bench::scale::measure(&scratch, &wrapper_dir, sizes, resources_ready).await
        };
        report.extend(section("c", result));
    }
    if options.wants('d') {
        report.extend(if resources_ready {
            section(
                "d",
                bench::requests::measure(&scratch, &repository, &wrapper_dir).await,
            )
        } else {
            not_yet("d")
        });
    }
    if options.wants('e') {
        report.extend(if resources_ready {
            section(
                "e",
                bench::polling::measure(&scratch, &repository, &provider_dir).await,
            )
        } else {
            not_yet("e")
        });
    }
    if options.wants('f') {
        report.extend(if resources_ready {
            section(
                "f",
                bench::throttling::measure(&scratch, &provider_dir).await,
            )
        } else {
            not_yet("f")
        });
    }
    if options.wants('g') {
        report.extend(section(
            "g",
            bench::aliases::measure(&scratch, &binaries.with_fixtures),
        ));
    }
    if options.wants('i') {
        report.extend(if resources_ready {
            section(
                "i",
                bench::runbook::end_to_end(&scratch, &repository, &provider_dir).await,
            )
        } else {
            not_yet("i")
        });
    }

    let table = report.table();
    println!("{table}");
    let (met, missed) = report.tally();
    progress(format!("{met} targets met, {missed} missed"));
    if options.keep {
        let kept = scratch_dir.keep();
        progress(format!("scratch directory kept: {}", kept.display()));
    }
    if options.write {
        if options.is_complete() {
            let path = repository.join("BENCHMARKS.md");
            let analysis = std::fs::read_to_string(&path)
                .ok()
                .and_then(|text| {
                    text.split_once(ANALYSIS_MARKER)
                        .map(|(_, kept)| kept.to_owned())
                })
                .unwrap_or_else(|| DEFAULT_ANALYSIS.to_owned());
            std::fs::write(&path, benchmarks_markdown(&machine, &report, &analysis))
                .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
            progress(format!("wrote {}", path.display()));
        } else {
            progress(
                "partial run (--quick, --only, --sizes, --mix-only or --provider): BENCHMARKS.md left unchanged",
            );
        }
    }
    Ok(())
}

/// The rows of a section, or one row saying why it could not run.
fn section(metric: &str, result: Result<Vec<Row>, String>) -> Vec<Row> {
    match result {
        Ok(rows) => rows,
        Err(why) => {
            progress(format!("({metric}) failed: {why}"));
            vec![Row::not_measured(
                &format!("{metric}0"),
                format!("metric ({metric})"),
                format!("the measurement failed: {}", first_line(&why)),
            )]
        }
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// The whole `BENCHMARKS.md`.
fn benchmarks_markdown(machine: &Machine, report: &Report, analysis: &str) -> String {
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let (met, missed) = report.tally();
    let missed_list: String = report
        .rows
        .iter()
        .filter(|row| row.verdict == bench::Verdict::Missed)
        .map(|row| {
            format!(
                "- **{}** {}: {} (target {}). {}\n",
                row.id,
                row.figure,
                row.value,
                row.target,
                row.note.as_deref().unwrap_or("")
            )
        })
        .collect();
    let missed_section = if missed_list.is_empty() {
        "Every target of this run is met.\n".to_owned()
    } else {
        missed_list
    };
    format!(
        "# Benchmarks\n\n\
         The suite of `docs/development/benchmark-method.md` (issue 8; section titles quoted below are that page's), written by the command below. Everything above \
         the analysis marker is rewritten by every complete run; the analysis below it is kept.\n\n\
         ```sh\n{COMMAND}\n```\n\n\
         It builds the release provider itself (`cargo build --release -p terraform-provider-vnetpeer`, \
         with and without `--features test-fixtures`), then measures against the real `terraform` \
         and the in-process emulator. Options: `--quick`, `--only LETTERS`, `--provider PATH`, \
         `--no-write`, `--keep` (partial runs never rewrite this file).\n\n\
         Run at {date}.\n\n## Machine\n\n{}\n## Figures\n\n{met} targets met, {missed} missed.\n\n{}\n\
         ## Targets not met\n\n{missed_section}\n## Method\n\n{METHOD}\n{ANALYSIS_MARKER}{analysis}",
        machine.markdown(),
        report.table(),
    )
}

/// Everything after this line of `BENCHMARKS.md` is written by people and kept across runs.
const ANALYSIS_MARKER: &str = "<!-- analysis below: written by hand, kept by vnetpeer-bench -->\n";

const DEFAULT_ANALYSIS: &str =
    "\n## Analysis\n\n(Why each missed target is missed, and what would fix it.)\n";

const METHOD: &str = "\
- (a) The provider is started as Terraform starts it (magic cookie, `PLUGIN_PROTOCOL_VERSIONS`, a \
Unix socket directory, a P-521 `PLUGIN_CLIENT_CERT`); the time runs from spawn to the first \
stdout line, and VmRSS/VmHWM are read from `/proc/<pid>/status` right after it. The floors are \
measured in the same interleaved loop: the same binary without `PLUGIN_CLIENT_CERT`, and a bare \
exec of `true`. The 'Rust reference figures' floor (2.87 ms against a 0.93 ms bare exec) is scaled to this machine \
through the bare exec.\n\
- (b) Latency: Terraform's side of the connection (`vnetpeer::plugin::client::dial`, mutual TLS, \
h2) calls GetProviderSchema 1,000 times on one channel after 20 warm-up calls; size is the \
protobuf encoding of the response. Calls per command: Terraform's own `TF_LOG=trace` log logs \
`GRPCProvider.v6: GetProviderSchema` for every call that reaches a provider and `returning \
cached schema` when its cache answered.\n\
- (c) Each configuration gets a fresh workspace and runs `plan -out`, `apply` of that plan, \
`plan` (refresh) and `destroy -auto-approve` at the default parallelism 10. Terraform runs under \
GNU time; the provider is installed through `dev_overrides` as a wrapper script that runs it under \
GNU time, so every provider process reports its own CPU and peak RSS. Core CPU = Terraform's \
rusage (which includes its reaped children) minus the providers' CPU. Floors: `terraform_data` \
(no plugin process at all) and `vnetpeer_test_fixture` (same binary, no network; it keeps one \
small JSON file per object, written with a rename, which is part of its CPU).\n\
With the resources registered, the mix of 'Harness' (40% `vnetpeer_aad_app`, 20% \
`vnetpeer_service_principal` adopting the apps' own, 15% `vnetpeer_role_assignment`, 5% \
`vnetpeer_custom_role`, 10% `vnetpeer_aiven_vpc_peering` and 10% \
`vnetpeer_cross_tenant_vnet_peering`, one extra customer VNet per peering) runs against the \
emulator with every wait at zero ('Harness'); its overhead is its wall time minus that of \
`vnetpeer_test_fixture` in the same graph (the plugin floor of 'Floor reference') minus the waits the emulator \
imposes along the critical chain (none with zero waits; peering writes the emulator refused \
because another operation held the VNet are counted from the request log). `terraform_data` in \
the same graph is shown alongside.\n\
- (d) The runbook of `examples/provider/runbook` against the emulator (delays 1 ms): `validate`, \
`plan -out`, `apply`, `plan -refresh=false`, `plan`, `destroy`, counting the provider's own token \
requests, the provider launches (GNU time wrapper) and the TCP connections per service (client \
ends in `/proc/net/tcp`, sampled every 2 ms). Then each resource is cut out into a workspace of \
its own (its configured arguments as literals, its state entry) and read (`plan \
-refresh-only`), deleted (`destroy -refresh=false`) and created (`plan -refresh=false -out`, \
`apply`) there, dependents first, so every request of those commands is that resource's. Minimum \
per operation: 'Minimum round trips per resource' with one poll per wait; token requests made with a \
credential the resource created count as the resource's.\n\
- (e) Six runbook applies and destroys, each with one set of delays (LRO 0.5/2 s with \
`Retry-After` 0.2/1 s or none, Aiven setup 0/0.5/2 s, Graph replication 0/0.5/2 s), the rest \
1 ms. `t_flip` = arrival of the request that started the wait + the delay; the first poll \
arriving at or after it is the first that can see the change (the emulator evaluates delayed \
effects on arrival).\n\
- (f) 50 role assignments (one per seeded user) applied and destroyed at parallelism 10 while \
the emulator enforces ARM's write and delete buckets scaled to 20 + 3/s; the span of the PUTs \
(DELETEs) in the request log against (50 − 20) / 3 s. Then one 429 each with a fractional (1.5 s) \
and an HTTP-date (2 s) `Retry-After`, injected as faults.\n\
- (g) `plan` with no changes and 1, 3 and 11 provider configurations (the default one plus \
aliases, one `vnetpeer_test_fixture` each), after an unmeasured `apply`. The provider runs as a \
child of a bash wrapper that records `times` (CPU of the child at millisecond resolution; GNU \
time truncates to 10 ms); a sampler reads `/proc` every 2 ms and sums the VmRSS of the live \
provider processes (the largest sum is the simultaneous RSS, its integral Σ RSS × lifetime).\n\
- (i) `examples/complete` (the runbook as a module) applied and destroyed with delays scaled \
down from the realistic preset \
(listed in the row). The floor is the sum of the waits the emulator imposes along the critical \
chain (`runbook.rs`, `create_floor`/`destroy_floor`), the peer model the fixed waits of \
'Peer minimum vs physical minimum' along the same chain.\n\
- (h) Size of the release binary built without test features (release profile: thin LTO, \
`codegen-units = 4`, stripped, `panic = abort`) and of the zip `cargo xtask dist --binary` makes \
of it.\n\
- Wall times come from one run on a shared machine: read them as ratios, and expect noise \
of tens of percent on a 2-core box where other work runs.\n";
