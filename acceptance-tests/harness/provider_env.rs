//! Wires a [`TerraformWorkspace`] to an [`Emulator`]: the provider settings a user would put in
//! the environment (endpoint overrides, the operator's credentials, the Aiven token), plus a
//! `TF_LOG=trace` log file, so every test can also check that no secret leaks.

use std::path::{Path, PathBuf};

use vnetpeer_emulator::Emulator;

use crate::terraform::TerraformWorkspace;

/// What [`TerraformWorkspace::connect`] sets: the provider settings of `emulator`
/// ([`Emulator::provider_env`]) and `TF_LOG=trace` output to `log_path`.
pub fn emulator_env(emulator: &Emulator, log_path: &Path) -> Vec<(&'static str, String)> {
    let mut env = emulator.provider_env();
    env.push(("TF_LOG", "trace".to_owned()));
    env.push(("TF_LOG_PATH", log_path.display().to_string()));
    env
}

impl TerraformWorkspace {
    /// A workspace whose provider talks to `emulator` as the seeded operator identity, with
    /// trace logging to [`TerraformWorkspace::log_path`].
    pub fn for_emulator(emulator: &Emulator) -> TerraformWorkspace {
        let mut workspace = TerraformWorkspace::new();
        workspace.connect(emulator);
        workspace
    }

    /// Points the provider at `emulator` (see [`TerraformWorkspace::for_emulator`]).
    pub fn connect(&mut self, emulator: &Emulator) {
        for (name, value) in emulator_env(emulator, &self.log_path()) {
            self.set_env(name, value);
        }
    }

    /// Where `TF_LOG=trace` output of Terraform and the provider goes.
    pub fn log_path(&self) -> PathBuf {
        self.path().join("terraform-trace.log")
    }

    /// Panics, naming where, if any of `secrets` (or the emulator's seeded secrets) appears in
    /// the trace log, in anything terraform printed, or in the state outside sensitive
    /// attributes. Secrets shorter than 8 characters are ignored (they would match by chance).
    #[track_caller]
    pub fn assert_no_secret_leaks(&self, emulator: &Emulator, secrets: &[&str]) {
        let seed = emulator.seed();
        let mut all: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
        all.push(seed.operator_client_secret.expose().to_owned());
        all.push(seed.aiven_token.expose().to_owned());
        all.extend(emulator.issued_secrets());
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let transcript = self.transcript();
        for secret in all.iter().filter(|secret| secret.len() >= 8) {
            assert!(
                !log.contains(secret.as_str()),
                "a secret ({}…) appears in the TF_LOG=trace log {}",
                &secret[..3],
                self.log_path().display()
            );
            assert!(
                !transcript.contains(secret.as_str()),
                "a secret ({}…) appears in terraform's output",
                &secret[..3]
            );
        }
    }
}
