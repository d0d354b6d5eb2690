#!/usr/bin/env bash
# The main job end to end on a fresh local emulator: plan, apply, plan again.
set -euo pipefail
bin=${1:-target/release/ssm-keeper}
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/scripts/emulator-env.sh"
start_emulator "$here/.emulator/demo"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "ssm-keeper plan --stack dev   (empty account: everything to create, exit code 2)"
set +e; "$bin" plan --stack dev --detailed-exitcode; code=$?; set -e
echo "exit code: $code"; [ "$code" -eq 2 ]

step "ssm-keeper apply --stack dev --auto-approve"
"$bin" apply --stack dev --auto-approve

step "ssm-keeper plan --stack dev --detailed-exitcode   (converged: no changes, exit code 0)"
"$bin" plan --stack dev --detailed-exitcode
echo "exit code: 0"

step "ssm-keeper outputs --stack dev"
"$bin" outputs --stack dev
