"""`flask --app app ...` commands: database, users and tokens, audit, demo data."""
from __future__ import annotations

import json
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import Flask
from sqlalchemy import select

from alerts import accounts, audit
from alerts.errors import DomainError
from alerts.models import User, utcnow
from settings import INSTANCE, ROOT
from web import services


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = url
    return config


def upgrade_database(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def _fail(error: DomainError):
    click.echo(f"error: {error.detail}", err=True)
    sys.exit(2)


def register_commands(app: Flask) -> None:
    @app.cli.group("db")
    def db_group():
        """Database schema."""

    @db_group.command("upgrade")
    @click.option("--revision", default="head")
    def db_upgrade(revision):
        """Apply migrations up to REVISION (default: head)."""
        upgrade_database(services().settings.database_url, revision)
        click.echo("database is at " + revision)

    @app.cli.group("users")
    def users_group():
        """Users and personal API tokens."""

    @users_group.command("create")
    @click.argument("username")
    @click.option("--centre", required=True, help="Centre code, e.g. BE")
    @click.option("--role", "roles", multiple=True, required=True,
                  type=click.Choice(["communicator", "spokesperson", "partner", "admin"]))
    @click.option("--name", "display_name", default="")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
                  help="Prompted for when not given; at least 12 characters")
    def users_create(username, centre, roles, display_name, password):
        """Create a user of CENTRE with the given roles."""
        try:
            with services().db.transaction() as session:
                user = accounts.create_user(session, "cli", username=username, display_name=display_name,
                                            centre_code=centre, roles=list(roles), password=password)
                click.echo(f"created {user.username} ({centre}: {', '.join(sorted(roles))})")
        except DomainError as error:
            _fail(error)

    @users_group.command("list")
    def users_list():
        with services().db.transaction() as session:
            for user in session.scalars(select(User).order_by(User.username)):
                state = "" if user.active else " (inactive)"
                click.echo(f"{user.username}\t{user.centre.code}\t{','.join(sorted(user.roles))}{state}")

    @users_group.command("deactivate")
    @click.argument("username")
    def users_deactivate(username):
        """Stop a user from logging in or using tokens."""
        try:
            with services().db.transaction() as session:
                user = accounts.find_user(session, username)
                user.active = False
                audit.record(session, "cli", "user.deactivate", "user", user.id)
        except DomainError as error:
            _fail(error)
        click.echo(f"deactivated {username}")

    @users_group.command("token")
    @click.argument("username")
    @click.option("--name", default="cli", help="What the token is for")
    @click.option("--days", type=int, default=None, help="Expire after this many days")
    def users_token(username, name, days):
        """Create a personal API token; its secret is printed once."""
        try:
            with services().db.transaction() as session:
                user = accounts.find_user(session, username)
                expires = utcnow() + timedelta(days=days) if days else None
                token, secret = accounts.create_token(session, "cli", user, name, expires)
                token_id = token.id
        except DomainError as error:
            _fail(error)
        click.echo(f"token {token_id} for {username}: {secret}")

    @users_group.command("revoke-token")
    @click.argument("token_id", type=int)
    def users_revoke_token(token_id):
        try:
            with services().db.transaction() as session:
                accounts.revoke_token(session, "cli", token_id)
        except DomainError as error:
            _fail(error)
        click.echo(f"revoked token {token_id}")

    @app.cli.group("audit")
    def audit_group():
        """The audit chain."""

    @audit_group.command("verify")
    def audit_verify():
        """Check the hash chain; exit 1 when an event was altered, inserted or deleted."""
        with services().db.transaction() as session:
            verdict = audit.verify(session)
        for problem in verdict.problems:
            click.echo(f"TAMPERED: {problem}", err=True)
        if not verdict.ok:
            sys.exit(1)
        click.echo(f"audit chain intact: {verdict.events} events")

    @app.cli.command("worker")
    @click.option("--dispatchers", default=1, type=int, help="dispatcher loops in this process")
    @click.option("--threads", default=16, type=int, help="concurrent sends per dispatcher")
    @click.option("--lease", default=60.0, type=float, help="seconds before an unfinished send is reconciled")
    @click.option("--name", default=None, help="this worker's name in the ledger")
    def worker(dispatchers, threads, lease, name):
        """Scheduler (one leader) and dispatchers: fires due releases and sends the ledger."""
        from datetime import timedelta

        from alerts.dispatch import DispatchOptions
        from alerts.release import ReleaseOptions
        from alerts.worker import Worker
        from channels import build_channels

        settings = services().settings
        channels = build_channels(services().channels_config)
        options = ReleaseOptions.from_settings(settings)
        dispatch = DispatchOptions(lease=timedelta(seconds=lease), threads=threads,
                                   rate_storage=settings.ratelimit_storage, rates=settings.dispatch_rates)
        Worker(services().db, channels, options, dispatch, dispatchers=dispatchers, name=name).run_forever()

    @app.cli.command("seed-demo")
    def seed_demo():
        """Demo centres BE, NL, LU, DE-NW with a communicator, spokesperson and partner each."""
        if services().settings.production:
            click.echo("error: demo users are not created in production", err=True)
            sys.exit(2)
        from alerts.demo import seed

        with services().db.transaction() as session:
            created = seed(session, lambda: secrets.token_urlsafe(12))
            wiring = INSTANCE / "demo-wiring.json"
            if wiring.exists():  # written by the local provider stand-ins (tests/fakes/run.py)
                from alerts.demo import wire_demo_channels

                wire_demo_channels(session, json.loads(wiring.read_text()))
        path = INSTANCE / "demo-credentials.txt"
        if created:
            INSTANCE.mkdir(exist_ok=True)
            path.write_text("".join(f"{u}\t{p}\n" for u, p in created))
            path.chmod(0o600)
        _print_credentials(path)


def _print_credentials(path: Path) -> None:
    if not path.exists():
        click.echo("demo users exist; their passwords were printed when they were created")
        return
    click.echo("Demo users (username, password) — also in instance/demo-credentials.txt:")
    click.echo(path.read_text().rstrip())
