"""A dataset build's worker process: builds one version and reports its progress and outcome to the server."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from datasets.versions import BuildSpec, VersionInfo, build_dataset
from vigil.errors import VigilError
from vigil.redact import redact_text
from vigil.store import EvidenceStore
from vigil.worker_process import Send, WorkerContext, ignore_terminate, raise_on_terminate

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 0.25  # a 50 x 600 s request renders many thousand frames: report counts, not each one


class BuildStopped(BaseException):
    """SIGTERM reached the build (it was cancelled, or the server shut down). A BaseException, so no broad
    `except Exception` inside the build swallows it; `finally` blocks still remove what it half wrote."""


@dataclass(frozen=True)
class BuildProgress:
    stage: str  # gathering | reviews | scenes | writing ...
    items: int  # done in this stage so far


@dataclass(frozen=True)
class BuildOutcome:
    status: str  # done | failed | cancelled
    version: VersionInfo | None = None
    error: str = ""


def work_on_build(send: Send, ctx: WorkerContext, store: EvidenceStore, spec: BuildSpec) -> None:
    """A worker process's whole life: build `spec`, sending `BuildProgress` as it goes, then one `BuildOutcome`."""
    raise_on_terminate(BuildStopped)
    counts: dict[str, int] = {}
    sent_at = 0.0
    last = BuildProgress("gathering", 0)

    def progress(stage: str, n: int) -> None:
        nonlocal sent_at, last
        counts[stage] = counts.get(stage, 0) + n
        last = BuildProgress(stage, counts[stage])
        if time.monotonic() - sent_at >= PROGRESS_EVERY_S:
            sent_at = time.monotonic()
            send(last)

    engine, sessions = ctx.open_sessions()
    try:
        send(last)
        version = build_dataset(sessions, store, ctx.data_dir, spec, progress)
        ignore_terminate()  # stored and recorded: report it rather than lose the news
        send(last)
        send(BuildOutcome("done", version))
    except BuildStopped as e:
        log.info("dataset build stopped: %s", e)
        send(BuildOutcome("cancelled"))
    except Exception as e:  # the build's boundary: say why to the server
        log.exception("dataset build failed")
        msg = str(e) if isinstance(e, VigilError) else f"{type(e).__name__}: {e}"
        send(BuildOutcome("failed", error=redact_text(msg)[:2000]))
    finally:
        engine.dispose()
