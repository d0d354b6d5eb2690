#!/usr/bin/env bash
# notify-failure.sh STACK WHAT: tells every configured channel that the nightly job of STACK
# failed (WHAT: which part), with a link to the run (RUN_URL). It covers what ssm-keeper backup
# cannot say itself: a failed verify, or a backup that never ran (the build, the role). JOB names
# another job (the weekly restore drill: JOB="weekly SSM restore drill").
#  - Slack when SLACK_WEBHOOK_URL is set;
#  - e-mail to OPS_EMAIL (comma-separated) when OPS_EMAIL, SMTP_HOST and SMTP_FROM are set,
#    through SMTP_HOST:SMTP_PORT (587 by default) with STARTTLS required, as ssm-keeper's own
#    e-mail: SMTP_USERNAME/SMTP_PASSWORD when set, SMTP_CA_BUNDLE trusted besides the system's.
# An unset channel is skipped with a notice. A configured channel that cannot be reached is a
# warning, the others are still told, and the exit code is 1.
set -uo pipefail
stack=$1
what=$2
run_url=${RUN_URL:-}
job=${JOB:-nightly SSM backup}
text="$job of \`$stack\` failed ($what): $run_url"
failed=0

if [ -n "${SLACK_WEBHOOK_URL:-}" ]; then
    if ! curl --fail --silent --show-error --output /dev/null --max-time 60 -X POST -H 'content-type: application/json' \
        --data "$(jq -n --arg text ":x: $text" '{text: $text}')" "$SLACK_WEBHOOK_URL"; then
        echo "::warning::the Slack notification of $stack's failure could not be sent"
        failed=1
    fi
else
    echo "::notice::SLACK_WEBHOOK_URL is not set: no Slack notification"
fi

if [ -n "${OPS_EMAIL:-}" ] && [ -n "${SMTP_HOST:-}" ] && [ -n "${SMTP_FROM:-}" ]; then
    # The bare address of `Name <address>`.
    from=$(sed -E 's/.*<([^>]*)>.*/\1/' <<<"$SMTP_FROM")
    args=(--ssl-reqd --max-time "${SMTP_TIMEOUT:-60}" --mail-from "$from")
    IFS=',' read -ra recipients <<<"$OPS_EMAIL"
    for to in "${recipients[@]}"; do
        to=$(xargs <<<"$to")
        [ -n "$to" ] && args+=(--mail-rcpt "$to")
    done
    if [ -n "${SMTP_USERNAME:-}" ]; then
        args+=(--user "$SMTP_USERNAME:${SMTP_PASSWORD:-}")
    fi
    if [ -n "${SMTP_CA_BUNDLE:-}" ]; then
        args+=(--cacert "$SMTP_CA_BUNDLE")
    fi
    message=$(printf 'From: %s\r\nTo: %s\r\nSubject: [FAIL] SSM backup %s: %s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n' \
        "$SMTP_FROM" "$OPS_EMAIL" "$stack" "$what" "$text")
    if ! curl --silent --show-error "${args[@]}" --upload-file - \
        "smtp://$SMTP_HOST:${SMTP_PORT:-587}" <<<"$message"; then
        echo "::warning::the e-mail about $stack's failure could not be sent to $OPS_EMAIL"
        failed=1
    fi
else
    echo "::notice::OPS_EMAIL, SMTP_HOST or SMTP_FROM is not set: no e-mail"
fi
exit "$failed"
