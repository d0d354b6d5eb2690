#!/usr/bin/env bash
# release-notes.sh VERSION: prints the CHANGELOG.md section of VERSION (without its heading), the
# release's notes; fails when there is none, so that no release goes out undescribed.
set -euo pipefail
version=$1
notes=$(awk -v heading="## [$version]" '
    index($0, heading) == 1 { found = 1; next }
    found && /^## \[/ { exit }
    found { print }
' CHANGELOG.md)
if [ -z "$(tr -d '[:space:]' <<<"$notes")" ]; then
    echo "CHANGELOG.md has no section \"## [$version]\": describe the release first" >&2
    exit 1
fi
printf '%s\n' "$notes"
