"""Command-line actions (`flask --app wsgi ...`)."""
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
