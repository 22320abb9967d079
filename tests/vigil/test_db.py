"""Schema and models on SQLite and PostgreSQL: migrations, relations, UTC times, constraints."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError

from vigil.db.models import (Alert, AlertDetection, ApiToken, Base, Camera, DatasetVersion, EvidenceItem, LabelBox,
                             LabelImage, Lead, LeadEvent, ModelVersion, RevokedSession, Site, TrainingJob, User)
from vigil.db.session import MIGRATIONS, current_revision, init_db, make_engine, session_scope, upgrade


def _alert(i: int, **kw) -> Alert:
    t0 = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc) + timedelta(minutes=i)
    base = dict(id=f"00000000-0000-0000-0000-{i:012d}", event_id=f"ev-{i}", rule="open_burning", camera_id="gate",
                site_id="works", started_at=t0, ended_at=t0 + timedelta(seconds=20), best_at=t0, best_score=0.9)
    base.update(kw)
    return Alert(**base)


def _head(engine) -> str:
    """The newest migration; there must be one chain (two branches adding one each would leave two heads)."""
    from alembic.script import ScriptDirectory

    from vigil.db.session import _alembic_config

    heads = ScriptDirectory.from_config(_alembic_config(engine)).get_heads()
    assert len(heads) == 1, f"expected one chain of migrations, found heads {heads}"
    return heads[0]


def test_migrate_and_roundtrip(db_url):
    engine, sessions = init_db(db_url)
    assert current_revision(engine) == _head(engine) >= "0004"
    upgrade(engine)  # idempotent
    with session_scope(sessions) as s:
        s.add(Site(id="works", name="Works", kind="site"))
        s.add(Camera(id="gate", site_id="works", profile="site"))
        s.add(User(username="rev", password_hash="x", role="reviewer"))
    with session_scope(sessions) as s:
        a = _alert(1)
        a.detections.append(AlertDetection(class_name="fire", confidence=0.9, x1=1, y1=2, x2=30, y2=40))
        a.evidence.append(EvidenceItem(name="clip.mp4", key="alerts/a/x/clip.mp4", sha256="0" * 64, size=10,
                                       content_type="video/mp4"))
        lead = Lead(site_id="works", title="Burning at Works")
        lead.events.append(LeadEvent(kind="status", new_value="new"))
        a.lead = lead
        s.add(a)
    with sessions() as s:
        a = s.scalars(select(Alert)).one()
        assert a.started_at.tzinfo is not None and a.started_at.utcoffset() == timedelta(0)
        assert a.started_at == datetime(2026, 11, 1, 8, 1, tzinfo=timezone.utc)
        assert [d.class_name for d in a.detections] == ["fire"]
        assert a.lead.title == "Burning at Works" and a.lead.events[0].new_value == "new"
        assert a.state == "new" and a.ongoing


def test_constraints(db_url):
    engine, sessions = init_db(db_url)
    with session_scope(sessions) as s:
        s.add(Site(id="works", name="Works", kind="site"))
        s.add(Camera(id="gate", site_id="works", profile="site"))
        s.flush()
        s.add(_alert(1))
    with pytest.raises(IntegrityError):  # one alert per event
        with session_scope(sessions) as s:
            s.add(_alert(2, event_id="ev-1"))
    with pytest.raises(IntegrityError):  # an alert must point at a real camera
        with session_scope(sessions) as s:
            s.add(_alert(3, camera_id="ghost"))
    with pytest.raises(StatementError, match="naive"):
        with session_scope(sessions) as s:
            s.add(_alert(4, started_at=datetime(2026, 1, 1)))


def test_data_loop_tables(db_url):
    engine, sessions = init_db(db_url)
    with session_scope(sessions) as s:
        dv = DatasetVersion(name="site-v1", profile="site", content_hash="a" * 64, path="/d", stats={"fire": 3},
                            sources=["review"])
        s.add(dv)
        s.flush()
        mv = ModelVersion(name="site", version="v1", profile="site", path="m.onnx", sha256="b" * 64,
                          classes=["fire"], dataset_version_id=dv.id, metrics={"map50": 0.5})
        s.add(mv)
        s.add(TrainingJob(profile="site", dataset_version_id=dv.id, params={"epochs": 3}))
        img = LabelImage(image_key="alerts/x/y/best_raw.jpg", image_sha256="c" * 64, profile="site", width=640,
                         height=360, kind="correction")
        img.boxes.append(LabelBox(class_name="fire", x1=0.1, y1=0.1, x2=0.2, y2=0.3))
        s.add(img)
    with sessions() as s:
        assert s.scalars(select(ModelVersion)).one().metrics == {"map50": 0.5}
        assert s.scalars(select(TrainingJob)).one().status == "queued"
        assert len(s.scalars(select(LabelImage)).one().boxes) == 1
    with pytest.raises(IntegrityError):
        with session_scope(sessions) as s:
            s.add(ModelVersion(name="site", version="v1", profile="site", path="m2", sha256="d" * 64))


def _schema_diff(engine) -> list:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)


def test_migrations_match_the_models_and_0002_downgrades_without_losing_rows(db_url):
    from alembic import command
    from alembic.config import Config

    engine, sessions = init_db(db_url)
    assert _schema_diff(engine) == []
    t = datetime(2026, 11, 1, 8, 0, 0, 123000, tzinfo=timezone.utc)
    with session_scope(sessions) as s:
        user = User(username="rev", password_hash="x", role="reviewer", sessions_valid_after=t)
        s.add(user)
        s.flush()
        s.add(ApiToken(user_id=user.id, name="script", token_hash="e" * 64))
        s.add(RevokedSession(nonce="n" * 16, user_id=user.id, expires_at=t))
    with sessions() as s:
        assert s.scalars(select(User)).one().sessions_valid_after == t  # milliseconds survive the round trip
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    command.downgrade(cfg, "0001")
    assert current_revision(engine) == "0001"
    with engine.connect() as conn:  # users kept, and their tokens were not cascaded away by a table rebuild
        assert conn.exec_driver_sql("SELECT count(*) FROM api_tokens").scalar() == 1
        assert conn.exec_driver_sql("SELECT username FROM users").scalar() == "rev"
    upgrade(engine)
    assert current_revision(engine) == _head(engine) and _schema_diff(engine) == []


def test_0003_renames_lead_statuses_to_the_workflow_and_back(db_url):
    from alembic import command

    from vigil.db.session import _alembic_config, make_engine

    engine = make_engine(db_url)
    upgrade(engine, "0002")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO sites (id, name, address, kind, operator, created_at) "
                             "VALUES ('w', 'W', '', 'site', '', '2026-11-01 08:00:00')")
        for i, status in enumerate(("new", "assigned", "verified_on_site", "case_filed", "dismissed"), 1):
            conn.exec_driver_sql(f"INSERT INTO leads (id, site_id, title, status, created_at, updated_at) "
                                 f"VALUES ({i}, 'w', 't', '{status}', '2026-11-01 08:00:00', '2026-11-01 08:00:00')")
        conn.exec_driver_sql("INSERT INTO lead_events (lead_id, at, kind, text) VALUES (1, '2026-11-01 08:00:00', "
                             "'note', 'kept')")
    upgrade(engine)

    def statuses() -> list[str]:
        with engine.connect() as conn:
            return [r[0] for r in conn.exec_driver_sql("SELECT status FROM leads ORDER BY id")]

    assert statuses() == ["electronic_evidence", "electronic_evidence", "review", "case_filed", "dismissed"]
    with engine.connect() as conn:  # no table rebuild cascaded into the lead's history
        assert conn.exec_driver_sql("SELECT count(*) FROM lead_events").scalar() == 1
    command.downgrade(_alembic_config(engine), "0002")
    assert statuses() == ["new", "new", "verified_on_site", "case_filed", "dismissed"]
    upgrade(engine)
    assert _schema_diff(engine) == []


def test_bad_database_url_is_a_clear_error():
    from vigil.errors import ConfigError

    with pytest.raises(ConfigError, match="expected a SQLAlchemy URL"):
        make_engine("not a url at all")
