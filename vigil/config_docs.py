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


def config_reference() -> str:
    out = ["# Configuration reference", "",
           "Generated from the pydantic models in `vigil/config.py` by `vigil config docs`; do not edit by hand.",
           "Every key is validated: unknown keys are refused, and `${ENV}` / `${ENV:-default}` are substituted in",
           "string values before validation (use it for camera passwords). See `config/vigil.example.yaml`."]
    _section(VigilConfig, "", set(), out)
    return "\n".join(out) + "\n"
