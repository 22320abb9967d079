"""The last active admin cannot be demoted or deactivated (nobody could manage users any more)."""
from __future__ import annotations

from sqlalchemy import select

from api.auth.users import create_token, create_user
from tests.web.seed import PASSWORD
from vigil.db.models import User


def test_last_admin_stays_an_admin(client, web_services):
    with web_services.sessions() as s:
        admins = s.scalars(select(User).where(User.role == "admin", User.active.is_(True))).all()
    assert len(admins) == 1
    only = admins[0]
    auth = {"Authorization": f"Bearer {create_token(web_services.sessions, only.id, 'a')}"}
    for change in ({"role": "officer"}, {"active": False}):
        r = client.patch(f"/api/users/{only.id}", json=change, headers=auth)
        assert r.status_code == 409 and "last active admin" in r.json()["detail"], r.text
    create_user(web_services.sessions, "second-admin", "admin", PASSWORD)
    assert client.patch(f"/api/users/{only.id}", json={"role": "officer"}, headers=auth).status_code == 200


def test_dataset_seeds_are_bounded(client, web_services):
    with web_services.sessions() as s:
        staff = s.scalar(select(User).where(User.role == "admin"))
    auth = {"Authorization": f"Bearer {create_token(web_services.sessions, staff.id, 'a')}"}
    for seeds in ([-1], [2 ** 70]):
        r = client.post("/api/datasets", json={"profile": "site", "scene_seeds": seeds, "reviews": False},
                        headers=auth)
        assert r.status_code == 422 and "scene_seeds" in r.text, r.text
