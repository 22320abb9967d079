"""The spec and the routes agree: an undeclared method is a 405 whose Allow names every method of the path; the
roles the spec lists are the ones the database knows."""
from __future__ import annotations

import re

from api.auth.users import create_token

METHODS = ("get", "post", "put", "patch", "delete", "options")
# paths whose other methods land on a sibling route by design (/api/alerts/bulk is also /api/alerts/{alert_id})
SHADOWED = {("/api/alerts/bulk", "get"), ("/api/models/rollback", "get")}


def test_undeclared_methods_are_405_with_allow(client, web_services):
    token = create_token(web_services.sessions, 5, "methods")
    spec = client.app.openapi()
    checked = 0
    for path, operations in spec["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        declared = {m.upper() for m in operations}
        for method in METHODS:
            if method in operations or (path, method) in SHADOWED:
                continue
            r = client.request(method.upper(), concrete, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 405, (method, path, r.status_code, r.text[:200])
            allowed = {m.strip() for m in r.headers.get("allow", "").split(",") if m.strip()}
            assert declared <= allowed | {"HEAD"}, (method, path, r.headers.get("allow"))
            checked += 1
    assert checked > 150


def test_the_spec_names_the_roles_the_database_knows(client):
    from vigil.db.models import ROLES

    schema = client.app.openapi()["components"]["schemas"]["UserIn"]["properties"]["role"]
    assert tuple(schema["enum"]) == ROLES


def test_the_few_valued_request_fields_name_what_the_routes_check():
    """Each Literal the spec shows equals the tuple its route (or the database) checks, so schema-valid input is
    accepted and nothing else is (schemathesis' positive_data_acceptance runs on them in test_api_fuzz.py)."""
    from typing import get_args

    from api.ops.alert_queue import BULK_ACTIONS
    from api.ops.deliveries import STATUSES
    from api.i18n import LANGUAGES
    from api.ops.document_compose import KINDS
    from api.routes import schemas
    from vigil.catalogue import PROFILE_CLASSES
    from vigil.db.models import JOB_STATUSES

    for literal, checked in ((schemas.BulkAction, BULK_ACTIONS), (schemas.ProfileName, tuple(PROFILE_CLASSES)),
                             (schemas.DeliveryStatus, STATUSES), (schemas.DocumentKind, KINDS),
                             (schemas.JobStatus, JOB_STATUSES), (schemas.Language, LANGUAGES)):
        assert get_args(literal) == tuple(checked), (literal, checked)


def test_every_json_route_documents_its_answer(client):
    """No JSON route answers "an object" any more: each 2xx JSON answer of the spec names a schema with properties."""
    spec = client.app.openapi()
    schemas = spec["components"]["schemas"]
    untyped = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            for status, answer in op.get("responses", {}).items():
                body = answer.get("content", {}).get("application/json", {}).get("schema")
                if not status.startswith("2") or body is None:
                    continue
                ref = body.get("$ref", "").rsplit("/", 1)[-1]
                if not (ref and schemas[ref].get("properties")):
                    untyped.append(f"{method.upper()} {path} {status}: {body}")
    assert not untyped, "\n".join(untyped)
