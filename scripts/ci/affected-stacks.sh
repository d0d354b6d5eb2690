#!/usr/bin/env bash
# Prints `stacks=<JSON list>` for $GITHUB_OUTPUT: the stacks a pull request affects, since the
# base commit $1. A change of the tool itself affects every stack.
set -euo pipefail
base=$1
changed=$(git diff --name-only "$base"...HEAD)
if grep -qE '^(src/|Cargo\.(toml|lock)$)' <<<"$changed"; then
    names=$(find stacks -maxdepth 1 -name '*.yaml' -printf '%f\n' | sed 's/\.yaml$//' | sort)
else
    names=$(grep -E '^stacks/[^/]+\.yaml$' <<<"$changed" | sed 's|^stacks/||; s/\.yaml$//' | sort -u || true)
    # a removed stack file has nothing left to plan
    names=$(for n in $names; do [ -f "stacks/$n.yaml" ] && echo "$n"; done)
fi
printf 'stacks=%s\n' "$(printf '%s\n' $names | jq -R . | jq -cs 'map(select(. != ""))')"
