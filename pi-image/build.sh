#!/usr/bin/env bash
# Builds a flashable Raspberry Pi (4, 3B+, 400, CM4) image of Hearth from
# Debian trixie arm64 packages only:
#
#   sudo pi-image/build.sh            ->  pi-image/out/hearth-pi-arm64.img, .img.xz and .img.xz.sha256
#   sudo pi-image/build.sh stage      only stage the app (dist/ and arm64 node_modules)
#   sudo pi-image/build.sh image      only the image, from the staged app (staged first if missing)
#
# The two halves let CI stage the app, then run the test suite while the
# (mostly single-core, emulated) image build runs.
#
# How: mmdebstrap builds the arm64 root filesystem (maintainer scripts run
# under qemu-user via binfmt_misc); the app and its production node_modules
# (cross-installed for linux-arm64) go in with scripts/install.sh run inside
# the chroot; the FAT boot partition and the ext4 root are made as files
# (mkfs.vfat + mcopy, mkfs.ext4 -d) and put into a partitioned image with
# sfdisk and dd, so no loop devices or mounts are needed.
#
# Needs (Debian/Ubuntu host, as root): mmdebstrap arch-test qemu-user-static
# binfmt-support dosfstools mtools fdisk e2fsprogs, node + npm, and the
# network to the Debian mirror and the npm registry.
# Environment: HEARTH_IMAGE_OUT (default pi-image/out), HEARTH_IMAGE_CACHE
# (downloaded .debs, default /var/cache/hearth-pi-image), HEARTH_DEBIAN_MIRROR.
set -Eeuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
out=${HEARTH_IMAGE_OUT:-$here/out}
cache=${HEARTH_IMAGE_CACHE:-/var/cache/hearth-pi-image}
mirror=${HEARTH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${HEARTH_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
suite=trixie
image=$out/hearth-pi-arm64.img
BOOT_MIB=256
FIRST_MIB=4 # the boot partition starts 4 MiB in (SD card erase-block alignment)

# The appliance: kernel and Pi firmware, Node, mDNS, SSH, NTP, Wi-Fi.
PACKAGES=(
  raspi-firmware linux-image-arm64 initramfs-tools zstd
  nodejs tzdata
  systemd-sysv systemd-timesyncd systemd-resolved dbus udev kmod
  avahi-daemon libnss-mdns
  openssh-server sudo
  wpasupplicant firmware-brcm80211 wireless-regdb
  fdisk e2fsprogs dosfstools
  ca-certificates iproute2 procps less nano
)

log() { printf '\n== %s  (%ss)\n' "$*" "$SECONDS"; }
die() { printf 'build.sh: error: %s\n' "$*" >&2; exit 1; }
# set -e stops at the first failing command without a word: say which one
# (-E carries this into functions, where all the work happens).
trap 'printf "build.sh: error: line %s failed (exit %s): %s\n" "$LINENO" "$?" "$BASH_COMMAND" >&2' ERR

check_host() {
  [ "$(id -u)" = 0 ] || die "run as root (mmdebstrap's root mode, and files owned by root in the image)"
  local tool
  for tool in mmdebstrap arch-test mkfs.vfat mcopy mkfs.ext4 sfdisk npm node; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install mmdebstrap arch-test qemu-user-static binfmt-support dosfstools mtools fdisk e2fsprogs)"
  done
  # arm64 maintainer scripts run through qemu-user; binfmt_misc must know it.
  if [ "$(uname -m)" != aarch64 ]; then
    [ -e /proc/sys/fs/binfmt_misc/status ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 2>/dev/null || true
    [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || die "qemu-aarch64 is not registered with binfmt_misc (apt-get install qemu-user-static binfmt-support)"
  fi
}

# The program as it will run on the Pi: dist/ from this checkout plus
# production node_modules for linux-arm64 (prebuilt native binaries, such as
# LanceDB's, come from their -linux-arm64-gnu packages; no install scripts run).
stage_app() {
  log "staging the app with linux-arm64 production dependencies"
  if [ ! -f "$repo/dist/hearth.cjs" ]; then (cd "$repo" && npm run build); fi
  local stage=$out/app
  rm -rf "$stage"
  rm -f "$out/slim-report.tsv"
  mkdir -p "$stage/scripts"
  local item
  for item in bin dist examples web systemd package.json package-lock.json README.md LICENSE; do
    if [ -e "$repo/$item" ]; then cp -a "$repo/$item" "$stage/"; fi
  done
  cp "$repo/scripts/install.sh" "$stage/scripts/"
  mkdir -p "$out/modules"
  cp "$repo/package.json" "$repo/package-lock.json" "$out/modules/"
  (cd "$out/modules" && rm -rf node_modules &&
    npm ci --omit=dev --ignore-scripts --cpu=arm64 --os=linux --libc=glibc --no-audit --no-fund --loglevel=error)
  prune_foreign_binaries "$out/modules/node_modules"
}

# What a headless Pi does not need from production node_modules, measured
# per component into $out/slim-report.tsv (docs/pi.md has the table):
# - onnxruntime-node carries its native library for every OS and CPU
#   (~210 MB); the Pi needs only linux/arm64;
# - onnxruntime-web and @huggingface/transformers ship browser builds and
#   their WebAssembly runtimes (~130 MB); Node loads transformers.node.* and
#   onnxruntime-node (onnxruntime-web's node entry is kept, in case);
# - source maps, TypeScript sources and declarations are for developers;
# - native libraries keep symbol tables nobody reads on the Pi (stripped with
#   llvm-strip or binutils' strip, when the host has one that reads arm64).
prune_foreign_binaries() {
  local modules=$1 dir file
  measure_start node_modules "$modules"
  measure_start onnxruntime-node "$modules/onnxruntime-node"
  for dir in "$modules"/onnxruntime-node/bin/napi-v*/*/*; do
    [ -d "$dir" ] || continue
    case $dir in */linux/arm64) ;; *) rm -rf "$dir" ;; esac
  done
  measure_end onnxruntime-node
  measure_start onnxruntime-web "$modules/onnxruntime-web"
  if [ -d "$modules/onnxruntime-web/dist" ]; then
    find "$modules/onnxruntime-web/dist" -type f ! -name 'ort.node.min.*' -delete
  fi
  measure_end onnxruntime-web
  measure_start @huggingface/transformers "$modules/@huggingface/transformers"
  if [ -d "$modules/@huggingface/transformers/dist" ]; then
    find "$modules/@huggingface/transformers/dist" -type f ! -name 'transformers.node.*' -delete
    rm -rf "$modules/@huggingface/transformers/src" "$modules/@huggingface/transformers/types"
  fi
  measure_end @huggingface/transformers
  measure_start "node_modules source maps, .ts sources" "$modules"
  find "$modules" -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
    -o \( -name '*.ts' -path '*/src/*' \) \) -delete
  measure_end "node_modules source maps, .ts sources"
  local strip_tool
  strip_tool=$(command -v llvm-strip || command -v aarch64-linux-gnu-strip || true)
  measure_start "native libraries (stripped)" "$modules"
  while IFS= read -r -d '' file; do
    file "$file" 2>/dev/null | grep -q 'ARM aarch64.*not stripped' || continue
    if [ -n "$strip_tool" ]; then "$strip_tool" --strip-unneeded "$file"
    else strip --strip-unneeded "$file" 2>/dev/null || true
    fi
  done < <(find "$modules" -type f \( -name '*.node' -o -name '*.so' -o -name '*.so.*' \) -print0)
  measure_end "native libraries (stripped)"
  measure_end node_modules
}

