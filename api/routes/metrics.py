"""GET /metrics: the Prometheus exposition, for a scraper with the metrics token (no session, no role)."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response

router = APIRouter(tags=["system"])


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text format (or OpenMetrics when the scraper asks); see docs/METRICS.md for the series."""
    request.app.state.scrape_guard.check(request)
    body, content_type = request.app.state.metrics.render(request.headers.get("accept"))
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
