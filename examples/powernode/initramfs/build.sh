#!/usr/bin/env bash
# Build the PowerNode kernel + initramfs (and disk-image inputs) for one arch.
#
#   ./build.sh --arch amd64|arm64 [--variants kernel-initrd,disk-image-rpi4] [--out build]
#
# Environment:
#   APT_SNAPSHOT       APT snapshot timestamp every apt call is pinned to
#                      (vendor item `dracut-apt-snapshot`)
#   KERNEL_VERSION     kernel ABI to bundle, e.g. 6.8.0-45-generic (vendor item
#                      `kernel`); empty: the running kernel, then the newest one
#   BASE_IMAGE, BASE_IMAGE_DIGEST   builder container (digest optional)
#   POWERNODE_OFFLINE_DEV=1         build on this host, no container (dev only)
set -euo pipefail

arch="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
variants="kernel-initrd"
out="build"
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch="$2"; shift 2 ;;
    --variants) variants="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument: $1" >&2; exit 64 ;;
  esac
done

: "${APT_SNAPSHOT:?set APT_SNAPSHOT (YYYYMMDDTHHMMSSZ)}"
if ! [[ "$APT_SNAPSHOT" =~ ^[0-9]{8}T[0-9]{6}Z$ ]]; then
  echo "build.sh: APT_SNAPSHOT must look like 20240301T000000Z, got '$APT_SNAPSHOT'" >&2
  exit 64
fi
# Every timestamp in the outputs derives from the snapshot, so two builds of
# the same inputs are byte-identical (the M3 reproducibility gate).
s="$APT_SNAPSHOT"
SOURCE_DATE_EPOCH="$(date -u -d "${s:0:4}-${s:4:2}-${s:6:2} ${s:9:2}:${s:11:2}:${s:13:2}" +%s)"
export SOURCE_DATE_EPOCH

here="$(cd "$(dirname "$0")" && pwd)"
dest="$out/$arch"

# Re-run inside the pinned builder image unless we already are in it.
if [ -z "${POWERNODE_OFFLINE_DEV:-}" ] && [ ! -e /.powernode-builder ]; then
  image="${BASE_IMAGE:-mirror.powernode.internal/library/ubuntu:24.04}${BASE_IMAGE_DIGEST:+@$BASE_IMAGE_DIGEST}"
  exec docker run --rm --platform "linux/$arch" \
    -e APT_SNAPSHOT -e KERNEL_VERSION -e SOURCE_DATE_EPOCH \
    -v "$here/..:/src" -w /src/initramfs "$image" \
    bash -c 'touch /.powernode-builder && exec ./build.sh "$@"' build.sh \
    --arch "$arch" --variants "$variants" --out "$out"
fi

install_builder_deps() {
  local kpkgs=(linux-image-generic)
  if [ -n "${KERNEL_VERSION:-}" ]; then
    kpkgs=("linux-image-$KERNEL_VERSION" "linux-modules-$KERNEL_VERSION")
  fi
  apt-get update --snapshot "$APT_SNAPSHOT"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    --snapshot "$APT_SNAPSHOT" dracut-core zstd jq "${kpkgs[@]}"
}

# KERNEL_VERSION, then the running kernel, then the newest kernel that has
# both modules and a /boot/vmlinuz-*.
select_kernel() {
  if [ -n "${KERNEL_VERSION:-}" ]; then
    echo "$KERNEL_VERSION"
    return
  fi
  local k
  for k in "$(uname -r)" $(ls -1 /lib/modules 2>/dev/null | sort -V -r); do
    if [ -d "/lib/modules/$k" ] && [ -e "/boot/vmlinuz-$k" ]; then
      echo "$k"
      return
    fi
  done
  echo "build.sh: no kernel with modules and /boot/vmlinuz-* found" >&2
  return 1
}

build_kernel_initrd() {
  local kver
  kver="$(select_kernel)"
  if [ ! -e "/boot/vmlinuz-$kver" ]; then
    echo "build.sh: kernel $kver is not installed; is it in snapshot $APT_SNAPSHOT?" >&2
    exit 1
  fi
  mkdir -p "$dest"
  cp "/boot/vmlinuz-$kver" "$dest/vmlinuz"
  dracut --force --reproducible --no-hostonly --compress zstd \
    --kver "$kver" "$dest/initrd.img"
  echo "$kver" > "$dest/kernel-version"
}

# The Pi 4 boot blobs are vendored (item `rpi4-firmware`), not downloaded here.
stage_rpi4_firmware() {
  local fw="$here/../templates/example-modules/rpi4-firmware/boot"
  if [ ! -e "$fw/start4.elf" ]; then
    echo "build.sh: rpi4 firmware not installed; run 'vendor apply rpi4-firmware'" >&2
    exit 1
  fi
  mkdir -p "$dest/boot-firmware"
  cp -r "$fw/." "$dest/boot-firmware/"
}

write_manifest() {
  (cd "$dest" && find . -type f ! -name build-manifest.json -printf '%P\n' |
    LC_ALL=C sort | xargs -r -d '\n' sha256sum) |
    jq -R -s --arg arch "$arch" --arg snap "$APT_SNAPSHOT" \
      --arg kver "$(cat "$dest/kernel-version" 2>/dev/null || true)" \
      '{arch: $arch, apt_snapshot: $snap, kernel_version: $kver,
        files: [split("\n")[] | select(length > 0)
                | capture("^(?<sha256>[0-9a-f]{64})  (?<path>.+)$")]}' \
      > "$dest/build-manifest.json"
}

install_builder_deps
IFS=, read -r -a wanted <<< "$variants"
for v in "${wanted[@]}"; do
  case "$v" in
    kernel-initrd) build_kernel_initrd ;;
    disk-image-rpi4) stage_rpi4_firmware ;;
    disk-image-generic) ;; # assembled from kernel-initrd by the image job
    *) echo "build.sh: unknown variant: $v" >&2; exit 64 ;;
  esac
done
write_manifest
echo "build.sh: $dest/build-manifest.json ($(sha256sum "$dest/build-manifest.json" | cut -d' ' -f1))"
