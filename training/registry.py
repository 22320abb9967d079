"""The model registry: register trained models, promote through the evaluation gate, force (admin), roll back."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from training.gate import GateDecision, GatePolicy, decide
from vigil import audit
from vigil.catalogue import PROFILE_CLASSES
from vigil.db.models import DatasetVersion, ModelVersion
from vigil.errors import AuthError, NotFoundError, TrainingError
from vigil.types import utcnow
from vision.detector import file_sha256

ADMIN_ROLE = "admin"
# Compares a candidate with the promoted model on one frozen test split: (candidate, baseline) -> metric dicts.
Evaluator = Callable[["ModelRecord", "ModelRecord"], tuple[dict, dict]]


@dataclass(frozen=True)
class ModelRecord:
    id: int
    name: str
    version: str
    profile: str
    path: Path
    sha256: str
    classes: tuple[str, ...]
    dataset_version: str | None
    metrics: dict
    status: str  # candidate | promoted | retired | rejected
    trained_by: str
    created_at: datetime
    promoted_by: str | None
    promoted_at: datetime | None


@dataclass(frozen=True)
class PromotionResult:
    promoted: bool
    forced: bool
    decision: GateDecision
    model: ModelRecord
    previous: ModelRecord | None


def _record(s: Session, row: ModelVersion) -> ModelRecord:
    ds = s.get(DatasetVersion, row.dataset_version_id).name if row.dataset_version_id else None
    return ModelRecord(row.id, row.name, row.version, row.profile, Path(row.path), row.sha256, tuple(row.classes),
                       ds, dict(row.metrics), row.status, row.trained_by, row.created_at, row.promoted_by,
                       row.promoted_at)


def weights_of(record: ModelRecord) -> Path | None:
    """The registered model's .pt checkpoint (for fine-tuning), if it was kept."""
    pt = record.path.with_suffix(".pt")
    return pt if pt.is_file() else None


def models_root(data_dir: Path) -> Path:
    return Path(data_dir) / "models"


def list_models(sessions: sessionmaker[Session], profile: str | None = None) -> list[ModelRecord]:
    with sessions() as s:
        q = select(ModelVersion).order_by(ModelVersion.id)
        if profile:
            q = q.where(ModelVersion.profile == profile)
        return [_record(s, r) for r in s.scalars(q)]


def get_model(sessions: sessionmaker[Session], model_id: int) -> ModelRecord:
    with sessions() as s:
        row = s.get(ModelVersion, model_id)
        if row is None:
            raise NotFoundError(f"model version {model_id} not found")
        return _record(s, row)


def promoted_model(sessions: sessionmaker[Session], profile: str) -> ModelRecord | None:
    """The model now promoted for `profile`, or None (running pipelines then use the config's model)."""
    with sessions() as s:
        row = s.scalars(select(ModelVersion).where(ModelVersion.profile == profile, ModelVersion.status == "promoted")
                        .order_by(ModelVersion.promoted_at.desc(), ModelVersion.id.desc())).first()
        return _record(s, row) if row else None


def _next_version(s: Session, name: str) -> str:
    n = len(list(s.scalars(select(ModelVersion.id).where(ModelVersion.name == name)))) + 1
    taken = set(s.scalars(select(ModelVersion.version).where(ModelVersion.name == name)))
    while f"v{n}" in taken:
        n += 1
    return f"v{n}"


def register_model(sessions: sessionmaker[Session], data_dir: Path, onnx_path: Path, *, profile: str,
                   classes: tuple[str, ...], dataset_version_id: int | None, metrics: dict, trained_by: str,
                   name: str | None = None, weights: Path | None = None) -> ModelRecord:
    """Copy an exported model to data_dir/models/<profile>/<version>.onnx (and its .pt checkpoint, which
    later retraining can fine-tune, next to it) and record it as a candidate."""
    if profile not in PROFILE_CLASSES:
        raise TrainingError(f"profile must be one of {', '.join(PROFILE_CLASSES)}; got {profile!r}")
    src = Path(onnx_path)
    if src.suffix != ".onnx" or not src.is_file():
        raise TrainingError(f"{src}: expected an exported .onnx model file")
    name = name or profile
    with sessions() as s:
        version = _next_version(s, name)
        dest = models_root(data_dir) / profile / f"{version}.onnx"
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(".onnx.part")
        shutil.copyfile(src, tmp)
        tmp.replace(dest)
        if weights is not None:
            shutil.copyfile(weights, dest.with_suffix(".pt"))
        row = ModelVersion(name=name, version=version, profile=profile, path=str(dest), sha256=file_sha256(dest),
                           classes=list(classes), dataset_version_id=dataset_version_id, metrics=metrics,
                           status="candidate", trained_by=trained_by)
        s.add(row)
        s.commit()
        rec = _record(s, row)
    audit.record(sessions, trained_by or "system", "model.register", "model", str(rec.id),
                 {"name": rec.name, "version": rec.version, "profile": profile, "sha256": rec.sha256,
                  "dataset_version": rec.dataset_version})
    return rec


