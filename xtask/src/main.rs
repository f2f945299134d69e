//! `cargo xtask <task>`: see the library documentation (`xtask/src/lib.rs`) for the tasks.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use xtask::{dist, docs, test_command};

const USAGE: &str = "\
usage: cargo xtask <task> [options]

tasks:
  test [-- <cargo test args>]   build the binaries, run every test, check that docs/ is up to date
  docs [--check] [--provider-bin <path>]
                                render docs/ from the provider schema, examples/ and templates/;
                                --check only reports the files that differ
  dist [--version <v>] [--gpg-key <id>] [--out <dir>] [--binary <path> [--platform <os_arch>]]
                                release build and registry archives, manifest, SHA256SUMS (+ .sig)
";

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(task) = args.next() else {
        eprint!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let rest: Vec<OsString> = args.collect();
    let outcome = match task.to_str() {
        Some("test") => parse_test(rest).and_then(|options| test_command::run(&options)),
        Some("docs") => parse_docs(rest).and_then(|options| docs::run(&options)),
        Some("dist") => parse_dist(rest).and_then(|options| dist::run(&options)),
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown task {task:?}\n{USAGE}").into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn parse_test(args: Vec<OsString>) -> xtask::Result<test_command::TestOptions> {
    let mut args = args.into_iter();
    let mut options = test_command::TestOptions::default();
    if let Some(first) = args.next() {
        if first != "--" {
            return Err(format!("`cargo xtask test`: unexpected argument {first:?} (pass cargo test arguments after `--`)").into());
        }
        options.cargo_test_args = args.collect();
    }
    Ok(options)
}

fn parse_docs(args: Vec<OsString>) -> xtask::Result<docs::DocsOptions> {
    let mut options = docs::DocsOptions::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--check") => options.check = true,
            Some("--provider-bin") => {
                options.provider_binary = Some(path_value(&mut args, "--provider-bin")?)
            }
            _ => return Err(format!("`cargo xtask docs`: unexpected argument {arg:?}").into()),
        }
    }
    Ok(options)
}

fn parse_dist(args: Vec<OsString>) -> xtask::Result<dist::DistOptions> {
    let mut options = dist::DistOptions::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--version") => options.version = Some(string_value(&mut args, "--version")?),
            Some("--gpg-key") => options.gpg_key = Some(string_value(&mut args, "--gpg-key")?),
            Some("--out") => options.out_dir = Some(path_value(&mut args, "--out")?),
            Some("--binary") => options.binary = Some(path_value(&mut args, "--binary")?),
            Some("--platform") => options.platform = Some(string_value(&mut args, "--platform")?),
            _ => return Err(format!("`cargo xtask dist`: unexpected argument {arg:?}").into()),
        }
    }
    Ok(options)
}

fn path_value(args: &mut impl Iterator<Item = OsString>, flag: &str) -> xtask::Result<PathBuf> {
    match args.next() {
        Some(value) => Ok(PathBuf::from(value)),
        None => Err(format!("{flag} needs a value").into()),
    }
}

fn string_value(args: &mut impl Iterator<Item = OsString>, flag: &str) -> xtask::Result<String> {
    match args.next().map(OsString::into_string) {
        Some(Ok(value)) => Ok(value),
        Some(Err(value)) => Err(format!("{flag}: {value:?} is not valid UTF-8").into()),
        None => Err(format!("{flag} needs a value").into()),
    }
}
