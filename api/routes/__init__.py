"""HTTP routes by area; `include_routers` mounts every area's router on the app."""
from __future__ import annotations

from fastapi import FastAPI


def include_routers(app: FastAPI) -> None:
    """Each area adds its router here (auth, alerts, leads, sites, models, wall, UI pages)."""
