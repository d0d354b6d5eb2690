#!/usr/bin/env bash
# apply-reviewed.sh BINARY STACK: applies plan-STACK.json (the plan reviewed in the pull
# request) if it is there and still valid: made from stacks/STACK.yaml exactly as it is in this
# checkout (ssm-keeper compares the file's SHA-256 with the plan's), and live AWS unmoved. If it
# is missing, or ssm-keeper refuses it (another stack file, stale, or not what the stack calls
# for), plans afresh into the job summary and fails, so that a person reviews the new plan before
# anything is applied. Re-running the job would fetch the same refused plan: the way on is a
# manual run of the apply workflow (workflow_dispatch), which plans main's stack into its summary
# and applies that plan after the environment's approval.
set -uo pipefail
bin=$1
stack=$2
saved="plan-$stack.json"
summary=${GITHUB_STEP_SUMMARY:-/dev/stderr}

if [ -f "$saved" ]; then
    "$bin" apply --plan "$saved" --stack "$stack" --auto-approve 2> >(tee apply-stderr.txt >&2)
    code=$?
    [ "$code" -eq 0 ] && exit 0
    if ! grep -qE 'is stale|does not match what its stack calls for|is not the file this plan was made from|is not the stack file the saved plan' apply-stderr.txt; then
        exit "$code"
    fi
    echo "::warning::the plan reviewed for $stack no longer matches its stack file or live AWS: planning afresh"
else
    echo "::warning::no reviewed plan found for $stack: planning afresh"
fi
recovery="run the apply workflow by hand (Actions > apply > Run workflow, branch main, stack $stack): it plans main's stack into its run summary and applies that plan once the production environment is approved"
{
    echo "## The plan of \`$stack\` as it is now: nothing was applied"
    echo
    echo "Re-running this job would fetch the same refused plan. To apply, $recovery."
    echo
    "$bin" plan --stack "$stack" --format markdown
} >> "$summary"
echo "::error::nothing was applied to $stack: $recovery"
exit 1
