"""The `vigil` command line: config, database, evidence and audit checks, serve and demo; areas add their own."""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Optional

import typer

from vigil.errors import VigilError
from vigil.settings import Settings

app = typer.Typer(name="vigil", help="Vigil: camera analytics for environmental and lab-safety enforcement.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
config_app = typer.Typer(help="Validate and document configuration files.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
evidence_app = typer.Typer(help="Evidence integrity.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
notify_app = typer.Typer(help="Notification deliveries (webhook, MQTT).", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(evidence_app, name="evidence")
app.add_typer(audit_app, name="audit")
app.add_typer(notify_app, name="notify")

ConfigOpt = typer.Option(None, "--config", "-c", help="config file (default: $VIGIL_CONFIG or config/vigil.example.yaml)")


def open_services(config: Optional[Path]):
    from api.context import Services
    from vigil.redact import install_log_redaction

    services = Services.open(Settings.from_env(config_path=config))
    install_log_redaction(services.loaded.secrets)  # values the config took from the environment
    return services


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@config_app.command("check")
def config_check(file: Path = typer.Argument(..., help="the YAML config to validate")) -> None:
    """Validate FILE; on error print the file, key path, what was expected and what was found."""
    from vigil.config_loader import load_config

    loaded = load_config(file, Settings.from_env().env)
    cfg = loaded.config
    from streams.source import source_problem

    bad = [(cid, key, source_problem(src, file.resolve().parent)) for cid, cam in cfg.cameras.items()
           for key, src in (("source", cam.source), ("detect_source", cam.detect_source)) if src is not None]
    bad = [(cid, key, why) for cid, key, why in bad if why]
    if bad:
        for cid, key, why in bad:
            typer.echo(f"{file}: cameras.{cid}.{key}: {why}", err=True)
        raise typer.Exit(2)
    typer.echo(f"{file}: ok ({len(cfg.sites)} sites, {len(cfg.cameras)} cameras, "
               f"detectors: {', '.join(cfg.detectors) or 'none'})")


@config_app.command("docs")
def config_docs() -> None:
    """Print the Markdown config reference generated from the models."""
    from vigil.config_docs import config_reference

    typer.echo(config_reference(), nl=False)


@db_app.command("upgrade")
def db_upgrade(config: Optional[Path] = ConfigOpt) -> None:
    """Create or migrate the database schema to the newest revision."""
    from vigil.config_loader import load_config
    from vigil.db.session import current_revision, make_engine, upgrade
    from vigil.redact import redact_url

    settings = Settings.from_env(config_path=config)
    loaded = load_config(settings.config_path, settings.env)
    loaded.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(loaded.database_url)
    upgrade(engine)
    typer.echo(f"{redact_url(loaded.database_url)}: schema at revision {current_revision(engine)}")


@evidence_app.command("verify")
def evidence_verify(alert_id: Optional[str] = typer.Argument(None, help="alert to verify"),
                    all_alerts: bool = typer.Option(False, "--all", help="verify every alert"),
                    public_key: Optional[Path] = typer.Option(None, help="PEM public key (default: this server's)"),
                    config: Optional[Path] = ConfigOpt) -> None:
    """Recompute every evidence file's SHA-256 and check the manifest signatures."""
    from sqlalchemy import select

    from vigil.db.models import Alert
    from vigil.evidence import verify_against_record

    if bool(alert_id) == all_alerts:
        fail("give exactly one of ALERT_ID or --all")
    services = open_services(config)
    pem = public_key.read_bytes() if public_key else services.signer.public_key_pem()
    with services.sessions() as s:
        query = select(Alert.id, Alert.evidence_revision, Alert.manifest_sha256, Alert.rule, Alert.camera_id,
                       Alert.site_id, Alert.started_at).order_by(Alert.created_at)
        rows = list(s.execute(query if all_alerts else query.where(Alert.id == alert_id)))
    if not all_alerts and not rows:
        fail(f"alert {alert_id} does not exist")
    ids = [r[0] for r in rows]
    bad = 0
    from api.service.retention import purge_record

    for aid, revision, manifest_sha, rule, camera_id, site_id, started_at in rows:
        if revision == 0:
            with services.sessions() as s:
                purge = purge_record(s, aid)
            if purge is not None:
                typer.echo(f"{aid}: purged by retention (audit entry {purge.id}, revision "
                           f"{purge.detail.get('revision')})")
                continue
        report = verify_against_record(services.store, aid, pem, revision=revision, manifest_sha256=manifest_sha,
                                       row={"rule": rule, "camera_id": camera_id, "site_id": site_id,
                                            "started_at": started_at})
        status = "ok" if report.ok else "FAILED"
        typer.echo(f"{aid}: {status} (revision {report.revision}, {len(report.checked)} files)")
        for problem in report.problems:
            typer.echo(f"  - {problem}")
        bad += not report.ok
    typer.echo(f"{len(ids) - bad} of {len(ids)} alerts verified")
    if bad:
        raise typer.Exit(1)


@evidence_app.command("purge")
def evidence_purge(config: Optional[Path] = ConfigOpt) -> None:
    """Run retention once: remove the evidence nothing needs (rejected alerts on no lead), per the config."""
    from api.service.retention import run_retention

    report = run_retention(open_services(config))
    typer.echo(report.skipped or f"removed the evidence of {len(report.purged)} alert(s)"
               + (f" ({report.reason})" if report.reason else ""))


@audit_app.command("verify")
def audit_verify(config: Optional[Path] = ConfigOpt) -> None:
    """Walk the audit chain; any edited, removed or reordered entry is reported."""
    from vigil.audit import verify_chain

    services = open_services(config)
    with services.sessions() as s:
        report = verify_chain(s, services.store, services.signer.public_key_pem())
    for problem in report.problems:
        typer.echo(f"  - {problem}")
    typer.echo(f"audit log: {'ok' if report.ok else 'BROKEN'} ({report.entries} entries)")
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint(config: Optional[Path] = ConfigOpt) -> None:
    """Write the chain's head as a signed record in the evidence store (the server does this every minute)."""
    from vigil.audit import checkpoint

    services = open_services(config)
    key = checkpoint(services.sessions, services.store, services.signer)
    typer.echo(f"audit checkpoint: {key or 'nothing to checkpoint (empty log)'}")


@notify_app.command("list")
def notify_list(status: Optional[str] = typer.Option(None, help="pending | sent | dead"),
                config: Optional[Path] = ConfigOpt) -> None:
    """The newest deliveries, one a line."""
    from api.ops.deliveries import list_deliveries

    for d in list_deliveries(open_services(config), status):
        typer.echo(f"{d['id']}\t{d['status']}\t{d['channel']}\t{d['event']}\t{d['alert_id'] or '-'}\t"
                   f"{d['attempts']} attempts\t{d['last_error']}")


@notify_app.command("retry")
def notify_retry(ids: Optional[list[int]] = typer.Argument(None, help="dead delivery ids (default: every dead one)"),
                 config: Optional[Path] = ConfigOpt) -> None:
    """Send dead deliveries again: marked pending here, the running server sends them within seconds."""
    from api.ops.deliveries import retry_dead

    chosen = retry_dead(open_services(config), "cli", list(ids or []) or None)
    typer.echo(f"{len(chosen)} dead deliveries marked pending" + (f": {', '.join(map(str, chosen))}" if chosen else ""))


def _serve(config_path: Optional[Path], host: Optional[str], port: Optional[int], cameras: bool) -> None:
    import uvicorn

    from api.app import create_app

    services = open_services(config_path)
    web = create_app(services, run_cameras=cameras)  # before the lock: a config it refuses leaves nothing held
    lock = None
    if cameras:  # the one writer of alerts for this database: a second one refuses here
        from vigil.db.instance_lock import InstanceLock

        lock = services.instance_lock = InstanceLock(services.engine, services.data_dir).acquire()
    server_cfg = services.loaded.config.server
    host, port = host or server_cfg.host, port or server_cfg.port
    from api.service.startup import announce  # first admin, store notes, the URL to open

    announce(services, host, port)
    from api.serving import uvicorn_config

    config = uvicorn_config(web, server_cfg, host, port, log_level="info")
    from vigil.redact import install_log_redaction

    install_log_redaction(services.loaded.secrets + web.state.scrape_guard.secrets)  # uvicorn's handlers exist now
    server = uvicorn.Server(config)
    try:  # as uvicorn.run does: Ctrl-C ends quietly, a failed start (port taken) is an exit status
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if lock is not None:
            lock.release()
    if not server.started:
        raise typer.Exit(3)


@app.command("serve")
def serve(config: Optional[Path] = ConfigOpt, host: Optional[str] = typer.Option(None),
          port: Optional[int] = typer.Option(None), no_cameras: bool = typer.Option(
              False, "--no-cameras", help="serve the API and UI without running the cameras")) -> None:
    """Run the service: every configured camera, the API and the web UI."""
    _serve(config, host, port, not no_cameras)


@app.command("demo")
def demo(host: Optional[str] = typer.Option(None), port: Optional[int] = typer.Option(None)) -> None:
    """Run the embedded demo: SQLite, local evidence, demo cameras (config/demo.yaml)."""
    _serve(Path(__file__).resolve().parent.parent / "config" / "demo.yaml", host, port, True)


def _register_areas() -> None:
    """Commands owned by other areas: analyze (streams), scene/recipe (models), dataset/train/model, users."""
    from api import cli_data, cli_models, cli_streams, cli_users

    for area in (cli_streams, cli_models, cli_data, cli_users):
        area.register(app)


def main() -> None:
    from vigil.redact import install_log_redaction

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    install_log_redaction()
    _register_areas()
    try:
        app(standalone_mode=True)
    except VigilError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