def _stored_comparison(model: ModelRecord, baseline: ModelRecord | None) -> tuple[dict, dict | None] | None:
    """The evaluation made after training, if it compared against the model promoted now."""
    ev = model.metrics.get("evaluation") or {}
    cand = ev.get("candidate")
    if cand is None:
        return None
    if baseline is None:
        return cand, None
    base = ev.get("baseline")
    if base and ev.get("baseline_id") == baseline.id:
        return cand, base
    return None


def _set_promoted(sessions, model_id: int, actor: str) -> ModelRecord | None:
    with sessions() as s:
        row = s.get(ModelVersion, model_id)
        prev_rows = list(s.scalars(select(ModelVersion).where(ModelVersion.profile == row.profile,
                                                              ModelVersion.status == "promoted")))
        previous = _record(s, prev_rows[0]) if prev_rows else None
        for p in prev_rows:
            p.status = "retired"
        row.status, row.promoted_by, row.promoted_at = "promoted", actor, utcnow()
        s.commit()
        return previous


def promote(sessions: sessionmaker[Session], model_id: int, actor: str, *, role: str = "data_staff",
            force: bool = False, policy: GatePolicy | None = None,
            evaluator: Evaluator | None = None) -> PromotionResult:
    """Promote a candidate if the gate allows it (candidate not worse than the promoted model on the policy's
    metric, both measured on the same frozen test split); an admin may `force` past a refusal. Audited."""
    policy = policy or GatePolicy()
    model = get_model(sessions, model_id)
    if model.status == "promoted":
        raise TrainingError(f"model {model.name} {model.version} is already the promoted {model.profile} model")
    if force and role != ADMIN_ROLE:
        raise AuthError(f"forcing a promotion past the gate needs the {ADMIN_ROLE} role; {actor} is {role}")
    baseline = promoted_model(sessions, model.profile)
    comparison = _stored_comparison(model, baseline)
    if comparison is None:
        if evaluator is None:
            raise TrainingError(f"model {model.version} has no evaluation against the promoted "
                                f"{baseline.version if baseline else 'none'}; evaluate it first")
        comparison = evaluator(model, baseline) if baseline else (evaluator(model, None)[0], None)
    decision = decide(comparison[0], comparison[1], policy, baseline.version if baseline else None)
    detail = {"version": model.version, "profile": model.profile, "gate": decision.as_dict(), "forced": False,
              "previous": baseline.version if baseline else None}
    if not decision.allowed and not force:
        audit.record(sessions, actor, "model.promote_refused", "model", str(model.id), detail)
        return PromotionResult(False, False, decision, model, baseline)
    previous = _set_promoted(sessions, model.id, actor)
    detail["forced"] = not decision.allowed
    audit.record(sessions, actor, "model.promote", "model", str(model.id), detail)
    return PromotionResult(True, not decision.allowed, decision, get_model(sessions, model.id), previous)


def rollback(sessions: sessionmaker[Session], profile: str, actor: str) -> ModelRecord | None:
    """Demote the promoted model (status rejected) and re-promote the one promoted before it; returns the
    model now promoted, or None when there was none before (pipelines fall back to the config's model)."""
    with sessions() as s:
        current = s.scalars(select(ModelVersion).where(ModelVersion.profile == profile,
                                                       ModelVersion.status == "promoted")).first()
        if current is None:
            raise TrainingError(f"no promoted {profile} model to roll back")
        before = s.scalars(select(ModelVersion).where(ModelVersion.profile == profile,
                                                      ModelVersion.status == "retired",
                                                      ModelVersion.promoted_at.is_not(None))
                           .order_by(ModelVersion.promoted_at.desc(), ModelVersion.id.desc())).first()
        current.status = "rejected"
        if before is not None:
            before.status, before.promoted_at, before.promoted_by = "promoted", utcnow(), actor
        s.commit()
        old = _record(s, current)
        now = _record(s, before) if before is not None else None
    audit.record(sessions, actor, "model.rollback", "model", str(old.id),
                 {"profile": profile, "from": old.version, "to": now.version if now else None})
    return now


SHIPPED_BY = "shipped"


def adopt_shipped_model(sessions: sessionmaker[Session], data_dir: Path, onnx_path: Path, *, profile: str,
                        classes: tuple[str, ...], metrics: dict) -> ModelRecord | None:
    """Put the model a deployment ships with (the config's file) in the registry and promote it, so the registry
    says what cameras run. Done when the profile has no promoted model, or when the promoted one is an older
    shipped file (an upgrade); a model promoted by people is never displaced. Returns the adopted record."""
    digest = file_sha256(Path(onnx_path))
    current = promoted_model(sessions, profile)
    if current is not None and (current.trained_by != SHIPPED_BY or current.sha256 == digest):
        return None
    if any(m.sha256 == digest and m.status in ("rejected", "retired") for m in list_models(sessions, profile)):
        return None  # people rolled this file back once: leave it out
    rec = register_model(sessions, data_dir, onnx_path, profile=profile, classes=classes, dataset_version_id=None,
                         metrics=metrics, trained_by=SHIPPED_BY)
    _set_promoted(sessions, rec.id, "system")
    audit.record(sessions, "system", "model.promote", "model", str(rec.id),
                 {"version": rec.version, "profile": profile, "shipped": True, "sha256": digest,
                  "previous": current.version if current else None})
    return get_model(sessions, rec.id)
