#!/usr/bin/env bash
# The README's quick start, literally, in this checkout (CI runs it in its
# fresh clone after `npm ci`, which is `npm install` for a lock file):
# `npm start` on the bundled example, the dashboard's health answering, then
# the `./hearth` commands the README gives. Fails with the step that broke.
set -euo pipefail
cd "$(dirname "$0")/.."
port=8080
log=$(mktemp "${TMPDIR:-/tmp}/hearth-readme-check.XXXXXX")
pid=
# Stops npm and hearth (one process group) and waits until every process of it is gone.
stop() {
  [ -n "$pid" ] || return 0
  kill -- -"$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 -- -"$pid" 2>/dev/null || break; sleep 0.25; done
  kill -9 -- -"$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
fail() { echo "readme-check: $*" >&2; echo "--- npm start's output:" >&2; tail -n 30 "$log" >&2; exit 1; }
trap stop EXIT

if curl -sf "http://127.0.0.1:$port/api/health" >/dev/null 2>&1; then
  echo "readme-check: something already answers on port $port; skipping (the check needs the README's port)"; exit 0
fi
set -m
npm start >"$log" 2>&1 &
pid=$!
set +m
for _ in $(seq 1 60); do
  curl -sf "http://127.0.0.1:$port/api/health" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || fail "npm start exited"
  sleep 0.5
done
curl -sf "http://127.0.0.1:$port/api/health" >/dev/null || fail "/api/health did not answer within 30 s"
grep -q "open http://" "$log" || fail "the start log names no address to open"
grep -q 'run `./hearth passwd`' "$log" || fail "the start log does not give the README's ./hearth passwd"

jobs=$(./hearth jobs) || fail "./hearth jobs failed"
grep -q daily-report <<<"$jobs" || fail "./hearth jobs does not list daily-report"
./hearth run daily-report --wait >/dev/null 2>&1 || fail "./hearth run daily-report --wait failed"
./hearth runs | grep -q daily-report || fail "./hearth runs does not show the run"
./hearth inbox >/dev/null || fail "./hearth inbox failed"
echo "readme-check: npm start, /api/health, ./hearth jobs, run --wait, runs and inbox work as the README says"
