#!/bin/sh
# Writes a store with the `trailbell` binary given as $1 into $2 (a .db file): the upgrade tests'
# fixture of the version that binary is. Rules from the configuration (one with an exception) and
# from the API, and outbox rows left pending (their webhook refuses connections). Then the store
# is made small and self-contained: the WAL folded in, 1 KiB pages (VACUUM keeps every row).
set -eu
bin=$1
out=$2
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$((20000 + $$ % 20000))
cat > "$work/trailbell.toml" <<TOML
[api]
authentication = "disabled"

[destinations.hook]
type = "webhook"
endpoint = "http://127.0.0.1:9/hook"
timeout = "1s"

[[rules]]
Name = "root-sign-in"
title = "Root signed in"
severity = "high"
EventPattern = '{"source": ["aws.signin"], "detail": {"userIdentity": {"type": ["Root"]}}}'
exceptions = [{ name = "lab account", event_pattern = '{"account": ["999999999999"]}' }]
Targets = [{ Id = "hook", Arn = "hook", RetryPolicy = { MaximumRetryAttempts = 185, MaximumEventAgeInSeconds = 86400 } }]
TOML
"$bin" run --config "$work/trailbell.toml" --data-dir "$work/data" --listen "127.0.0.1:$port" \
    > "$work/out.log" 2>&1 &
pid=$!
call() {
    curl -sf "http://127.0.0.1:$port/" -H "X-Amz-Target: AWSEvents.$1" \
        -H 'Content-Type: application/x-amz-json-1.1' -d "$2"
}
until curl -sf "http://127.0.0.1:$port/health" > /dev/null; do sleep 0.2; done
call PutRule '{"Name": "api-console-login", "EventPattern": "{\"detail-type\": [\"AWS Console Sign In via CloudTrail\"]}", "Description": "put through the API"}'
call PutTargets '{"Rule": "api-console-login", "Targets": [{"Id": "hook", "Arn": "hook"}]}'
detail=$(jq -c .detail rules/events/console-login-root-no-mfa.json | jq -Rs .)
call PutEvents "{\"Entries\": [{\"Source\": \"aws.signin\", \"DetailType\": \"AWS Console Sign In via CloudTrail\", \"Detail\": $detail}]}"
echo
until "$bin" outbox status --data-dir "$work/data" | grep -q hook; do sleep 0.2; done
kill -TERM "$pid"
wait "$pid" || true
sqlite3 "$work/data/trailbell.db" 'PRAGMA journal_mode = DELETE; PRAGMA page_size = 1024; VACUUM;' > /dev/null
cp "$work/data/trailbell.db" "$out"
