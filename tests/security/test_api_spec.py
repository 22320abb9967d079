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
