#!/usr/bin/env bash
# Installs Hearth as a systemd service on Debian 13 or Raspberry Pi OS (the
# path for a Pi 5, or any machine you already run). Run it from a checkout:
#
#   sudo scripts/install.sh                 install or update, then start Hearth
#   sudo scripts/install.sh --uninstall     remove the program; keep settings and data
#   sudo scripts/install.sh --uninstall --purge   also delete /etc/hearth, /var/lib/hearth and the hearth user
#
# Idempotent: a second run with the same checkout changes nothing and does not
# restart the service. Layout:
#   /opt/hearth              the program (bin/, dist/, production node_modules for this machine)
#   /usr/local/bin/hearth    the command (runs as the hearth user, with /etc/hearth/hearth.yaml)
#   /etc/hearth/hearth.yaml  your jobs (created from examples/hearth.yaml once, never overwritten)
#   /var/lib/hearth          runs, logs, history, secrets (the service's StateDirectory)
#
# Options for image builds: --no-start (do not start or restart anything, e.g.
# in a chroot), --node-modules DIR (production node_modules already installed
# for the target machine, e.g. cross-installed for linux-arm64).
set -euo pipefail

PREFIX=/opt/hearth
BIN_LINK=/usr/local/bin/hearth
UNIT_DIR=/etc/systemd/system
CONFIG_DIR=/etc/hearth
DATA_DIR=/var/lib/hearth
SERVICE_USER=hearth
MIN_NODE=20.19

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=install
purge=no
start=yes
prebuilt_modules=
changed=no

say() { printf 'hearth-install: %s\n' "$*"; }
die() { printf 'hearth-install: error: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

parse_args() {
  while [ $# -gt 0 ]; do
    case $1 in
      --uninstall) mode=uninstall ;;
      --purge) purge=yes ;;
      --no-start) start=no ;;
      --node-modules) prebuilt_modules=${2:?--node-modules needs a directory}; shift ;;
      -h|--help) usage 0 ;;
      *) printf 'hearth-install: unknown option %s\n' "$1" >&2; usage 2 ;;
    esac
    shift
  done
  if [ "$purge" = yes ] && [ "$mode" != uninstall ]; then die "--purge only goes with --uninstall"; fi
}

systemd_running() { [ -d /run/systemd/system ]; }

node_ok() {
  command -v node >/dev/null 2>&1 && node -e '
    const [a, b] = process.versions.node.split(".").map(Number);
    const [x, y] = process.argv[1].split(".").map(Number);
    process.exit(a > x || (a === x && b >= y) ? 0 : 1);' "$MIN_NODE"
}

apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
  }
}

ensure_node() {
  if node_ok; then return; fi
  say "installing Node.js from the distribution's packages"
  command -v apt-get >/dev/null || die "Node.js $MIN_NODE or newer is needed and apt-get is not available to install it"
  apt_install nodejs
  node_ok || die "Node.js $MIN_NODE or newer is needed; this distribution offers $(node --version 2>/dev/null || echo none). Debian 13 (trixie) and Raspberry Pi OS based on it ship 20.19."
  changed=yes
}

ensure_npm() {
  command -v npm >/dev/null 2>&1 && return
  say "installing npm from the distribution's packages (needed once to fetch Hearth's libraries)"
  apt_install npm
}

# The compiled program: dist/ from the checkout, built first if it is missing.
ensure_built() {
  [ -f "$src/dist/hearth.cjs" ] && return
  ensure_npm
  say "building Hearth (npm ci && npm run build)"
  (cd "$src" && npm ci --no-audit --no-fund && npm run build)
}

# A fingerprint of what production node_modules depend on: a different lock
# file, CPU or Node ABI needs a fresh install; the same ones reuse what is there.
modules_stamp() {
  printf '%s %s %s\n' "$(sha256sum < "$1/package-lock.json" | cut -d' ' -f1)" "$(uname -m)" \
    "$(node -p 'process.versions.modules')"
}

# stamp_matches DIR STAMP: DIR holds production libraries installed for STAMP.
stamp_matches() {
  [ -f "$1/.hearth-stamp" ] && [ "$(cat "$1/.hearth-stamp")" = "$2" ]
}

