"""Generates the Markdown config reference from the pydantic models (docs/CONFIG.md)."""
from __future__ import annotations

import types
import typing

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from vigil.config import VigilConfig


def _models_in(annotation) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _type_name(annotation) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is not None:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(_type_name(a) for a in args)}]"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _bounds(field) -> str:
    parts = []
    for m in field.metadata:
        for attr, sym in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="), ("pattern", "matches"),
                          ("min_length", "min length"), ("multiple_of", "multiple of")):
            v = getattr(m, attr, None)
            if v is not None:
                parts.append(f"{sym} {v}")
    return ", ".join(parts)


def _section(model: type[BaseModel], path: str, seen: set, out: list[str]) -> None:
    if (model, path) in seen:
        return
    seen.add((model, path))
    out.append(f"\n### `{path or '(top level)'}`\n")
    if model.__doc__ and model.__doc__.strip() and model is not VigilConfig:
        out.append(model.__doc__.strip().splitlines()[0] + "\n")
    out.append("| key | type | default | bounds | description |\n|---|---|---|---|---|")
    nested = []
    for name, field in model.model_fields.items():
        default = "required" if field.is_required() else (
            "" if field.default is PydanticUndefined else repr(field.default))
        if field.default_factory is not None:
            default = "(see below)" if _models_in(field.annotation) else repr(field.default_factory())
        desc = (field.description or "").replace("|", "\\|")
        tname = _type_name(field.annotation).replace("|", "\\|")
        out.append(f"| `{name}` | `{tname}` | {default} | {_bounds(field)} | {desc} |")
        for sub in _models_in(field.annotation):
            is_map = typing.get_origin(field.annotation) is dict
            nested.append((sub, f"{path + '.' if path else ''}{name}{'.<id>' if is_map else ''}"))
    for sub, sub_path in nested:
        _section(sub, sub_path, seen, out)


def _database_overrides() -> list[str]:
    from vigil.camera_overrides import EDITABLE_KEYS

    keys = ", ".join(f"`{k}`" for k in EDITABLE_KEYS)
    return ["", "## Cameras edited in the UI: the database overrides this file", "",
            "Admins add, edit and disable cameras (`/cameras`) and draw zones and masks (`/wall/<camera>/zones`)",
            "in the web UI. Those edits are stored in the database (table `camera_overrides`, one row per camera)",
            "and **the database overrides the YAML**: the file is the seed, and each key an edit holds replaces",
            f"that camera's key in the file ({keys};",
            "`zones`, `masks` and `rules` are replaced whole).",
            "A camera added in the UI exists in the database only. The file is never written.", "",
            "- An edit is validated exactly like `vigil config check`: by these models over the whole config, and with",
            "  the same source check (scheme, host, file), naming the camera. A refused edit changes nothing.",
            "- It applies without a restart: that camera alone stops (its open events close with the footage its",
            "  ring holds) and starts again with the new config; other cameras keep running. Every edit is in the",
            "  audit log (`camera.create`, `camera.update`, `camera.zones`, `camera.disable`) with who and what.",
            "- Sources are stored as typed, `${ENV}` references unsubstituted; write a password as `${NAME}` to keep",
            "  it out of the database. A source is shown with its password as `***` (a bare `${NAME}` is shown);",
            "  sent back with `***` it keeps the stored password.",
            "- `vigil config check` checks the file alone. At start the edits are laid over the file again; an edit",
            "  that no longer fits it (a site removed from the file, say) is left out and said in the log.",
            "- *Revert* on the cameras page (`POST /api/cameras/<id>/revert`, audited as `camera.revert`) drops a",
            "  camera's edits: it runs as this file has it again. A camera added in the UI is disabled, never deleted",
            "  (its alerts refer to it)."]


def config_reference() -> str:
    out = ["# Configuration reference", "",
           "Generated from the pydantic models in `vigil/config.py` by `vigil config docs`; do not edit by hand.",
           "Every key is validated: unknown keys are refused, and `${ENV}` / `${ENV:-default}` are substituted in",
           "string values before validation (use it for camera passwords). See `config/vigil.example.yaml`."]
    out += _database_overrides()
    _section(VigilConfig, "", set(), out)
    return "\n".join(out) + "\n"
