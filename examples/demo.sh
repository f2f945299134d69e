#!/usr/bin/env bash
# The project's job in one command, offline: build the provider and the vnetpeer-sandbox
# emulator, start the sandbox, peer its customer VNet with its Aiven project VPC by applying
# examples/complete (through the aiven-vnet-peering module), print the outputs, destroy
# everything again and stop the sandbox.
#
# Run from the repository root:   bash examples/demo.sh
# Needs: cargo (Rust 1.88+), terraform 1.11+. Nothing reaches Azure or Aiven.
#
# Options (environment):
#   DEMO_REALISTIC=1   the sandbox's realistic delays (seconds per step instead of milliseconds)
#   DEMO_KEEP=1        keep the working directory (state, trace log) for a look afterwards
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf '\ndemo failed: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null || fail "cargo is not on PATH (install Rust from https://rustup.rs)"
command -v terraform >/dev/null || fail "terraform is not on PATH (Terraform 1.11 or newer)"

work="$(mktemp -d "${TMPDIR:-/tmp}/vnetpeer-demo.XXXXXX")"
sandbox_pid=""
cleanup() {
    local status=$?
    if [[ -n "$sandbox_pid" ]] && kill -0 "$sandbox_pid" 2>/dev/null; then
        step "Stopping the sandbox (pid $sandbox_pid)"
        kill "$sandbox_pid" 2>/dev/null || true
        wait "$sandbox_pid" 2>/dev/null || true
    fi
    if [[ "${DEMO_KEEP:-0}" == 1 ]]; then
        echo "Working directory kept: $work"
    else
        rm -rf "$work"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "Building the provider and vnetpeer-sandbox (debug build; the first build takes a few minutes)"
cargo build \
    -p terraform-provider-vnetpeer -p vnetpeer-emulator \
    --bin terraform-provider-vnetpeer --bin vnetpeer-sandbox
target_dir="$(cargo metadata --format-version 1 --no-deps \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
bin_dir="${target_dir:-$repo/target}/debug"
[[ -x "$bin_dir/terraform-provider-vnetpeer" ]] || fail "no provider binary in $bin_dir"

step "Starting the sandbox: Entra ID, Microsoft Graph, Azure Resource Manager and Aiven on loopback"
sandbox_args=(--env-file "$work/sandbox.env")
if [[ "${DEMO_REALISTIC:-0}" == 1 ]]; then
    sandbox_args+=(--realistic)
fi
"$bin_dir/vnetpeer-sandbox" "${sandbox_args[@]}" >"$work/sandbox.log" 2>&1 &
sandbox_pid=$!
for _ in $(seq 1 100); do
    grep -q '^TF_VAR_aiven_vnet_id=' "$work/sandbox.env" 2>/dev/null && break
    kill -0 "$sandbox_pid" 2>/dev/null || fail "the sandbox exited: $(cat "$work/sandbox.log")"
    sleep 0.1
done
grep -q '^TF_VAR_aiven_vnet_id=' "$work/sandbox.env" 2>/dev/null || fail "the sandbox did not start"
# The provider settings a user would export: endpoints, the operator's credentials, the Aiven
# token, and the sandbox's ids as TF_VAR_* (values are exported, never printed).
while IFS= read -r line; do
    [[ -n "$line" ]] && export "${line?}"
done <"$work/sandbox.env"
echo "Sandbox up (pid $sandbox_pid):"
echo "  Entra ID       $VNETPEER_AUTHORITY_HOST"
echo "  Graph          $VNETPEER_MICROSOFT_GRAPH_ENDPOINT"
echo "  ARM            $VNETPEER_RESOURCE_MANAGER_ENDPOINT"
echo "  Aiven          $AIVEN_WEB_URL"
echo "  customer VNet  $TF_VAR_customer_vnet_id"
echo "  Aiven project  $TF_VAR_aiven_project ($TF_VAR_aiven_cloud_name)"

step "Pointing Terraform at the local provider build (dev_overrides: no registry, no terraform init)"
cat >"$work/terraformrc" <<EOF
provider_installation {
  dev_overrides {
    "registry.terraform.io/vnetpeer/vnetpeer" = "$bin_dir"
  }
  direct {}
}
disable_checkpoint = true
EOF
export TF_CLI_CONFIG_FILE="$work/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
export TF_LOG_PATH="$work/terraform-trace.log" TF_LOG="${TF_LOG:-}"
# The configuration and the module it calls, with their relative layout.
mkdir -p "$work/examples"
cp -R examples/complete examples/modules "$work/examples/"
config="$work/examples/complete"
echo "Configuration: examples/complete (module examples/modules/aiven-vnet-peering), copied to $config"
# Local modules are linked by `terraform get` (offline; `terraform init` is not needed for a
# dev_overrides provider).
terraform -chdir="$config" get >/dev/null

step "terraform apply: the whole runbook in one apply (app, roles, Aiven peering, Azure peering, wait for ACTIVE)"
started=$SECONDS
terraform -chdir="$config" apply -auto-approve -input=false
echo "Applied in $((SECONDS - started)) s."

step "terraform output"
terraform -chdir="$config" output
state="$(terraform -chdir="$config" output -raw aiven_peering_state)"
azure_state="$(terraform -chdir="$config" output -raw azure_peering_state)"
[[ "$state" == ACTIVE ]] || fail "Aiven reports $state, not ACTIVE"
[[ "$azure_state" == Connected ]] || fail "the Azure peering is $azure_state, not Connected"
echo "Aiven reports the peering ACTIVE; the Azure side is Connected."

step "terraform plan: nothing left to change"
terraform -chdir="$config" plan -detailed-exitcode -input=false >"$work/plan.txt" \
    || fail "the plan after apply is not empty: $(cat "$work/plan.txt")"
echo "No changes."

step "terraform destroy: every piece removed in reverse order"
terraform -chdir="$config" destroy -auto-approve -input=false

if command -v curl >/dev/null; then
    step "Requests the real services would have refused (the sandbox's violation log)"
    curl -fsS "$VNETPEER_EMULATOR_ADMIN/violations"
    echo
fi

step "Done: one apply built the private peering, one destroy removed it."
