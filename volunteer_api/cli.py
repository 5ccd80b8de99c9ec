"""Command-line actions (`flask --app wsgi ...`)."""
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import force_locale

from .errors import DomainError


@click.command("create-admin")
@click.option("--login", required=True, help="E-mail or Kazakh mobile number")
@click.option("--password", required=True, help="At least 10 characters")
@click.option("--name", "full_name", required=True, help="Full name")
@with_appcontext
def create_admin_command(login: str, password: str, full_name: str) -> None:
    """Create an administrator account."""
    from .people.services import create_admin

    if len(password) < 10:
        raise click.BadParameter("at least 10 characters", param_hint="--password")
    # The terminal speaks English; the messages of the services are translated for it.
    with force_locale("en"):
        try:
            user = create_admin(login=login, password=password, full_name=full_name)
        except (DomainError, ValueError) as exc:
            # One line and exit status 1 (click's ClickException), never a traceback.
            raise click.ClickException(str(getattr(exc, "detail", None) or exc)) from None
    click.echo(f"Admin {user.full_name} created (id {user.id}).")


@click.command("backup")
@click.option("--to", "to", required=True, type=click.Path(file_okay=False), help="A new or empty directory")
@with_appcontext
def backup_command(to: str) -> None:
    """Back up the database and the photo originals, with a manifest of sha256 sums."""
    from .operations.backups import BackupError, back_up

    try:
        manifest = back_up(Path(to))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Backed up the {manifest['backend']} database (schema {manifest['schema_revision']}) and "
               f"{manifest['photos']} photos to {to} ({manifest['started_at']} to {manifest['finished_at']}).")


@click.command("restore")
@click.option("--from", "source", required=True, type=click.Path(exists=True, file_okay=False), help="A backup")
@with_appcontext
def restore_command(source: str) -> None:
    """Restore a backup into an empty database and photo store, then check the chain, photos and totals."""
    from .operations.backups import BackupError, restore

    try:
        report = restore(Path(source))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    audit = report.audit
    click.echo(f"audit chain: {'ok' if audit['ok'] else 'BROKEN'} ({audit.get('checked', 0)} events"
               + ("" if audit["ok"] else f", first broken {audit.get('first_broken_id')}: {audit.get('reason')}") + ")")
    click.echo(f"photos: {report.photos_checked - len(report.photos_bad)} of {report.photos_checked} match their sha256"
               + (f"; bad: {', '.join(report.photos_bad[:10])}" if report.photos_bad else ""))
    click.echo("totals: equal to a recompute" if not report.totals_differ else
               f"totals: differ from a recompute for {', '.join(report.totals_differ[:10])}")
    if not report.ok:
        raise click.ClickException("the restored data failed a check (above)")
    click.echo("Restored.")