# measure_start / measure_end: pi-image/measure.sh
source "$here/measure.sh"

# A build killed mid-way (CI stopping it after a failed test, Ctrl-C) can
# leave mmdebstrap's /proc, /sys and /dev mounts inside the old root
# filesystem: unmount them, and never let rm cross into another filesystem.
remove_rootfs() {
  local root=$out/rootfs
  [ -e "$root" ] || return 0
  awk -v root="$root" '$2 == root || index($2, root "/") == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l
  rm -rf --one-file-system "$root"
}

build_rootfs() {
  log "building the Debian $suite arm64 root filesystem (mmdebstrap)"
  remove_rootfs
  mkdir -p "$cache"
  local include
  include=$(IFS=,; echo "${PACKAGES[*]}")
  # Downloaded .debs are kept in $cache between builds. update-initramfs is
  # diverted to a no-op while packages install (each kernel, firmware and
  # initramfs-tools trigger would rebuild it) and run once in customize.sh.
  # Manuals, documentation (but each package's copyright) and translations are
  # not unpacked: nobody reads them on a headless appliance, and every file
  # costs time under emulation and space on the card.
  mmdebstrap --arch=arm64 --variant=apt --components="main non-free-firmware" \
    --include="$include" \
    --aptopt='Acquire::Retries "3"' \
    --dpkgopt=force-unsafe-io \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
    --setup-hook="sync-in '$cache' /var/cache/apt/archives/" \
    --essential-hook='chroot "$1" dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs &&
      printf "#!/bin/sh\necho \"update-initramfs: held back until the image build is done\"\n" > "$1"/usr/sbin/update-initramfs &&
      chmod 755 "$1"/usr/sbin/update-initramfs' \
    --customize-hook="sync-out /var/cache/apt/archives '$cache'" \
    --customize-hook="'$here/customize.sh' \"\$1\" '$out'" \
    --skip=essential/unlink \
    "$suite" "$out/rootfs" \
    "deb $mirror $suite main non-free-firmware" \
    "deb $mirror $suite-updates main non-free-firmware" \
    "deb $security_mirror $suite-security main non-free-firmware"
  # Keep the cache to what the current package set needs.
  find "$cache" -name '*.deb' -mtime +30 -delete
}

