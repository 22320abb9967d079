"""The live bench's rows, its table and ratios, the plot and the docs section."""
from __future__ import annotations

import platform
import statistics
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "BENCHMARKS.md"
PLOT = REPO / "docs" / "bench_live.png"
SECTION = "## Live cameras: Vigil against ultralytics' loop"
BOX_CORES = 2.0


@dataclass
class Row:
    label: str
    size: str
    n: int
    target_fps: float
    window_s: float  # the measured span
    cores: float
    fps: list[float]  # analysed frames per second, per camera
    lag_s: float | None
    lag_growing: bool
    rss_mb: float
    detector_ms: float | None
    batch: float | None
    motion_skip: float | None
    decoded_fps: float | None  # frames decoded per second per camera (Vigil)

    @property
    def held(self) -> bool:
        """Every camera analysed at >= 95% of its target rate (less one frame: at the keyframe rate a window holds
        one keyframe more or less), and no growing lag."""
        need = max(0.95 * self.target_fps * self.window_s - 1, 0.0) / self.window_s
        return bool(self.fps) and min(self.fps) >= need and not self.lag_growing

    @property
    def per_camera(self) -> float:
        return self.cores / self.n

    def line(self) -> str:
        def f(v, fmt):
            return "–" if v is None else format(v, fmt)
        return (f"| {self.label} | {self.size} | {self.n} | {'yes' if self.held else 'no'} | {self.cores:.2f} | "
                f"{self.per_camera:.3f} | {min(self.fps):.2f} / {statistics.fmean(self.fps):.2f} "
                f"({self.target_fps:.2f}) | {f(self.decoded_fps, '.1f')} | {self.rss_mb:.0f} | "
                f"{f(self.detector_ms, '.1f')} | {f(self.batch, '.2f')} | {f(self.motion_skip, '.2f')} | "
                f"{f(self.lag_s, '.2f')} |")


HEADER = ("| mode | main stream | cameras | held | cores | core per camera | analysed fps per camera, min / mean "
          "(target) | decoded fps per camera | RSS MB | detector ms per frame | batch | motion skip | lag s |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def box_capacity(rows: list[Row], free_share: float = 0.0) -> dict[tuple[str, str], float]:
    """Cameras one 2-core box holds per (mode, size): the held rows' core per camera, at the largest N held,
    projected to the box's cores less `free_share` of it (a third free: 1/3)."""
    out: dict[tuple[str, str], float] = {}
    for r in rows:
        if r.held:
            key = (r.label, r.size)
            cap = BOX_CORES * (1 - free_share) / r.per_camera
            best = max((x for x in rows if x.held and (x.label, x.size) == key), key=lambda x: x.n)
            if r is best:
                out[key] = cap
    return out


def ratios(rows: list[Row]) -> list[str]:
    lines = []
    cap = box_capacity(rows)
    cap_free = box_capacity(rows, 1 / 3)
    sizes = sorted({r.size for r in rows})
    for size in sizes:
        held = {lbl: max((r.n for r in rows if r.held and r.label == lbl and r.size == size), default=0)
                for lbl in dict.fromkeys(r.label for r in rows if r.size == size)}
        lines.append(f"- **{size}**: cameras held in real time in this run: "
                     + ", ".join(f"{lbl} {n}" for lbl, n in held.items()) + ".")
        for lbl, c in cap.items():
            if lbl[1] == size:
                lines.append(f"  - {lbl[0]}: one 2-core box projects to **{c:.0f}** cameras "
                             f"({cap_free[lbl]:.0f} leaving a third of the box free).")
        vig = [(lbl, c) for (lbl, s), c in cap.items() if s == size and lbl.startswith("Vigil")]
        ult = [(lbl, c) for (lbl, s), c in cap.items() if s == size and lbl.startswith("ultralytics")]
        for v_lbl, v in vig:
            for u_lbl, u in ult:
                lines.append(f"  - {v_lbl} ÷ {u_lbl}: **{v / u:.1f}×** the cameras per box.")
    return lines


def plot(rows: list[Row], path: Path = PLOT) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    for key in dict.fromkeys((r.label, r.size) for r in rows):
        pts = sorted((r.n, r.cores, r.held) for r in rows if (r.label, r.size) == key)
        line, = ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"{key[0]} ({key[1]})")
        ax.scatter([p[0] for p in pts if not p[2]], [p[1] for p in pts if not p[2]], marker="x", s=80,
                   color=line.get_color())
    ax.axhline(BOX_CORES, color="grey", linestyle="--", linewidth=1)
    ax.axhline(BOX_CORES * 2 / 3, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("cameras (x: fell behind)")
    ax.set_ylabel("CPU cores used")
    ax.set_title("Live RTSP cameras on a 2-core box")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def render(rows: list[Row], command: str, plot_path: Path = PLOT) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), "unknown CPU")
    made = plot(rows, plot_path)
    parts = [f"Command: `{command}` ({when}; {cpu}, {BOX_CORES:.0f} cores, Python {platform.python_version()}).",
             "", HEADER, *(r.line() for r in rows), "", *ratios(rows)]
    if made is not None:
        parts += ["", f"![cores against cameras]({made.name})"]
    return "\n".join(parts)


def write_docs(table: str, docs: Path = DOCS) -> None:
    text = docs.read_text()
    intro = ("Live 25 fps H.264 RTSP cameras (the real site clip, GOP 2 s) served by GStreamer's RTSP server on the "
             "same box. `vigil serve` runs with its defaults (the float site model, one process), and in the rows that "
             "say so with a 360p sub-stream for detection, the int8 copy of the detector (`models/site.int8.onnx`) "
             "or `server.camera_processes: 2`, read through its own `/metrics`; ultralytics runs "
             "`YOLO(model).track(source=LIST.streams, stream=True, imgsz=320)` on the same ONNX file. CPU is each "
             "process tree's (the service with its camera processes). Held: every camera analysed at >= 95% of its "
             "target rate, lag not growing.")
    body = f"{SECTION}\n\n{intro}\n\n{table}\n"
    if SECTION in text:
        start = text.index(SECTION)
        nxt = text.find("\n## ", start + len(SECTION))
        text = text[:start] + body + (text[nxt:] if nxt != -1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + body
    docs.write_text(text)
