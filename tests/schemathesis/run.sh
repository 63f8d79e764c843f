#!/usr/bin/env bash
# Schemathesis over the whole OpenAPI schema, against a real server: `bash .ci/run` runs
# it, and so can a developer (`bash tests/schemathesis/run.sh`, after `make install-dev`).
#
# It starts `manage.py runserver` on a free loopback port with a throwaway database (the
# one in SCHEMATHESIS_DATABASE_URL, which it migrates and seeds and which should be
# empty; SQLite in a temporary folder otherwise), signs in as the seeded Super-Admin
# through POST /admin/api/v1/auth/admin and fuzzes every operation of the schema served
# at /admin/api/schema/: the admin API and the device endpoints. The seed, the run's
# length and the checks are fixed, so a run is repeatable. Extra arguments go to
# `schemathesis run` (e.g. --max-time 60). The server's log is printed when a check fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tests/schemathesis
py=.venv/bin/python

work="$(mktemp -d)"
server_pid=""
fake_pids=""
cleanup() {
  for pid in $server_pid $fake_pids; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# The server's environment, and only its own: the suite's database and Redis stay apart.
unset DATABASE_URL CACHE_URL CELERY_BROKER_URL CELERY_RESULT_BACKEND
export DEBUG=true DATA_DIR="$work/data" LOG_LEVEL=WARNING
if [ -n "${SCHEMATHESIS_DATABASE_URL:-}" ]; then
  export DATABASE_URL="$SCHEMATHESIS_DATABASE_URL"
fi
# One server process, so its own memory holds the rate-limit counters; queued tasks
# (site provisioning, license syncs) stay in memory too and never run.
export CACHE_URL="locmem://" CELERY_BROKER_URL="memory://" CELERY_RESULT_BACKEND="cache+memory://"
# Fuzzing sends thousands of device requests from one address, most with made-up tokens
# and codes: the production limits would answer 429 after 30 of them and leave the rest
# of the run untested. Generous limits, for this server only, keep every request
# reaching the endpoint (429 is still in the schema and tested by the suite).
export DEVICE_RATE_PER_IP="1000000/min" DEVICE_RATE_PER_TOKEN="1000000/min"
export DEVICE_FAILURES_PER_IP="1000000/hour"
export CODE_FAILURES_MAX="1000000/hour" CODE_GUESS_ODDS_PER_DAY=1 CODE_REDEMPTIONS_PER_CUSTOMER="1000000/min"
# The login is fuzzed too (random usernames and passwords): no lock-out for this server.
export LOGIN_FAILURE_LIMIT=1000000
# One access token serves the whole run.
export JWT_ACCESS_MINUTES=120

# Hypothesis' own files (its Unicode tables) go with the rest, not into the work tree.
export HYPOTHESIS_STORAGE_DIRECTORY="$work/hypothesis"

SCHEMATHESIS_PASSWORD="$("$py" -c 'import secrets; print(secrets.token_urlsafe(24))')"
export SCHEMATHESIS_PASSWORD

echo "-- database: migrate and seed"
"$py" manage.py migrate --no-input -v 0
SCHEMATHESIS_USER_ID="$("$py" "$here/seed.py")"
export SCHEMATHESIS_USER_ID

free_port() {
  "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The ZTP operations call the vendors: the fake SRAPS, GRAPE and YMCS on loopback stand in
# for them (as in the suite), so those operations are fuzzed through to a vendor that
# answers (with the key below when the fuzzer happens to send it).
sraps_port="$(free_port)" grape_port="$(free_port)" ymcs_port="$(free_port)"
vendor_secret="$("$py" -c 'import secrets; print(secrets.token_urlsafe(24))')"
"$py" manage.py run_fake_sraps --port "$sraps_port" --key-id fuzz-key \
  --secret "$vendor_secret" >"$work/sraps.log" 2>&1 &
fake_pids="$!"
"$py" manage.py run_fake_sraps --grape --port "$grape_port" --key-id fuzz-key \
  --secret "$vendor_secret" >"$work/grape.log" 2>&1 &
fake_pids="$fake_pids $!"
"$py" manage.py run_fake_ymcs --port "$ymcs_port" --client-id fuzz-key \
  --secret "$vendor_secret" >"$work/ymcs.log" 2>&1 &
fake_pids="$fake_pids $!"
export ZTP_SNOM_API_URL="http://127.0.0.1:$sraps_port/api/v1"
export ZTP_GIGASET_API_URL="http://127.0.0.1:$grape_port/api/v1"
export ZTP_YEALINK_API_URL="http://127.0.0.1:$ymcs_port"

port="$(free_port)"
base="http://127.0.0.1:$port"
echo "-- server: $base"
"$py" manage.py runserver --noreload --skip-checks "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 60); do
  if curl -sf -o /dev/null "$base/admin/api/schema/"; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/server.log"; exit 1; fi
  sleep 0.5
done

login="$(curl -sf -X POST "$base/admin/api/v1/auth/admin" -H 'content-type: application/json' \
  --data "{\"username\": \"fuzz-admin\", \"password\": \"$SCHEMATHESIS_PASSWORD\"}")"
access="$(printf '%s' "$login" | "$py" -c 'import json, sys; print(json.load(sys.stdin)["accessToken"])')"

echo "-- schemathesis $(.venv/bin/schemathesis --version | awk '{print $NF}')"
export SCHEMATHESIS_DROPPED_LOG="$work/dropped.log"
status=0
# The run normally takes three to four minutes on two cores; past the limit it is stopped
# (and fails), so CI stays bounded whatever happens to the server.
SCHEMATHESIS_HOOKS="$here/hooks.py" timeout --kill-after=30 "${SCHEMATHESIS_TIMEOUT:-600}" \
  .venv/bin/schemathesis \
  --config-file "$here/schemathesis.toml" --no-color \
  run "$base/admin/api/schema/" --url "$base" \
  -H "Authorization: Bearer $access" \
  "$@" || status=$?
if [ -s "$SCHEMATHESIS_DROPPED_LOG" ]; then
  echo "-- refusals the schema cannot express, dropped by hooks.py (count, operation: kind)"
  sort "$SCHEMATHESIS_DROPPED_LOG" | uniq -c | sort -rn
fi
if [ "$status" -ne 0 ]; then
  echo "-- server log: everything but the request lines of 2xx, 3xx and 4xx answers"
  grep -Ev '" [234][0-9][0-9] [0-9-]+$|^(Bad Request|Not Found|Unauthorized|Forbidden|Method Not Allowed|Conflict|Gone|Payload Too Large|Unsupported Media Type|Too Many Requests|Unprocessable Content): ' \
    "$work/server.log" | tail -n 300 || true
fi
exit "$status"
