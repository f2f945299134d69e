//! `vnetpeer-sandbox`: runs the emulator alone on loopback and prints the provider settings that
//! point at it, so module authors can run `terraform apply` offline.
//!
//! ```text
//! vnetpeer-sandbox [--realistic] [--port-base N] [--env-file PATH] [--json] [--credential TYPE]
//! ```
//!
//! `--credential` rehearses a pipeline's or host's sign-in: the sandbox sets up the CI token
//! issuer, token file or managed-identity endpoint and prints the variables that platform sets.

use std::process::ExitCode;

use vnetpeer_emulator::emulator::StartOptions;
use vnetpeer_emulator::identity_hosts;
use vnetpeer_emulator::{Emulator, Knobs};

const USAGE: &str = "usage: vnetpeer-sandbox [--realistic] [--port-base N] [--env-file PATH] [--json]
                        [--credential TYPE]

  --realistic      delays close to the real services (seconds) instead of the test preset
  --port-base N    listen on N (login), N+1 (graph), N+2 (arm), N+3 (aiven), N+4 (admin)
  --env-file PATH  also write the settings to PATH as KEY=value lines
  --json           print the settings as one JSON line instead of export lines
  --credential T   sign in as a pipeline or host would: client-secret (default), github-actions,
                   azure-devops, token-file, aks-workload-identity, hcp-terraform, app-service,
                   azure-arc (provider builds with the test-fixtures feature), vm-imds, cloud-shell";

struct Options {
    realistic: bool,
    port_base: Option<u16>,
    env_file: Option<String>,
    json: bool,
    credential: String,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        realistic: false,
        port_base: None,
        env_file: None,
        json: false,
        credential: "client-secret".to_owned(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--realistic" => options.realistic = true,
            "--json" => options.json = true,
            "--port-base" => {
                let value = args.next().ok_or("--port-base needs a port number")?;
                let port: u16 = value
                    .parse()
                    .map_err(|_| format!("--port-base: '{value}' is not a port number"))?;
                if port > u16::MAX - 4 {
                    return Err(format!("--port-base: {port} leaves no room for five ports"));
                }
                options.port_base = Some(port);
            }
            "--env-file" => {
                options.env_file = Some(args.next().ok_or("--env-file needs a path")?);
            }
            "--credential" => {
                options.credential = args.next().ok_or("--credential needs a type")?;
                if !identity_hosts::CREDENTIAL_KINDS.contains(&options.credential.as_str()) {
                    return Err(format!(
                        "--credential: unknown type '{}'",
                        options.credential
                    ));
                }
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    Ok(options)
}

/// The provider settings, in print order: those every user of the emulator sets, the admin API
/// (for scripts that inject faults), and the runbook's variables.
fn settings(emulator: &Emulator) -> Vec<(&'static str, String)> {
    let mut settings = emulator.provider_env();
    settings.push((
        "VNETPEER_EMULATOR_ADMIN",
        emulator.endpoints().admin.clone(),
    ));
    settings.extend(emulator.runbook_variables());
    settings
}

fn tempfile_dir() -> std::io::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("vnetpeer-sandbox-")
        .tempdir()
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("vnetpeer-sandbox: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let knobs = if options.realistic {
        Knobs::realistic()
    } else {
        Knobs::test()
    };
    let start = StartOptions {
        port_base: options.port_base,
    };
    let emulator = match Emulator::try_start(knobs, start).await {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("vnetpeer-sandbox: cannot listen on 127.0.0.1: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut settings = settings(&emulator);
    // Token and key files of the rehearsed platform; removed when the sandbox stops.
    let scratch = match tempfile_dir() {
        Ok(dir) => dir,
        Err(error) => {
            eprintln!("vnetpeer-sandbox: cannot create a scratch directory: {error}");
            return ExitCode::FAILURE;
        }
    };
    let _rotation =
        match identity_hosts::credential_settings(&emulator, &options.credential, scratch.path()) {
            Ok((overrides, rotation)) => {
                for (name, value) in overrides {
                    match settings.iter_mut().find(|(existing, _)| *existing == name) {
                        Some(slot) => slot.1 = value,
                        None => settings.push((name, value)),
                    }
                }
                rotation
            }
            Err(message) => {
                eprintln!("vnetpeer-sandbox: {message}");
                return ExitCode::from(2);
            }
        };
    if let Some(path) = &options.env_file {
        let text: String = settings
            .iter()
            .map(|(name, value)| format!("{name}={value}\n"))
            .collect();
        if let Err(error) = std::fs::write(path, text) {
            eprintln!("vnetpeer-sandbox: cannot write {path}: {error}");
            return ExitCode::FAILURE;
        }
    }
    if options.json {
        let env: serde_json::Map<String, serde_json::Value> = settings
            .iter()
            .map(|(name, value)| ((*name).to_owned(), serde_json::json!(value)))
            .collect();
        let line = serde_json::json!({
            "env": env,
            "endpoints": emulator.endpoints(),
        });
        println!("{line}");
    } else {
        for (name, value) in &settings {
            println!("export {name}='{value}'");
        }
        let seed = emulator.seed();
        println!(
            "# Aiven organization {} has organization VPC {} ({}, {}): set \
             TF_VAR_aiven_organization_id to peer it instead of the project VPC",
            seed.aiven_organization_id,
            seed.aiven_organization_vpc_id,
            seed.aiven_cloud_name,
            seed.aiven_organization_vpc_cidr
        );
        println!(
            "# vnetpeer-sandbox: serving; admin API at {}; stop with Ctrl-C",
            emulator.endpoints().admin
        );
    }
    wait_for_stop_signal().await;
    emulator.shutdown().await;
    ExitCode::SUCCESS
}
