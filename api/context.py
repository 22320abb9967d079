"""The service context: config, database, evidence store and signing key, opened once per process."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from vigil.config_loader import LoadedConfig, load_config
from vigil.db.models import Camera, Site
from vigil.db.session import init_db, session_scope
from vigil.redact import redact_url
from vigil.settings import Settings
from vigil.signing import Signer
from vigil.store import EvidenceStore, make_store

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a request handler, CLI command or the stream service needs, built from one config."""

    settings: Settings
    loaded: LoadedConfig
    engine: Engine
    sessions: sessionmaker[Session]
    store: EvidenceStore
    signer: Signer
    events: Any = None  # the live-update EventBus while the camera runtime runs (api.service.events)
    instance_lock: Any = None  # vigil.db.instance_lock.InstanceLock while this process is the database's writer
    seed: LoadedConfig | None = None  # the YAML as loaded; `loaded` is it with the cameras edited in the UI

    @classmethod
    def open(cls, settings: Settings, loaded: LoadedConfig | None = None) -> "Services":
        loaded = loaded or load_config(settings.config_path, settings.env)
        loaded.data_dir.mkdir(parents=True, exist_ok=True)
        engine, sessions = init_db(loaded.database_url)
        from vigil.audit import protect_audit_table

        protect_audit_table(engine)  # PostgreSQL: audit rows are written through an INSERT-only role
        store = make_store(loaded, settings.env)
        key_path = loaded.config.signing.key_path
        signer = Signer.load_or_create(loaded.resolve(key_path) if key_path else
                                       loaded.data_dir / "keys" / "evidence-ed25519.pem")
        services = cls(settings, loaded, engine, sessions, store, signer, seed=loaded)
        from api.service.camera_config import effective_at_start

        services.loaded = effective_at_start(services)  # the database's camera edits over the YAML
        services.sync_sites_and_cameras()
        return services

    @property
    def data_dir(self) -> Path:
        return self.loaded.data_dir

    def sync_sites_and_cameras(self) -> None:
        """Upsert the config's sites and cameras into the database (rows are never deleted: alerts refer to them)."""
        cfg = self.loaded.config
        with session_scope(self.sessions) as s:
            for site_id, site in cfg.sites.items():
                row = s.get(Site, site_id) or Site(id=site_id)
                row.name, row.address, row.kind, row.operator = site.name, site.address, site.kind, site.operator
                row.contact_name, row.contact_phone = site.contact_name, site.contact_phone
                row.contact_email = site.contact_email
                s.add(row)
            s.flush()
            for cam_id, cam in cfg.cameras.items():
                row = s.get(Camera, cam_id) or Camera(id=cam_id)
                row.site_id, row.name = cam.site, cam.name or cam_id
                row.profile, row.enabled = cfg.camera_profile(cam_id), cam.enabled
                row.source_redacted = redact_url(cam.source)
                s.add(row)

    def close(self) -> None:
        self.engine.dispose()
