#!/usr/bin/env bash
# Install the Debian packages the tests need (the GStreamer RTSP server for Debian's
# /usr/bin/python3, ffmpeg for the benchmark baseline, nats-server for the events sink, promtool from
# prometheus for the chart's alert tests, chromium and its WebDriver for the console's browser tests). Installs as root or through
# sudo; where it can do neither, prints the exact command to run and fails.
#   scripts/system-deps.sh image   instead installs what the image build and its test need
#                                  (buildah, mmdebstrap: `make image-deps`)
set -euo pipefail

PACKAGES=(gir1.2-gst-rtsp-server-1.0 python3-gi python3-numpy gstreamer1.0-plugins-base gstreamer1.0-plugins-good
          gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-tools ffmpeg
          nats-server prometheus chromium chromium-driver)

have_all() {
  command -v ffmpeg >/dev/null 2>&1 || return 1
  command -v nats-server >/dev/null 2>&1 || test -x /usr/sbin/nats-server || return 1
  command -v promtool >/dev/null 2>&1 || return 1
  test -x /usr/bin/chromium && test -x /usr/bin/chromedriver || return 1
  /usr/bin/python3 - <<'PY' >/dev/null 2>&1 || return 1
import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer  # noqa: F401
import numpy  # noqa: F401 - the picture-health mounts draw their frames with it
Gst.init(None)
for name in ("x264enc", "rtph264pay", "videotestsrc", "h264parse"):
    assert Gst.ElementFactory.find(name), name
PY
}

if [ "${1:-}" = image ]; then
  PACKAGES=(buildah mmdebstrap)
  have_all() { command -v buildah >/dev/null 2>&1 && command -v mmdebstrap >/dev/null 2>&1; }
fi

if have_all; then
  exit 0
fi

line="apt-get update && apt-get install -y ${PACKAGES[*]}"
if [ "$(id -u)" -eq 0 ]; then
  runner=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  runner=(sudo)
else
  echo "camops tests need Debian packages this user cannot install. Run as root:" >&2
  echo "  sudo sh -c '$line'" >&2
  exit 1
fi
echo "installing Debian packages: ${PACKAGES[*]}"
"${runner[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${runner[@]}" apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
have_all || { echo "the packages installed but the tools they provide still do not work" >&2; exit 1; }
