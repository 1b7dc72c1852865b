#!/usr/bin/env bash
# Boots the Pi image in QEMU (-M virt -cpu cortex-a72, the image's own kernel
# and initrd) and checks the appliance from outside, the way a person would:
#
#   pi-image/smoke.sh [IMAGE]      default: pi-image/out/hearth-pi-arm64.img
#
# 1. first boot with hearth.txt filled in (SSH key, admin password, hostname,
#    time zone): the root filesystem grows, the settings apply, the passwords
#    are removed from hearth.txt, and the dashboard answers /api/health;
# 2. a scheduled demo job (system-snapshot, every minute) has run, and
#    `journalctl -u hearth` has Hearth's logs; the unit verifies and the
#    `systemd-analyze security` exposure is printed;
# 3. power off, boot again; this time the network's time server says it is
#    two hours later, as a Pi learns after being unplugged (it has no clock
#    battery): Hearth starts once the clock is set, and the missed
#    http-check occurrences are caught up (a run with trigger "catchup").
#
# The time comes from pi-image/time-server.mjs on the host (127.0.0.1:123,
# which the guest reaches as 10.0.2.2, named in hearth.txt's time_server), so
# the test needs root for the port, as build.sh does.
#
# The image itself is never modified (the test boots a copy). Ports are
# forwarded to 127.0.0.1 only. Logs of a failed run are kept in
# pi-image/out/smoke-logs/. Needs qemu-system-arm, mtools, openssh-client, curl.
set -Eeuo pipefail
# set -e exits silently: name the line and command that stopped the test.
trap 'printf "smoke.sh: error: line %s failed (exit %s): %s\n" "$LINENO" "$?" "$BASH_COMMAND" >&2' ERR

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${HEARTH_IMAGE_OUT:-$here/out}
image=${1:-$out/hearth-pi-arm64.img}
BOOT_OFFSET=4M # the FAT partition, as pi-image/build.sh lays it out
BOOT_TIMEOUT=${HEARTH_SMOKE_BOOT_TIMEOUT:-600}
SMP=${HEARTH_SMOKE_SMP:-2}

