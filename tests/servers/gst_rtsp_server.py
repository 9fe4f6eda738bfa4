"""A GStreamer RTSP test camera, run under Debian's /usr/bin/python3 (python3-gi is built for it).

Mounts:
  /live    live test pattern, H.264 (x264enc key-int-max=GOP tune=zerolatency), never ends
  /live265 the live test pattern in H.265 (x265enc key-int-max=GOP tune=zerolatency ! rtph265pay)
  /change  the same, but the picture size switches to --change-size after --change-after seconds
  /picture/<fault>  a synthetic street scene (tests/servers/pictures.py: noise, --picture-light swing)
           that shows <fault> (freeze, black, uniform, blur, scene; normal: never) from
           --picture-before to --picture-before + --picture-during seconds of stream time, then is
           healthy again; --picture-fps frames a second, a keyframe a second; one timeline per client

Prints ``READY <port>`` on stdout once listening; runs until killed.
Not imported by the test suite (it is started as a subprocess by tests/servers/rtsp.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

if TYPE_CHECKING:
    from tests.servers.pictures import FAULTS, Scene, Timeline
else:  # run as a script by Debian's python3, beside pictures.py
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from pictures import FAULTS, Scene, Timeline


def _launch(width: int, height: int, fps: int, gop: int, bitrate: int, pattern: str) -> str:  # noqa: PLR0917
    return (
        f"( videotestsrc is-live=true pattern={pattern} ! videoscale ! videoconvert"
        f" ! capsfilter name=size caps=video/x-raw,format=I420,width={width},height={height},framerate={fps}/1"
        f" ! x264enc key-int-max={gop} tune=zerolatency speed-preset=ultrafast bitrate={bitrate} threads=1"
        " ! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )


def _picture_factory(fault: str, args: argparse.Namespace) -> GstRtspServer.RTSPMediaFactory:
    """A mount whose frames come from ``pictures.Scene`` following a ``Timeline`` in stream time."""
    width, height, fps = args.picture_size[0], args.picture_size[1], args.picture_fps
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f"( appsrc name=src format=time caps=video/x-raw,format=I420,width={width},height={height},framerate={fps}/1"
        f" ! x264enc key-int-max={fps} tune=zerolatency speed-preset=ultrafast bitrate={args.picture_bitrate}"
        " threads=1 ! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )
    factory.set_shared(False)
    timeline = Timeline(fault, args.picture_before, args.picture_during)
    duration = Gst.SECOND // fps

    def on_configure(_factory: object, media: GstRtspServer.RTSPMedia) -> None:
        src = media.get_element().get_by_name("src")
        scene = Scene(width, height, day=1.0, night=args.picture_light, period_s=60.0)
        frames = [0]

        def need_data(appsrc: Gst.Element, _length: int) -> None:
            n = frames[0]
            t = n / fps
            buffer = Gst.Buffer.new_wrapped(scene.i420(t, timeline.at(t)))
            buffer.pts = n * duration
            buffer.duration = duration
            frames[0] = n + 1
            appsrc.emit("push-buffer", buffer)

        src.connect("need-data", need_data)

    factory.connect("media-configure", on_configure)
    return factory


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--gop", type=int, default=25)
    parser.add_argument("--bitrate", type=int, default=512, help="kbit/s")
    parser.add_argument("--pattern", default="ball")
    parser.add_argument("--shared", action="store_true", help="one encoder for every client of a mount")
    parser.add_argument("--change-after", type=float, default=2.0)
    parser.add_argument("--change-size", default="480x360")
    parser.add_argument("--picture-before", type=float, default=8.0, help="healthy seconds before the fault")
    parser.add_argument("--picture-during", type=float, default=8.0, help="seconds the fault lasts")
    parser.add_argument("--picture-fps", type=int, default=10)
    parser.add_argument("--picture-bitrate", type=int, default=2000, help="kbit/s")
    parser.add_argument("--picture-light", type=float, default=0.6, help="light at the dim end of a 60 s swing")
    parser.add_argument(
        "--picture-size", type=lambda v: tuple(int(n) for n in v.split("x")), default=(320, 240), help="WxH"
    )
    args = parser.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    mounts = server.get_mount_points()

    live = GstRtspServer.RTSPMediaFactory()
    live.set_launch(_launch(args.width, args.height, args.fps, args.gop, args.bitrate, args.pattern))
    live.set_shared(args.shared)
    mounts.add_factory("/live", live)

    live265 = GstRtspServer.RTSPMediaFactory()
    live265.set_launch(
        f"( videotestsrc is-live=true pattern={args.pattern} ! videoscale ! videoconvert"
        f" ! video/x-raw,format=I420,width={args.width},height={args.height},framerate={args.fps}/1"
        f" ! x265enc key-int-max={args.gop} tune=zerolatency speed-preset=ultrafast bitrate={args.bitrate}"
        " ! video/x-h265,profile=main ! rtph265pay name=pay0 pt=96 config-interval=-1 )"
    )
    live265.set_shared(args.shared)
    mounts.add_factory("/live265", live265)

    change = GstRtspServer.RTSPMediaFactory()
    change.set_launch(_launch(args.width, args.height, args.fps, args.gop, args.bitrate, args.pattern))
    change.set_shared(False)
    new_w, new_h = (int(v) for v in args.change_size.split("x"))

    def on_configure(_factory: object, media: GstRtspServer.RTSPMedia) -> None:
        element = media.get_element()
        caps_filter = element.get_by_name("size")

        def switch() -> bool:
            caps = Gst.Caps.from_string(f"video/x-raw,format=I420,width={new_w},height={new_h},framerate={args.fps}/1")
            caps_filter.set_property("caps", caps)
            return False

        GLib.timeout_add(int(args.change_after * 1000), switch)

    change.connect("media-configure", on_configure)
    mounts.add_factory("/change", change)

    for fault in FAULTS:
        mounts.add_factory(f"/picture/{fault}", _picture_factory(fault, args))

    if server.attach(None) == 0:
        print("ERROR cannot listen", flush=True)
        return 1
    print(f"READY {server.get_bound_port()}", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
