#!/usr/bin/env bash
# npm run setup:test — the Debian packages the test suite needs:
#   faketime  integration tests move the real hearth process's clock
#   chromium  dashboard end-to-end tests (playwright-core drives Debian's chromium; nothing is downloaded)
# Extra "command:package" pairs can be passed as arguments (.ci/run adds the Pi image tools).
set -euo pipefail
needed=(faketime:faketime chromium:chromium "$@")
missing=()
for pair in "${needed[@]}"; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
[ ${#missing[@]} -eq 0 ] && { echo "setup:test: everything is installed"; exit 0; }
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    exec sudo env DEBIAN_FRONTEND=noninteractive bash "$0" "$@"
  fi
  echo "setup:test: run as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup:test: installed ${missing[*]}"
