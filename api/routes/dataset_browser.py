"""Browsing a dataset version (data staff): its images with their boxes, filtered by split, class and source, and
each image file."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse

from api.auth.deps import Allow
from api.auth.roles import MODELS
from api.auth.users import Principal
from api.routes.common import MAX_LIMIT, not_found, services_of
from api.routes.model_schemas import DatasetImages
from api.routes.schemas import DbId, MAX_DB_INT
from datasets.layout import read_index
from vigil.db.models import DatasetVersion

router = APIRouter(tags=["datasets"])
DATA = Allow(MODELS)


def source_kind(source: str) -> str:
    """A sample's source as the browser groups it: one entry per scene profile, not per scene seed."""
    return source.rsplit(":", 1)[0] if source.startswith("scene:") else source


def _version(request: Request, dataset_id: int) -> tuple[DatasetVersion, list[dict]]:
    with services_of(request).sessions() as s:
        row = s.get(DatasetVersion, dataset_id)
        if row is None:
            raise not_found("dataset version", dataset_id)
        s.expunge(row)
    return row, read_index(Path(row.path))


def _matches(e: dict, split: str | None, cls: str | None, source: str | None) -> bool:
    if split and e["split"] != split:
        return False
    if source and source_kind(e["source"]) != source:
        return False
    if cls == "":  # negatives: images without a box
        return not e["boxes"]
    return not cls or any(b[0] == cls for b in e["boxes"])


@router.get("/api/datasets/{dataset_id}/images", response_model=DatasetImages)
def dataset_images(dataset_id: DbId, request: Request, split: str | None = None,
                   cls: str | None = Query(None, description="images with a box of this class; empty: negatives"),
                   source: str | None = Query(None, description="review, import:NAME, scene:PROFILE ..."),
                   limit: int = Query(60, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0, le=MAX_DB_INT),
                   user: Principal = Depends(DATA)) -> dict:
    """A version's images with their boxes (relative 0-1 xyxy), and counts per split, class and source."""
    row, entries = _version(request, dataset_id)
    chosen = [e for e in entries if _matches(e, split, cls, source)]
    classes = Counter(b[0] for e in entries for b in e["boxes"])
    classes[""] = sum(1 for e in entries if not e["boxes"])
    items = [{"uid": e["uid"], "split": e["split"], "source": e["source"], "group": e["group"],
              "width": e["width"], "height": e["height"],
              "boxes": [{"class_name": c, "x1": x1, "y1": y1, "x2": x2, "y2": y2} for c, x1, y1, x2, y2 in e["boxes"]],
              "url": f"/api/datasets/{dataset_id}/images/{e['uid']}"} for e in chosen[offset:offset + limit]]
    return {"id": row.id, "name": row.name, "profile": row.profile, "items": items, "total": len(chosen),
            "limit": limit, "offset": offset,
            "facets": {"splits": dict(Counter(e["split"] for e in entries)), "classes": dict(classes),
                       "sources": dict(Counter(source_kind(e["source"]) for e in entries))}}


@router.get("/api/datasets/{dataset_id}/images/{uid}", response_class=FileResponse)
def dataset_image(dataset_id: DbId, uid: str, request: Request, user: Principal = Depends(DATA)) -> FileResponse:
    """One image file of the version (only files its index names are served)."""
    row, entries = _version(request, dataset_id)
    entry = next((e for e in entries if e["uid"] == uid), None)
    if entry is None:
        raise not_found("image", uid)
    root = Path(row.path).resolve()
    path = (root / entry["image"]).resolve()
    if root not in path.parents or not path.is_file():
        raise not_found("image file", uid)
    return FileResponse(path, headers={"Cache-Control": "private, max-age=3600"})
