"""A GStreamer RTSP test server looping MPEG-TS files; run with the system /usr/bin/python3 (python3-gi).

usage: rtsp_server.py PORT MOUNT=FILE.ts[:h264|h265] ...   prints "READY <port>" once it listens.
Also: rtsp_server.py --silent PORT  (accepts TCP connections and never answers: a hung camera).
"""
import socket
import sys
import threading
import time


def silent(port: int) -> None:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(16)
    print(f"READY {port}", flush=True)
    held = []
    while True:
        conn, _ = srv.accept()
        held.append(conn)  # keep it open, read nothing back, send nothing


def serve(port: int, mounts: list[str]) -> None:
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer

    Gst.init(None)

    def answer_seeking(pad, info):
        # rtsp-media asks whether the stream can seek; unanswered, PLAY gets 503. Handling the query
        # unchanged answers "not seekable" (the query is not writable from Python, and need not be).
        query = info.get_query()
        if query is not None and query.type == Gst.QueryType.SEEKING:
            return Gst.PadProbeReturn.HANDLED
        return Gst.PadProbeReturn.OK

    def on_configure(factory, media):
        pay = media.get_element().get_by_name("pay0")
        pay.get_static_pad("src").add_probe(Gst.PadProbeType.QUERY_UPSTREAM, answer_seeking)

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    table = server.get_mount_points()
    for spec in mounts:
        mount, rest = spec.split("=", 1)
        path, _, codec = rest.partition(":")
        codec = codec or "h264"
        parse, pay = ("h265parse", "rtph265pay") if codec == "h265" else ("h264parse", "rtph264pay")
        launch = (f"( multifilesrc location={path} loop=true ! tsdemux ! {parse} config-interval=-1 ! "
                  f"{pay} name=pay0 pt=96 config-interval=-1 )")
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch)
        factory.set_shared(True)
        factory.connect("media-configure", on_configure)
        table.add_factory("/" + mount, factory)
    if server.attach(None) == 0:
        print(f"FAILED to bind 127.0.0.1:{port}", flush=True)
        sys.exit(2)
    print(f"READY {port}", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    if sys.argv[1] == "--silent":
        silent(int(sys.argv[2]))
    else:
        serve(int(sys.argv[1]), sys.argv[2:])
