#!/usr/bin/env bash
# mmdebstrap's customize hook for pi-image/build.sh: every package is
# installed in the arm64 root filesystem at $1 (with /proc, /sys and /dev
# mounted); this makes it the Hearth appliance. $2 is build.sh's output
# directory, holding the staged app (app/) and its linux-arm64 node_modules.
set -euo pipefail

root=$1
out=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

in_root() { chroot "$root" "$@"; }
step() { printf 'customize: %s\n' "$*"; }

# Image defaults: name, time zone, the files in pi-image/rootfs.
system_files() {
  step "system files"
  cp -r --preserve=mode "$here/rootfs/." "$root/"
  chmod 0440 "$root/etc/sudoers.d/hearth-admin"
  chmod 0755 "$root/usr/local/sbin/hearth-setup"
  echo hearth > "$root/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\thearth\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
  ln -sfn /usr/share/zoneinfo/Etc/UTC "$root/etc/localtime"
  echo Etc/UTC > "$root/etc/timezone"
  # Appended after raspi-firmware installed its own copy: writing it earlier
  # stops dpkg at a conffile prompt.
  cat >> "$root/etc/default/raspi-firmware" <<'EOF'

# Hearth image: root by label (the card may show up under any name), the
# serial console and the screen, no CMA reservation (headless).
ROOTPART=LABEL=hearth-root
CONSOLES="ttyS1,115200 tty0"
CMA=0
EOF
}

# The person's login: SSH keys only (from hearth.txt), passwordless sudo,
# and the journal readable without sudo.
admin_user() {
  step "admin user"
  in_root useradd --create-home --shell /bin/bash --groups sudo,adm,systemd-journal --comment "Hearth admin" admin
  in_root passwd --lock admin >/dev/null
}

# The app goes in the way it does on any Debian machine: scripts/install.sh.
hearth_app() {
  step "installing Hearth with scripts/install.sh"
  rm -rf "$root/tmp/hearth-src" "$root/tmp/hearth-modules"
  cp -a "$out/app" "$root/tmp/hearth-src"
  cp -a "$out/modules/node_modules" "$root/tmp/hearth-modules"
  in_root /tmp/hearth-src/scripts/install.sh --no-start --node-modules /tmp/hearth-modules
  rm -rf "$root/tmp/hearth-src" "$root/tmp/hearth-modules"
}

services() {
  step "services"
  in_root systemctl enable --quiet systemd-networkd.service systemd-resolved.service systemd-timesyncd.service \
    avahi-daemon.service ssh.service hearth-setup.service
  in_root systemctl is-enabled --quiet systemd-time-wait-sync.service
  in_root systemctl is-enabled --quiet hearth.service
}

# update-initramfs was a no-op while packages installed; build it once now.
# raspi-firmware's hook then copies kernel, initrd and device trees to
# /boot/firmware and writes config.txt and cmdline.txt.
initramfs() {
  step "initramfs (once)"
  rm -f "$root/usr/sbin/update-initramfs"
  in_root dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs
  in_root update-initramfs -c -k all
  grep -q 'root=LABEL=hearth-root' "$root/boot/firmware/cmdline.txt" || {
    echo "customize: /boot/firmware/cmdline.txt does not boot from LABEL=hearth-root:" >&2
    cat "$root/boot/firmware/cmdline.txt" >&2
    exit 1
  }
}

# Nothing that must differ per Pi may be baked in: host keys are made and the
# machine id is set on first boot.
per_machine_state() {
  step "clearing per-machine state"
  rm -f "$root"/etc/ssh/ssh_host_*
  : > "$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id"
  rm -rf "$root"/tmp/* "$root"/var/tmp/* "$root"/var/log/journal/*
  find "$root/var/log" -type f -name '*.log' -delete
}

system_files
admin_user
hearth_app
services
initramfs
per_machine_state
