"""Rectification notices over HTTP: an officer sends one; the firm opens its one-use link and replies with photos."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse
from pydantic import Field

from api.auth.deps import Allow
from api.auth.roles import LEADS
from api.auth.users import Principal
from api.routes.common import StrictIn, runtime_of, services_of
from api.routes.lead_schemas import Escalated, NoticeSent
from api.routes.schemas import DbId
from vigil.errors import AuthError, InputError
from vigil.types import utcnow

router = APIRouter(tags=["rectification"])
OFFICER = Allow(LEADS)


class NoticeIn(StrictIn):
    days: int | None = Field(None, ge=1, le=365, description="days to correct (default: enforcement.rectify_days)")
    text: str = Field("", max_length=4000, description="the notice's text (default: drafted from the lead)")
    lang: Literal["zh", "en"] = Field("zh", description="the e-mail's language (Chinese unless asked otherwise)")


def _notify(request: Request, payload: dict) -> None:
    runtime = runtime_of(request)
    if runtime is not None:
        runtime.notifier.notify(payload)
        runtime.notifier.resume()  # the e-mails the step queued in the outbox go now, not at the next sweep


@router.post("/api/leads/{lead_id}/rectification", response_model=NoticeSent)
def send(lead_id: DbId, body: NoticeIn, request: Request, user: Principal = Depends(OFFICER)) -> dict:
    """Send the site's enterprise a rectification notice: e-mail outbox, webhooks, and a one-use reply link."""
    from api.ops.rectification import send_notice

    notice_id, link, payload = send_notice(services_of(request), lead_id, user.username, str(request.base_url),
                                           body.days, body.text, body.lang)
    _notify(request, payload)
    return {"id": notice_id, "link": link, "deadline": payload["deadline"], "emailed_to": payload["contact"]["email"]}


@router.post("/api/rectification/escalate", response_model=Escalated)
def escalate(request: Request, user: Principal = Depends(OFFICER)) -> dict:
    """Escalate every overdue notice now (the service also does this every minute)."""
    from api.ops.rectification import escalate_overdue

    items = escalate_overdue(services_of(request))
    for item in items:
        _notify(request, item)
    return {"escalated": [i["notice_id"] for i in items]}


def _page(request: Request, **ctx) -> HTMLResponse:
    from api.routes.pages import templates

    return templates.TemplateResponse(request, "rectify.html", ctx, status_code=ctx.pop("status", 200))


@router.get("/rectify/{token}", response_class=HTMLResponse, include_in_schema=False)
def open_notice(token: str, request: Request) -> HTMLResponse:
    """The firm's page (no account: the one-use token in the link is the credential)."""
    from api.ops.case_facts import fmt_t
    from api.ops.rectification import notice_for

    try:
        n = notice_for(services_of(request), token)
    except AuthError as e:
        return _page(request, error=str(e), status=404)
    return _page(request, notice=n, deadline=fmt_t(n.deadline, "zh"), overdue=n.deadline < utcnow())


@router.post("/rectify/{token}", response_class=HTMLResponse, include_in_schema=False)
async def reply(token: str, request: Request, note: str = Form("", max_length=2000),
                files: list[UploadFile] = File(...)) -> HTMLResponse:
    """The firm's reply: photos stored as evidence on the lead, the token spent."""
    from api.ops.attachments import NewAttachment
    from api.ops.rectification import reply as store_reply

    now = utcnow()
    uploads = [NewAttachment(await f.read(), f.filename or "photo", (f.content_type or "").split(";")[0], now)
               for f in files]
    try:
        store_reply(services_of(request), token, note, uploads)
    except AuthError as e:
        return _page(request, error=str(e), status=404)
    except InputError as e:
        return _page(request, error=str(e), status=422)
    return _page(request, done=True)


