"""At start-up, the config's model files (the shipped defaults) enter the registry, so it shows what runs."""
from __future__ import annotations

import json
import logging

from api.context import Services
from vigil.catalogue import PROFILE_CLASSES
from vigil.errors import VigilError

log = logging.getLogger(__name__)


def card_metrics(onnx_path) -> dict:
    """What the model card beside the file (`<name>.json`) reports, plus the image size the model runs at."""
    card = onnx_path.with_suffix(".json")
    try:
        return json.loads(card.read_text()) if card.is_file() else {}
    except (OSError, ValueError) as e:
        log.warning("model card %s unreadable (%s); registering without its metrics", card, e)
        return {}


def adopt_config_models(services: Services) -> list[str]:
    """Register and promote each profile's configured .onnx file unless people promoted another; returns the
    profiles adopted. A missing file is left to the runtime, which says so and runs without detection."""
    from training.registry import adopt_shipped_model

    adopted = []
    for profile, det in services.loaded.config.detectors.items():
        path = services.loaded.resolve(det.model)
        if path.suffix != ".onnx" or not path.is_file():
            continue
        metrics = {"imgsz": det.imgsz, "card": card_metrics(path), "source": str(path)}
        try:
            rec = adopt_shipped_model(services.sessions, services.data_dir, path, profile=profile,
                                      classes=PROFILE_CLASSES[profile], metrics=metrics)
        except VigilError as e:
            log.error("profile %s: could not register the shipped model %s: %s", profile, path, e)
            continue
        if rec is not None:
            log.info("profile %s: shipped model %s registered as %s and promoted", profile, path.name, rec.version)
            adopted.append(profile)
    return adopted