[ -f "$image" ] || { echo "smoke: no image at $image (run pi-image/build.sh)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "smoke: run as root (the guest's time server listens on port 123)" >&2; exit 1; }
for tool in qemu-system-aarch64 mcopy ssh ssh-keygen curl node; do
  command -v "$tool" >/dev/null || { echo "smoke: $tool is missing" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/hearth-smoke.XXXXXX")
logs=$out/smoke-logs
qemu_pid=
time_server_pid=
passed=no
SECONDS=0

say() { printf '[smoke %4ss] %s\n' "$SECONDS" "$*"; }
fail() {
  say "FAIL: $*"
  exit 1
}

cleanup() {
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then kill "$qemu_pid"; wait "$qemu_pid" 2>/dev/null || true; fi
  stop_time_server
  if [ "$passed" != yes ]; then
    rm -rf "$logs"
    mkdir -p "$logs"
    cp "$work"/*.log "$logs"/ 2>/dev/null || true
    say "console logs kept in $logs"
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

ssh_port=$(free_port)
http_port=$(free_port)
key=$work/id_ed25519

guest() {
  ssh -q -i "$key" -p "$ssh_port" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o ConnectTimeout=10 admin@127.0.0.1 "$@"
}

prepare_disk() {
  say "copying the image and filling in hearth.txt"
  cp --sparse=always "$image" "$work/disk.img"
  original_bytes=$(stat -c %s "$work/disk.img")
  # A bigger "SD card" than the image: first boot must grow the root filesystem into it.
  truncate -s +1G "$work/disk.img"
  ssh-keygen -q -t ed25519 -N '' -C hearth-smoke -f "$key"
  mcopy -i "$work/disk.img@@$BOOT_OFFSET" ::hearth.txt "$work/hearth.txt"
  sed -i \
    -e 's/^hostname=.*/hostname=hearth-smoke/' \
    -e 's|^timezone=.*|timezone=Europe/London|' \
    -e 's/^admin_password=.*/admin_password=smoke-test-password/' \
    -e "s|^ssh_key=.*|ssh_key=$(cat "$key.pub")|" \
    -e 's/^time_server=.*/time_server=10.0.2.2/' \
    "$work/hearth.txt"
  grep -q '^time_server=10.0.2.2$' "$work/hearth.txt" || fail "the image's hearth.txt has no time_server setting"
  mcopy -o -i "$work/disk.img@@$BOOT_OFFSET" "$work/hearth.txt" ::hearth.txt
  # The image's own kernel and initrd, from its boot partition.
  local name
  for name in $(mdir -b -i "$work/disk.img@@$BOOT_OFFSET" :: | sed 's|^::/||' | grep -E '^(vmlinuz|initrd\.img)-'); do
    mcopy -i "$work/disk.img@@$BOOT_OFFSET" "::$name" "$work/"
  done
  kernel=$(ls "$work"/vmlinuz-* | head -n1)
  initrd=$(ls "$work"/initrd.img-* | head -n1)
  # The Pi's kernel command line, with QEMU's serial console instead of the Pi's.
  mcopy -i "$work/disk.img@@$BOOT_OFFSET" ::cmdline.txt "$work/cmdline.txt"
  cmdline="$(sed -E 's/console=[^ ]+//g' "$work/cmdline.txt" | tr -s ' ') console=ttyAMA0,115200"
  say "kernel $(basename "$kernel"), cmdline: $cmdline"
}

# start_time_server NAME OFFSET_SECONDS: the network's time, OFFSET_SECONDS ahead of this machine's.
start_time_server() {
  stop_time_server
  node "$here/time-server.mjs" --host 127.0.0.1 --port 123 --offset-seconds "$2" > "$work/time-server-$1.log" 2>&1 &
  time_server_pid=$!
  local deadline=$((SECONDS + 10))
  until grep -q listening "$work/time-server-$1.log"; do
    kill -0 "$time_server_pid" 2>/dev/null || fail "the time server did not start: $(cat "$work/time-server-$1.log")"
    [ $SECONDS -lt $deadline ] || fail "the time server did not start in 10 s"
    sleep 0.2
  done
}

stop_time_server() {
  if [ -n "$time_server_pid" ]; then kill "$time_server_pid" 2>/dev/null || true; wait "$time_server_pid" 2>/dev/null || true; fi
  time_server_pid=
}

# boot NAME [NETWORK_TIME_OFFSET]: starts QEMU in the background. The guest's
# own clock starts at this machine's time; the time server on the network is
# NETWORK_TIME_OFFSET seconds (default 0) ahead of it.
boot() {
  local name=$1 offset=${2:-0}
  start_time_server "$name" "$offset"
  say "booting ($name, network time: +${offset}s)"
  qemu-system-aarch64 -M virt -cpu cortex-a72 -smp "$SMP" -m 1024 -accel tcg,thread=multi \
    -kernel "$kernel" -initrd "$initrd" -append "$cmdline" \
    -drive if=none,id=disk,file="$work/disk.img",format=raw -device virtio-blk-pci,drive=disk \
    -netdev "user,id=net,hostfwd=tcp:127.0.0.1:$ssh_port-:22,hostfwd=tcp:127.0.0.1:$http_port-:8080" \
    -device virtio-net-pci,netdev=net,romfile= \
    -rtc base=utc -display none -monitor none -serial "file:$work/console-$name.log" &
  qemu_pid=$!
  boot_started=$SECONDS
}

wait_for_dashboard() {
  local deadline=$((SECONDS + BOOT_TIMEOUT))
  until curl -fsS -m 5 "http://127.0.0.1:$http_port/api/health" -o "$work/health.json" 2>/dev/null; do
    kill -0 "$qemu_pid" 2>/dev/null || fail "QEMU exited during boot"
    [ $SECONDS -lt $deadline ] || fail "no /api/health answer ${BOOT_TIMEOUT}s after power-on"
    sleep 2
  done
  boot_seconds=$((SECONDS - boot_started))
  say "dashboard answers ${boot_seconds}s after power-on: $(cat "$work/health.json" | head -c 300)"
}

wait_for_ssh() {
  local deadline=$((SECONDS + 120))
  until guest true 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "SSH with the key from hearth.txt does not work"
    sleep 2
  done
}

api() {
  curl -fsS -m 20 -H "Authorization: Bearer $token" "http://127.0.0.1:$http_port$1"
}

# wait_for_run JOB TRIGGER SECONDS: a succeeded run of JOB with TRIGGER, printed as JSON.
wait_for_run() {
  local job=$1 trigger=$2 deadline=$((SECONDS + $3)) found
  while :; do
    found=$(api "/api/runs?job=$job&limit=50" | node -e '
      const [trigger] = process.argv.slice(1);
      const body = JSON.parse(require("fs").readFileSync(0, "utf8"));
      const runs = Array.isArray(body) ? body : body.runs ?? body.items ?? [];
      const run = runs.find((r) => r.trigger === trigger && r.status === "succeeded");
      if (run) console.log(JSON.stringify({ id: run.id, trigger: run.trigger, status: run.status, scheduledFor: run.scheduledFor, occurrences: run.occurrences }));' "$trigger" || true)
    if [ -n "$found" ]; then echo "$found"; return 0; fi
    [ $SECONDS -lt $deadline ] || return 1
    sleep 5
  done
}

power_off() {
  say "powering off"
  guest sudo systemctl poweroff || true
  local deadline=$((SECONDS + 180))
  while kill -0 "$qemu_pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then kill "$qemu_pid"; break; fi
    sleep 2
  done
  wait "$qemu_pid" 2>/dev/null || true
  qemu_pid=
  stop_time_server
}

first_boot() {
  boot first
  wait_for_dashboard
  first_boot_seconds=$boot_seconds
  wait_for_ssh
  say "SSH works with the key from hearth.txt"
  [ "$(guest hostname)" = hearth-smoke ] || fail "hostname from hearth.txt not applied: $(guest hostname)"
  [ "$(guest readlink /etc/localtime)" = /usr/share/zoneinfo/Europe/London ] || fail "time zone from hearth.txt not applied"
  guest sudo grep -q '^admin_password=$' /boot/firmware/hearth.txt || fail "admin password still in hearth.txt"
  guest sudo grep -q 'smoke-test-password' /boot/firmware/hearth.txt && fail "admin password still in hearth.txt"
  guest sudo test -s /var/lib/hearth/secrets/admin-password.json || fail "admin password not handed to Hearth (hearth passwd)"
  guest sudo grep -rqs 'smoke-test-password' /etc /var/lib/hearth && fail "the admin password was stored in plain text"
  local root_bytes
  root_bytes=$(guest df -B1 --output=size / | tail -n1 | tr -d ' ')
  [ "$root_bytes" -gt "$original_bytes" ] || fail "root filesystem not grown ($root_bytes bytes on a $original_bytes-byte image + 1 GiB card)"
  say "hostname, time zone, password and SSH key applied; secrets removed; root grown to $((root_bytes / 1048576)) MiB"

  [ "$(guest timedatectl show -p NTPSynchronized --value)" = yes ] || fail "the clock is not synchronised to the time server"
  guest timedatectl show-timesync -p ServerAddress --value | grep -qx 10.0.2.2 || fail "timesyncd does not use time_server from hearth.txt"
  say "clock synchronised from time_server=10.0.2.2"
  [ "$(guest systemctl is-active hearth)" = active ] || fail "hearth.service is not active"
  guest systemctl show hearth -p Type -p WatchdogUSec -p NRestarts -p User | tr '\n' ' '; echo
  guest systemctl show hearth -p Type --value | grep -qx notify || fail "hearth.service is not Type=notify"
  guest systemd-analyze verify /etc/systemd/system/hearth.service || fail "systemd-analyze verify failed in the guest"
  local main_pid
  main_pid=$(guest systemctl show hearth -p MainPID --value)
  guest sudo cat "/proc/$main_pid/environ" | tr '\0' '\n' | grep -x 'MALLOC_ARENA_MAX=2' >/dev/null ||
    fail "the running hearth process (pid $main_pid) lacks the unit's malloc settings"
  say "the running hearth process has the unit's malloc settings (MALLOC_ARENA_MAX=2)"
  exposure=$(guest systemd-analyze security hearth.service --no-pager | tail -n1)
  say "systemd-analyze security: $exposure"
  guest journalctl -u hearth --no-pager -o cat | grep -q '"hearth started"' || fail "journalctl -u hearth has no start-up log"
  guest journalctl -u hearth --no-pager -o cat | grep -q 'systemd watchdog on' || fail "the watchdog was not armed"
  say "journalctl -u hearth has Hearth's logs (start-up, watchdog on)"

  token=$(guest sudo cat /var/lib/hearth/secrets/api-token)
  [ -n "$token" ] || fail "no API token"
  local run
  run=$(wait_for_run system-snapshot schedule 200) || fail "no scheduled system-snapshot run succeeded"
  say "scheduled demo job ran: $run"
  api "/api/runs?job=http-check&limit=5" > "$work/http-check-before.json" || true
  guest sudo journalctl -u hearth --no-pager -n 5 -o cat > "$work/journal-first.log" || true
  power_off
}

clock_forward_boot() {
  boot second 7200
  wait_for_dashboard
  second_boot_seconds=$boot_seconds
  wait_for_ssh
  local guest_now
  guest_now=$(guest date -u +%s)
  [ $((guest_now - $(date -u +%s))) -gt 7000 ] || fail "the guest's clock did not follow the time server (guest $(guest date -u), host $(date -u))"
  say "the clock was set from the network: guest $(guest date -u +%H:%M), this machine $(date -u +%H:%M)"
  local run
  run=$(wait_for_run http-check catchup 240) || {
    guest sudo journalctl -u hearth --no-pager -n 40 -o cat > "$work/journal-second.log" || true
    fail "no catch-up run of http-check after the clock moved forward"
  }
  say "catch-up ran after the clock moved forward 2 h: $run"
  guest journalctl -u hearth --no-pager -o cat | grep -q '"catch-up"' || fail "no catch-up line in the journal"
  check_installer
  power_off
}

# scripts/install.sh on a running appliance: a second run changes nothing;
# --uninstall removes the program but keeps settings and data; installing
# again from a copy brings the same appliance back with its run history.
check_installer() {
  local pid_before pid_after output runs_before runs_after
  pid_before=$(guest systemctl show hearth -p MainPID --value)
  output=$(guest sudo /opt/hearth/scripts/install.sh 2>&1) || fail "install.sh (again) failed: $output"
  grep -q 'nothing changed' <<<"$output" || fail "install.sh run twice changed something: $output"
  pid_after=$(guest systemctl show hearth -p MainPID --value)
  [ "$pid_before" = "$pid_after" ] || fail "install.sh run twice restarted Hearth"
  say "install.sh is idempotent: second run changed nothing, Hearth not restarted (pid $pid_after)"

  runs_before=$(api "/api/runs?limit=100" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).runs.length)')
  # Hard links: a copy that survives the uninstall without copying 400 MB under emulation.
  guest sudo cp -al /opt/hearth /var/tmp/hearth-copy
  output=$(guest sudo /var/tmp/hearth-copy/scripts/install.sh --uninstall 2>&1) || fail "install.sh --uninstall failed: $output"
  guest test ! -e /opt/hearth || fail "--uninstall left /opt/hearth"
  guest systemctl is-active --quiet hearth && fail "--uninstall left Hearth running"
  guest sudo test -f /var/lib/hearth/state.json -a -f /etc/hearth/hearth.yaml || fail "--uninstall removed settings or data"
  say "install.sh --uninstall: program gone, /etc/hearth and /var/lib/hearth kept"

  output=$(guest sudo /var/tmp/hearth-copy/scripts/install.sh 2>&1) || fail "reinstall failed: $output"
  guest sudo rm -rf /var/tmp/hearth-copy
  local deadline=$((SECONDS + 180))
  until curl -fsS -m 5 "http://127.0.0.1:$http_port/api/health" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "no dashboard after reinstalling"
    sleep 2
  done
  token=$(guest sudo cat /var/lib/hearth/secrets/api-token)
  runs_after=$(api "/api/runs?limit=100" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).runs.length)')
  [ "$runs_after" -ge "$runs_before" ] || fail "run history lost over uninstall + install ($runs_before -> $runs_after)"
  say "reinstalled from a copy: dashboard back, run history kept ($runs_before runs before, $runs_after after)"
}

prepare_disk
first_boot
clock_forward_boot
passed=yes
say "PASS: image $(du -h --apparent-size "$image" | cut -f1); boot to dashboard ${first_boot_seconds}s (first boot), ${second_boot_seconds}s (second); $exposure"
echo "smoke: 1 passed, 0 failed"