# The boot partition: the firmware, kernel, initrd and device trees the
# raspi-firmware hooks put in /boot/firmware, plus hearth.txt.
make_boot_partition() {
  log "making the FAT boot partition"
  local fat=$out/boot.vfat
  rm -f "$fat"
  mkfs.vfat -C -F 32 -n HEARTHBOOT "$fat" $((BOOT_MIB * 1024)) >/dev/null
  mcopy -s -i "$fat" "$out/rootfs/boot/firmware/"* ::/
  mcopy -i "$fat" "$here/hearth.txt" ::/hearth.txt
  find "$out/rootfs/boot/firmware" -mindepth 1 -delete
}

make_root_partition() {
  log "making the ext4 root partition"
  local ext4=$out/root.ext4 used_mib
  used_mib=$(du -sm --apparent-size "$out/rootfs" | cut -f1)
  # Room for the first boot's logs and state; hearth-setup grows it to the card.
  root_mib=$(( used_mib * 115 / 100 + 400 ))
  rm -f "$ext4"
  mkfs.ext4 -q -L hearth-root -m 1 -d "$out/rootfs" "$ext4" "${root_mib}M"
}

assemble_image() {
  log "assembling $image"
  local boot_start=$((FIRST_MIB * 2048)) boot_sectors=$((BOOT_MIB * 2048))
  rm -f "$image"
  truncate -s $(( (FIRST_MIB + BOOT_MIB + root_mib) * 1024 * 1024 )) "$image"
  sfdisk --quiet "$image" <<EOF
label: dos
unit: sectors
start=$boot_start, size=$boot_sectors, type=c, bootable
start=$((boot_start + boot_sectors)), type=83
EOF
  dd if="$out/boot.vfat" of="$image" bs=1M seek=$FIRST_MIB conv=notrunc,sparse status=none
  dd if="$out/root.ext4" of="$image" bs=1M seek=$((FIRST_MIB + BOOT_MIB)) conv=notrunc,sparse status=none
  rm -f "$out/boot.vfat" "$out/root.ext4"
}

# The download: hearth-pi-arm64.img.xz and its .sha256 beside the raw image
# (which the smoke test boots). xz -6 with HEARTH_XZ_THREADS (default 2)
# threads; the build fails if the result exceeds HEARTH_IMAGE_MAX_MB (400).
compress_image() {
  local threads=${HEARTH_XZ_THREADS:-2} max_mb=${HEARTH_IMAGE_MAX_MB:-400} started=$SECONDS size_mb
  log "compressing $image (xz -T$threads -6)"
  rm -f "$image.xz" "$image.xz.sha256"
  xz -T"$threads" -6 -k -c "$image" > "$image.xz.partial"
  mv "$image.xz.partial" "$image.xz"
  (cd "$(dirname "$image")" && sha256sum "$(basename "$image").xz" > "$(basename "$image").xz.sha256")
  size_mb=$(( ($(stat -c %s "$image.xz") + 1048575) / 1048576 ))
  printf 'compressed image (xz -T%s -6)\t%s\t%s\n' "$threads" "$(( $(stat -c %s "$image") / 1024 ))" "$(( $(stat -c %s "$image.xz") / 1024 ))" >> "$out/slim-report.tsv"
  log "compressed: $image.xz ($size_mb MiB) in $((SECONDS - started))s; sha256 in $image.xz.sha256"
  [ "$size_mb" -le "$max_mb" ] || die "$image.xz is $size_mb MiB, over the $max_mb MiB budget (HEARTH_IMAGE_MAX_MB); see $out/slim-report.tsv"
}

main() {
  SECONDS=0
  local what=${1:-all}
  case $what in all|stage|image) ;; *) die "unknown command '$what' (use stage, image or nothing for both)" ;; esac
  check_host
  mkdir -p "$out"
  if [ "$what" != image ] || [ ! -f "$out/app/dist/hearth.cjs" ] || [ ! -d "$out/modules/node_modules" ]; then stage_app; fi
  [ "$what" = stage ] && { log "staged the app in $out/app and $out/modules"; return; }
  build_rootfs
  make_boot_partition
  make_root_partition
  assemble_image
  compress_image
  remove_rootfs
  rm -rf "$out/app" "$out/modules"
  log "done: $image ($(du -h --apparent-size "$image" | cut -f1), $(du -h "$image" | cut -f1) on disk) and $image.xz in ${SECONDS}s"
  printf 'component\tKiB before\tKiB after\n'; cat "$out/slim-report.tsv"
}

# On one line: bash reads scripts as it runs them, so an edit during a build cannot shift what runs.
main "$@"; exit $?
