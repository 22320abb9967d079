"""The shipped default models enter the registry at start-up without displacing what people promoted."""
from __future__ import annotations

import json
import shutil

from api.context import Services
from api.service.shipped import adopt_config_models
from training import registry
from vigil.audit import verify_chain
from vigil.settings import Settings


def _services(tmp_path, model_path):
    cfg = tmp_path / "vigil.yaml"
    cfg.write_text(f"data_dir: {tmp_path}/data\nsites: {{w: {{name: W}}}}\n"
                   f"cameras: {{g: {{site: w, source: demo:site}}}}\n"
                   f"detectors: {{site: {{model: {model_path}, imgsz: 64}}}}\n")
    return Services.open(Settings.from_env({}, cfg))


def test_shipped_model_is_adopted_once_and_upgraded(tmp_path, site_toy_model):
    model = tmp_path / "site.onnx"
    shutil.copyfile(site_toy_model.onnx, model)
    model.with_suffix(".json").write_text(json.dumps({"real_heldout": {"mAP50": 0.42}}))
    services = _services(tmp_path, model)

    assert adopt_config_models(services) == ["site"]
    first = registry.promoted_model(services.sessions, "site")
    assert first.trained_by == registry.SHIPPED_BY and first.version == "v1"
    assert first.metrics["card"]["real_heldout"]["mAP50"] == 0.42 and first.metrics["imgsz"] == 64
    assert first.path.is_file() and first.path.parent == services.data_dir / "models" / "site"
    assert adopt_config_models(services) == []  # same file: nothing to do

    shutil.copyfile(site_toy_model.onnx_static, model)  # a newer shipped file (different bytes)
    assert adopt_config_models(services) == ["site"]
    second = registry.promoted_model(services.sessions, "site")
    assert second.version == "v2" and registry.get_model(services.sessions, first.id).status == "retired"
    with services.sessions() as s:
        assert verify_chain(s).ok


def test_people_promoted_model_is_never_displaced(tmp_path, site_toy_model):
    model = tmp_path / "site.onnx"
    shutil.copyfile(site_toy_model.onnx, model)
    services = _services(tmp_path, model)
    theirs = registry.register_model(services.sessions, services.data_dir, site_toy_model.onnx_static,
                                     profile="site", classes=("fire", "smoke"), dataset_version_id=None,
                                     metrics={"evaluation": {"candidate": {"map50": 0.5}}}, trained_by="dana")
    registry.promote(services.sessions, theirs.id, "dana")
    assert adopt_config_models(services) == []
    assert registry.promoted_model(services.sessions, "site").id == theirs.id


def test_rolled_back_shipped_file_stays_out(tmp_path, site_toy_model):
    model = tmp_path / "site.onnx"
    shutil.copyfile(site_toy_model.onnx, model)
    services = _services(tmp_path, model)
    adopt_config_models(services)
    assert registry.rollback(services.sessions, "site", "dana") is None
    assert adopt_config_models(services) == []
    assert registry.promoted_model(services.sessions, "site") is None
