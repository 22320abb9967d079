"""ModelWatcher: promoted, rolled back to the config's model, and a broken model file that is not swapped in."""
from __future__ import annotations

import shutil

from api.context import Services
from api.service.model_watch import ModelWatcher
from training.registry import promote, register_model, rollback
from vigil.catalogue import PROFILE_CLASSES
from vigil.settings import Settings


def test_watcher_swaps_on_promote_and_rollback_and_skips_a_broken_model(tmp_path, site_toy_model):
    shutil.copyfile(site_toy_model.onnx, tmp_path / "base.onnx")
    cfg = tmp_path / "vigil.yaml"
    cfg.write_text("data_dir: data\nsites: {yard: {name: Yard, kind: site}}\n"
                   "cameras: {cam: {site: yard, source: x.mp4}}\ndetectors: {site: {model: base.onnx, imgsz: 64}}\n")
    services = Services.open(Settings.from_env(environ={}, config_path=cfg))
    swaps = []
    watcher = ModelWatcher(services, lambda profile, det: swaps.append((profile, det.info.version, det.info.imgsz)))
    assert watcher.check() == [] and watcher.current_path("site") is None
    S, d = services.sessions, services.data_dir
    m1 = register_model(S, d, site_toy_model.onnx, profile="site", classes=PROFILE_CLASSES["site"],
                        dataset_version_id=None, metrics={"imgsz": 96}, trained_by="dana")
    promote(S, m1.id, "boss", role="admin", force=True, evaluator=lambda c, b: ({"map50": 0.0}, None))
    assert watcher.check() == ["site"] and swaps[-1] == ("site", "v1", 96)
    assert watcher.current_path("site")[0] == d / "models" / "site" / "v1.onnx"
    rollback(S, "site", "dana")
    assert watcher.check() == ["site"]
    assert swaps[-1][1] != "v1" and swaps[-1][2] == 64  # the config's model, at the config's size
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    m2 = register_model(S, d, broken, profile="site", classes=PROFILE_CLASSES["site"], dataset_version_id=None,
                        metrics={}, trained_by="dana")
    promote(S, m2.id, "boss", role="admin", force=True, evaluator=lambda c, b: ({"map50": 0.0}, None))
    n = len(swaps)
    assert watcher.check() == [] and watcher.check() == [] and len(swaps) == n  # logged once, pipelines untouched
    services.close()
