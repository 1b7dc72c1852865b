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

# What a headless Pi 4/3B+/400/CM4 never loads, measured per component into
# $out/slim-report.tsv (docs/pi.md has the table). Debian's kernel is built
# for every arm64 machine: drivers for GPUs, cameras and TV cards, sound,
# InfiniBand, server NICs and Wi-Fi chips the Pi does not have, and cluster
# file systems go, with the device trees of every other board. Kept: the Pi's own hardware (Broadcom Ethernet and Wi-Fi,
# USB network adapters and disks, MMC, Bluetooth, input, sound, the
# camera and webcams, I2C sensors (iio)), virtio (the QEMU
# smoke test boots this image on -M virt), and common file systems (ext4,
# vfat, exfat, ntfs3, nfs, smb, fuse) for USB disks and NAS shares. Then
# firmware-brcm80211's blobs for chips no Pi has (the Pis carry 43430, 43436
# and 43455), what dpkg's path-exclude let through, and apt's package cache.
slim_system() {
  step "slimming for a headless Pi"
  local version modules dir kept
  for version in "$root"/usr/lib/modules/*; do
    [ -d "$version/kernel" ] || continue
    modules=$version/kernel
    measure_start "kernel modules" "$version"
    for dir in drivers/infiniband drivers/isdn drivers/atm drivers/fpga drivers/comedi drivers/accel \
      drivers/gpu/host1x drivers/media/pci drivers/media/dvb-frontends drivers/media/dvb-core drivers/media/tuners \
      drivers/media/radio drivers/media/firewire drivers/media/test-drivers \
      drivers/net/wireless/ath drivers/net/wireless/intel drivers/net/wireless/mediatek drivers/net/wireless/realtek \
      drivers/net/wireless/marvell drivers/net/wireless/ralink drivers/net/wireless/ti drivers/net/wireless/intersil \
      drivers/net/wireless/zydas drivers/net/wireless/atmel drivers/net/wireless/quantenna drivers/net/wireless/microchip \
      drivers/net/wireless/silabs drivers/net/wireless/st drivers/net/wireless/purelifi drivers/net/wireless/virtual \
      fs/ocfs2 fs/gfs2 fs/dlm fs/ceph fs/orangefs fs/nilfs2 fs/jfs fs/xfs fs/ubifs fs/erofs fs/bcachefs; do
      rm -rf "${modules:?}/$dir"
    done
    # Staging drivers: only the Pi's VideoCore services (its audio and camera) stay.
    for dir in "$modules"/drivers/staging/*/; do
      [ -d "$dir" ] || continue
      case $(basename "$dir") in vc04_services) ;; *) rm -rf "$dir" ;; esac
    done
    # GPUs: the Pi's own (vc4 for the HDMI console, v3d) and the shared DRM pieces stay.
    for dir in "$modules"/drivers/gpu/drm/*/; do
      [ -d "$dir" ] || continue
      case $(basename "$dir") in vc4|v3d|tiny|display|ttm|scheduler|panel|bridge) ;; *) rm -rf "$dir" ;; esac
    done
    # TV tuners and capture sticks; webcams (uvc, gspca) stay.
    for dir in "$modules"/drivers/media/usb/*/; do
      [ -d "$dir" ] || continue
      case $(basename "$dir") in uvc|gspca) ;; *) rm -rf "$dir" ;; esac
    done
    # Server and exotic Ethernet: keep Broadcom (the Pi 4's GENET) and the small shared pieces.
    if [ -d "$modules/drivers/net/ethernet" ]; then
      for dir in "$modules"/drivers/net/ethernet/*/; do
        case $(basename "$dir") in broadcom) ;; *) rm -rf "$dir" ;; esac
      done
    fi
    # SCSI host adapters (the SCSI core and sd_mod, which USB disks use, are files at its top).
    find "$modules/drivers/scsi" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} + 2>/dev/null || true
    kept=$(basename "$version")
    in_root depmod -a "$kept"
    measure_end "kernel modules"
  done
  # Device trees of every arm64 board: raspi-firmware copies the Pis' (broadcom/) to the boot partition.
  for dir in "$root"/usr/lib/linux-image-*/; do
    [ -d "$dir/broadcom" ] || continue
    measure_start "device trees" "$dir"
    find "$dir" -mindepth 1 -maxdepth 1 ! -name broadcom -exec rm -rf {} +
    measure_end "device trees"
  done
  if [ -d "$root/usr/lib/firmware/brcm" ]; then
    measure_start "Wi-Fi firmware (brcm)" "$root/usr/lib/firmware"
    find "$root/usr/lib/firmware/brcm" "$root/usr/lib/firmware/cypress" -mindepth 1 \
      ! -name '*43430*' ! -name '*43436*' ! -name '*43455*' ! -name '*43456*' -delete 2>/dev/null || true
    measure_end "Wi-Fi firmware (brcm)"
  fi
  measure_start "docs, man pages, locales left" "$root/usr/share"
  find "$root/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null || true
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/lintian "$root"/usr/share/linda
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
  measure_end "docs, man pages, locales left"
  # The .debs build.sh synced in from its cache: mmdebstrap removes only what it downloaded
  # itself, so ~170 MB of already-installed packages went into every image. The customize
  # hook runs after mmdebstrap's sync-out back to the cache, so nothing is lost.
  measure_start "apt's package cache and lists" "$root/var"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/archives/partial/* \
    "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old
  measure_end "apt's package cache and lists"
}

source "$here/measure.sh"

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
slim_system
initramfs
per_machine_state