stage_program() {
  local stage=$1
  rm -rf "$stage"
  mkdir -p "$stage"
  for item in bin dist examples web systemd package.json package-lock.json README.md LICENSE; do
    if [ -e "$src/$item" ]; then cp -a "$src/$item" "$stage/"; fi
  done
  # The installed copy can update, repair or uninstall itself: /opt/hearth/scripts/install.sh.
  mkdir -p "$stage/scripts"
  cp "$src/scripts/install.sh" "$stage/scripts/"
  # npm must not try to rebuild the program from source (no dev tools here).
  node -e '
    const fs = require("fs"), file = process.argv[1];
    const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
    delete pkg.scripts; delete pkg.devDependencies;
    fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");' "$stage/package.json"
}

stage_modules() {
  local stage=$1 wanted
  wanted=$(modules_stamp "$stage")
  if [ -n "$prebuilt_modules" ]; then
    cp -a "$prebuilt_modules" "$stage/node_modules"
  elif stamp_matches "$src/node_modules" "$wanted"; then
    # A copy of an installed Hearth (e.g. /opt/hearth itself): its libraries fit this machine.
    cp -a "$src/node_modules" "$stage/node_modules"
    return
  elif stamp_matches "$PREFIX/node_modules" "$wanted"; then
    cp -a "$PREFIX/node_modules" "$stage/node_modules"
    return
  else
    ensure_npm
    say "installing production libraries for $(uname -m)"
    (cd "$stage" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
  fi
  printf '%s\n' "$wanted" > "$stage/node_modules/.hearth-stamp"
}

# Replaces /opt/hearth only if the staged program differs from it. The
# libraries are compared by their stamp, not file by file: copying and
# comparing ~150 MB of node_modules takes minutes on an SD card.
install_program() {
  local stage="$PREFIX.staging"
  stage_program "$stage"
  if [ -z "$prebuilt_modules" ] && [ -d "$PREFIX" ] && stamp_matches "$PREFIX/node_modules" "$(modules_stamp "$stage")" &&
    diff -rq --no-dereference --exclude=node_modules "$stage" "$PREFIX" >/dev/null 2>&1; then
    rm -rf "$stage"
    return
  fi
  stage_modules "$stage"
  say "installing the program to $PREFIX"
  rm -rf "$PREFIX.old"
  [ -d "$PREFIX" ] && mv "$PREFIX" "$PREFIX.old"
  mv "$stage" "$PREFIX"
  rm -rf "$PREFIX.old"
  chmod -R u=rwX,go=rX "$PREFIX"
  changed=yes
}

# Installs $2 as $1 with mode $3 unless it is already identical.
put_file() {
  local dest=$1 from=$2 mode=$3
  if [ -f "$dest" ] && cmp -s "$from" "$dest"; then return; fi
  mkdir -p "$(dirname "$dest")"
  install -m "$mode" "$from" "$dest"
  say "wrote $dest"
  changed=yes
}

ensure_user() {
  getent passwd "$SERVICE_USER" >/dev/null && return
  useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home --shell /usr/sbin/nologin \
    --comment "Hearth appliance" "$SERVICE_USER"
  say "created the $SERVICE_USER system user"
  changed=yes
}

ensure_dirs() {
  install -d -m 0755 "$CONFIG_DIR"
  install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_USER" "$DATA_DIR"
}

# The example config with the Pi's data directory; never overwrites your edits.
ensure_config() {
  [ -f "$CONFIG_DIR/hearth.yaml" ] && return
  sed 's|^dataDir: .*|dataDir: /var/lib/hearth|' "$PREFIX/examples/hearth.yaml" > "$CONFIG_DIR/hearth.yaml.tmp"
  chmod 0644 "$CONFIG_DIR/hearth.yaml.tmp"
  mv "$CONFIG_DIR/hearth.yaml.tmp" "$CONFIG_DIR/hearth.yaml"
  say "created $CONFIG_DIR/hearth.yaml from the bundled example"
  changed=yes
}

write_wrapper() {
  local tmp
  tmp=$(mktemp)
  cat > "$tmp" <<EOF
#!/bin/sh
# The hearth command on this machine (written by scripts/install.sh). It runs
# as the $SERVICE_USER user, who owns $DATA_DIR and the API token, with the
# system config unless HEARTH_CONFIG says otherwise.
config=\${HEARTH_CONFIG:-$CONFIG_DIR/hearth.yaml}
if [ "\$(id -un)" = "$SERVICE_USER" ]; then
  exec env HEARTH_CONFIG="\$config" /usr/bin/node $PREFIX/bin/hearth.js "\$@"
elif [ "\$(id -u)" = 0 ] && command -v runuser >/dev/null; then
  exec runuser -u $SERVICE_USER -- env HEARTH_CONFIG="\$config" /usr/bin/node $PREFIX/bin/hearth.js "\$@"
else
  exec sudo -u $SERVICE_USER -- env HEARTH_CONFIG="\$config" /usr/bin/node $PREFIX/bin/hearth.js "\$@"
fi
EOF
  put_file "$BIN_LINK" "$tmp" 0755
  rm -f "$tmp"
}

install_units() {
  put_file "$UNIT_DIR/hearth.service" "$src/systemd/hearth.service" 0644
  put_file "$UNIT_DIR/systemd-time-wait-sync.service.d/hearth-timeout.conf" \
    "$src/systemd/systemd-time-wait-sync.service.d/hearth-timeout.conf" 0644
  if systemd_running && [ "$changed" = yes ]; then systemctl daemon-reload; fi
  # Catch-up must not run on a stale clock: hold time-sync.target until NTP has synced.
  if [ -e /lib/systemd/system/systemd-time-wait-sync.service ] || [ -e /usr/lib/systemd/system/systemd-time-wait-sync.service ]; then
    systemctl is-enabled --quiet systemd-time-wait-sync.service 2>/dev/null || systemctl enable --quiet systemd-time-wait-sync.service
  fi
  systemctl is-enabled --quiet hearth.service 2>/dev/null || { systemctl enable --quiet hearth.service; changed=yes; }
}

start_service() {
  [ "$start" = yes ] && systemd_running || return 0
  if ! systemctl is-active --quiet hearth.service; then
    say "starting hearth.service"
    systemctl start hearth.service
  elif [ "$changed" = yes ]; then
    say "restarting hearth.service with the new version"
    systemctl restart hearth.service
  fi
}

do_install() {
  ensure_node
  ensure_built
  install_program
  ensure_user
  ensure_dirs
  ensure_config
  write_wrapper
  install_units
  start_service
  if [ "$changed" = yes ]; then say "installed."; else say "already installed and up to date; nothing changed."; fi
  say "dashboard: http://$(hostname).local:$(port) (API token: sudo cat $DATA_DIR/secrets/api-token)"
  say "logs:      journalctl -u hearth -f"
}

port() {
  sed -n 's/^  port: \${HEARTH_PORT:\([0-9]*\)}.*/\1/p; s/^  port: \([0-9][0-9]*\).*/\1/p' "$CONFIG_DIR/hearth.yaml" 2>/dev/null | head -n1 | grep . || echo 8080
}

do_uninstall() {
  if systemd_running; then
    systemctl disable --now hearth.service 2>/dev/null || true
  else
    systemctl disable hearth.service 2>/dev/null || true
  fi
  rm -f "$UNIT_DIR/hearth.service" "$UNIT_DIR/systemd-time-wait-sync.service.d/hearth-timeout.conf"
  rmdir "$UNIT_DIR/systemd-time-wait-sync.service.d" 2>/dev/null || true
  systemd_running && systemctl daemon-reload
  rm -rf "$PREFIX" "$PREFIX.staging" "$PREFIX.old" "$BIN_LINK"
  if [ "$purge" = yes ]; then
    rm -rf "$CONFIG_DIR" "$DATA_DIR"
    getent passwd "$SERVICE_USER" >/dev/null && userdel "$SERVICE_USER"
    say "removed Hearth, its settings ($CONFIG_DIR), its data ($DATA_DIR) and the $SERVICE_USER user."
  else
    say "removed Hearth. Kept your settings in $CONFIG_DIR and your data in $DATA_DIR (add --purge to delete them)."
  fi
}

main() {
  parse_args "$@"
  [ "$(id -u)" = 0 ] || die "run as root: sudo $0 $*"
  command -v systemctl >/dev/null || die "systemd is required"
  if [ "$mode" = uninstall ]; then do_uninstall; else do_install; fi
}

main "$@"
