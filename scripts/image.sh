#!/usr/bin/env bash
# Build the camops image (Dockerfile) with whichever engine this machine has: docker (with a running
# daemon), podman or buildah. `make image` runs this.
#
#   IMAGE         tag to build (default localhost/camops:dev)
#   IMAGE_ENGINE  docker, podman or buildah (default: the first one present that works)
#   IMAGE_BASE    registry   : the Dockerfile's default base, python:3.11-slim-bookworm (needs a registry)
#                 mmdebstrap : two Debian bookworm bases (python3.11 from Debian; a runtime one and one for the
#                              build stage) made here by mmdebstrap from Debian's packages and imported into
#                              buildah; no registry needed
#                 auto       : mmdebstrap when buildah is the only engine, registry otherwise (default)
#   DEBIAN_MIRROR mirror mmdebstrap downloads from (default http://deb.debian.org/debian)
#   PIP_CERT      CA bundle for pip in the build stage (podman/buildah; default: the system bundle)
#
# Each base is built once and reused (its name carries a hash of how it is made); buildah caches the
# Dockerfile's layers, so a rebuild after a code change only reinstalls camops itself.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localhost/camops:dev}
IMAGE_BASE=${IMAGE_BASE:-auto}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# The runtime base: python3.11 and what the wheels link (libstdc++6: numpy's and PyAV's wheels link it,
# the official python:slim image has it too). No python3-venv: the venv is made in the build stage.
BASE_PACKAGES=python3,python-is-python3,ca-certificates,passwd,libstdc++6
# ... with nothing the image runs: glibc's iconv modules (Python and the wheels bring their own codecs) and
# perl (the base has no apt; nothing else runs it)
BASE_TRIM="rm -rf \"\$1\"/usr/lib/x86_64-linux-gnu/gconv \"\$1\"/usr/lib/*-linux-gnu/perl-base \"\$1\"/usr/bin/perl \"\$1\"/usr/bin/perl5.*"
# The build stage's base: the same Python with venv (ensurepip) and binutils (strip).
BUILD_PACKAGES=python3,python3-venv,python-is-python3,ca-certificates,passwd,libstdc++6,binutils
#: bump when the mmdebstrap command below changes, so the next build makes new bases
BASE_RECIPE=2

engine=${IMAGE_ENGINE:-}
if [ -n "$engine" ]; then
  command -v "$engine" >/dev/null 2>&1 || { echo "IMAGE_ENGINE=$engine is not installed" >&2; exit 1; }
elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  engine=docker
elif command -v podman >/dev/null 2>&1; then
  engine=podman
elif command -v buildah >/dev/null 2>&1; then
  engine=buildah
else
  echo "no container engine: install docker, podman or buildah (Debian: make image-deps installs buildah)" >&2
  exit 1
fi
if [ "$IMAGE_BASE" = auto ]; then
  if [ "$engine" = buildah ]; then IMAGE_BASE=mmdebstrap; else IMAGE_BASE=registry; fi
fi

# mmdebstrap_base NAME PACKAGES HOOK: a Debian bookworm image made by mmdebstrap from Debian's packages
# (PACKAGES, comma-separated; HOOK runs on the root file system "$1" before it is packed), imported into
# buildah as localhost/NAME:bookworm-<hash of the recipe> and reused while the recipe stays the same.
# Prints the image's name.
mmdebstrap_base() {
  local name=$1 packages=$2 hook=$3
  local recipe="bookworm $packages $hook $DEBIAN_MIRROR $BASE_RECIPE"
  local image
  image="localhost/$name:bookworm-$(printf '%s' "$recipe" | sha256sum | cut -c1-12)"
  if ! buildah inspect --type image "$image" >/dev/null 2>&1; then
    local work ctr
    work=$(mktemp -d)
    # this function runs in a subshell ($(...)): its EXIT is the subshell's
    trap "rm -rf '$work'" EXIT
    echo "building the base $image with mmdebstrap from $DEBIAN_MIRROR" >&2
    mmdebstrap --quiet --variant=essential --include="$packages" \
      --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
      --aptopt='APT::Install-Recommends "false"' --aptopt='Acquire::Retries "3"' \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --customize-hook="$hook" \
      bookworm "$work/base.tar" "deb $DEBIAN_MIRROR bookworm main" "deb $DEBIAN_MIRROR bookworm-updates main" \
      "deb ${DEBIAN_MIRROR%/debian}/debian-security bookworm-security main" >&2
    ctr=$(buildah from scratch)
    buildah add --quiet "$ctr" "$work/base.tar" / >/dev/null
    buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 \
      --cmd python3 "$ctr"
    buildah commit --quiet --rm "$ctr" "$image" >/dev/null
  fi
  echo "$image"
}

build_args=()
if [ "$IMAGE_BASE" = mmdebstrap ]; then
  command -v mmdebstrap >/dev/null 2>&1 || { echo "IMAGE_BASE=mmdebstrap needs mmdebstrap (make image-deps)" >&2; exit 1; }
  command -v buildah >/dev/null 2>&1 || { echo "IMAGE_BASE=mmdebstrap needs buildah to import the base" >&2; exit 1; }
  base=$(mmdebstrap_base camops-base "$BASE_PACKAGES" "$BASE_TRIM")
  build_base=$(mmdebstrap_base camops-build-base "$BUILD_PACKAGES" true)
  build_args=(--build-arg "PYTHON_IMAGE=$base" --build-arg "BUILD_IMAGE=$build_base")
fi

# The build stage's pip trusts what this machine trusts: PIP_CERT, else the system CA bundle (a machine
# whose HTTPS goes through an inspecting proxy has the proxy's CA there), as a read-only mount that is
# never a layer of the image.
run_opts=()
ca=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}
if [ -f "$ca" ] && [ "$engine" != docker ]; then
  run_opts=(--volume "$ca:/run/camops-build/ca.crt:ro" --build-arg PIP_CERT=/run/camops-build/ca.crt)
fi

echo "building $IMAGE with $engine (base: ${build_args[*]:-the Dockerfile default})"
case $engine in
  docker) docker build "${build_args[@]}" -t "$IMAGE" . ;;
  podman) podman build --layers "${build_args[@]}" "${run_opts[@]}" -t "$IMAGE" . ;;
  buildah) buildah build --quiet --isolation chroot --network host --layers "${build_args[@]}" "${run_opts[@]}" \
    -t "$IMAGE" . ;;
esac
echo "built $IMAGE"
