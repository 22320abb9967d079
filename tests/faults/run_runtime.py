"""A camera runtime in its own process for the kill/restart tests: `python -m tests.faults.run_runtime CONFIG STATUS`.

Runs what `vigil serve` runs for cameras (start_runtime), with the clock-scripted detector; writes "opened open"
to STATUS every 50 ms (atomic rename); SIGTERM stops it the way the server stops.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path


def main() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    from api.service.runtime import start_runtime
    from streams.recorder import RecorderConfig
    from tests.faults.conftest import open_services
    from tests.faults.rig import ClockFire
    from vigil.db.instance_lock import InstanceLock
    from vigil.outbox import Backoff

    cfg, status = Path(sys.argv[1]), Path(sys.argv[2])
    services = open_services(cfg, dict(os.environ))
    InstanceLock(services.engine, services.data_dir).acquire()
    runtime = start_runtime(services, detectors={"site": ClockFire()}, backoff=Backoff(0.2, 2.0),
                            recorder_config=RecorderConfig(revision_interval_s=2), watch_models=False)
    rec = runtime.supervisor.recorder
    while not stop.wait(0.05):
        tmp = status.with_suffix(".tmp")
        tmp.write_text(f"{rec.opened} {rec.open_events()}\n")
        os.replace(tmp, status)
    runtime.stop()
    status.write_text(f"{rec.opened} 0 stopped\n")


if __name__ == "__main__":
    main()
