"""`flask --app app ...` commands: database, users and tokens, audit, demo data."""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import Flask, current_app
from sqlalchemy import make_url, select, text

from alerts import accounts, audit, password_links, user_admin
from alerts.errors import DomainError
from alerts.models import ROLES, User, utcnow
from settings import INSTANCE, ROOT, write_private
from web import services


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = url
    return config


def upgrade_database(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


# ---- backup and restore (see docs/DEPLOYMENT.md) -----------------------------------------------------

def _libpq(url: str) -> tuple[str, dict]:
    """A libpq URI for pg_dump/pg_restore, with the password moved to the environment (not the command line)."""
    parsed = make_url(url)
    env = {**os.environ, "PGPASSWORD": parsed.password} if parsed.password else dict(os.environ)
    return parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise click.ClickException("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _run(args: list[str], env: dict | None = None) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise click.ClickException(f"{args[0]} failed: {done.stderr.strip()}")


def backup_database(url: str, engine, path: Path) -> None:
    """A consistent copy while the service runs: pg_dump's snapshot, or SQLite's online backup API. Written
    beside PATH first and renamed at the end, with PATH.sha256 (`sha256sum -c` format) next to it."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            schema = connection.execute(text("SELECT current_schema()")).scalar()
        uri, env = _libpq(url)
        # the app's own schema only (`public` is the whole database: naming it would recreate `public` on restore)
        only = [] if schema == "public" else [f"--schema={schema}"]
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", *only, f"--file={partial}", uri], env)
        _run(["pg_restore", "--list", str(partial)])  # readable to the end
    else:
        source, target = sqlite3.connect(_sqlite_file(url)), sqlite3.connect(partial)
        try:
            source.backup(target)
            if target.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise click.ClickException("the copy failed SQLite's integrity check")
        finally:
            source.close()
            target.close()
    path.with_name(path.name + ".sha256").write_text(f"{_sha256(partial)}  {path.name}\n")
    os.replace(partial, path)


def restore_database(url: str, engine, path: Path) -> None:
    """Into an empty database only; the file must match its .sha256 (corruption or a swapped file)."""
    checksum = path.with_name(path.name + ".sha256")
    if not checksum.exists():
        raise click.ClickException(f"{checksum} is missing: refusing to restore an unchecked file")
    if checksum.read_text().split()[0] != _sha256(path):
        raise click.ClickException(f"{path} does not match {checksum.name}: refusing to restore it")
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            if connection.execute(text("SELECT to_regclass('alembic_version')")).scalar() is not None:
                raise click.ClickException("the target database is not empty: restore into a new database")
        uri, env = _libpq(url)
        _run(["pg_restore", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
              f"--dbname={uri}", str(path)], env)
    else:
        engine.dispose()
        target_file = _sqlite_file(url)
        target = sqlite3.connect(target_file)
        try:
            if target.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]:
                raise click.ClickException(f"{target_file} is not empty: restore into a new file")
            source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                source.backup(target)
            finally:
                source.close()
        finally:
            target.close()
    engine.dispose()  # connections opened before the restore saw an empty database


def _fail(error: DomainError):
    click.echo(f"error: {error.detail}", err=True)
    sys.exit(2)


def _print_link(what: str, issued) -> None:
    """The one-time link of `users invite` and `users reset-password`, at the public address when there is one."""
    path = current_app.url_map.bind("localhost").build("pages.set_password", {"token": issued.secret})
    public = services().settings.public_url.rstrip("/")
    click.echo(f"{what}; one-time link, valid until {issued.link.expires_at:%Y-%m-%d %H:%M} UTC (shown only now):")
    click.echo(public + path if public else f"{path}   (prefix it with this Benelert's address: no public URL is set)")


def _warn_without_admin(session, user: User) -> None:
    """The operator may leave a centre without an administrator (a compromised account); people may not."""
    if not user_admin.active_admins(session, user.centre_id):
        click.echo(f"warning: {user.centre.code} has no active administrator now", err=True)


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

    @db_group.command("backup")
    @click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
    def db_backup(path):
        """Copy the database to PATH (pg_dump -Fc, or SQLite's online backup) and write PATH.sha256."""
        if path.exists():
            raise click.ClickException(f"{path} exists: choose a new file name")
        backup_database(services().settings.database_url, services().db.engine, path)
        click.echo(f"backup written to {path} ({path.stat().st_size} bytes), checksum in {path.name}.sha256")

    @db_group.command("restore")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def db_restore(path):
        """Restore PATH (made by `db backup`) into this empty database, then check the audit chain."""
        restore_database(services().settings.database_url, services().db.engine, path)
        with services().db.transaction() as session:
            verdict = audit.verify(session)
        for problem in verdict.problems:
            click.echo(f"TAMPERED: {problem}", err=True)
        if not verdict.ok:
            click.echo("restored, but the audit chain does not verify: do not use this copy", err=True)
            sys.exit(1)
        click.echo(f"restored {path}; audit chain intact: {verdict.events} events")

    @app.cli.group("users")
    def users_group():
        """Users and personal API tokens."""

    @users_group.command("create")
    @click.argument("username")
    @click.option("--centre", required=True, help="Centre code, e.g. BE")
    @click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES))
    @click.option("--name", "display_name", default="")
    @click.option("--password-stdin", is_flag=True,
                  help="Read the password (at least 12 characters) from standard input, for scripts; without it "
                       "the password is asked for twice. Never an argument: ps and shell histories keep those.")
    def users_create(username, centre, roles, display_name, password_stdin):
        """Create a user of CENTRE with the given roles (the first network-admin of a deployment: --role
        network-admin). `users invite` gives a one-time link instead of a password."""
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            with services().db.transaction() as session:
                user = user_admin.create_user(session, "cli", username=username, display_name=display_name,
                                              centre_code=centre, roles=list(roles), password=password)
                click.echo(f"created {user.username} ({centre}: {', '.join(sorted(roles))})")
        except DomainError as error:
            _fail(error)

    @users_group.command("invite")
    @click.argument("username")
    @click.option("--centre", required=True, help="Centre code, e.g. BE")
    @click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES))
    @click.option("--name", "display_name", default="")
    def users_invite(username, centre, roles, display_name):
        """Create a user without a password and print a one-time link (72 hours) with which they choose one: pass
        it on by phone or secure mail. Audited."""
        try:
            with services().db.transaction() as session:
                issued = password_links.invite(session, "cli", centre_code=centre, username=username,
                                               display_name=display_name, roles=list(roles))
                _print_link(f"invited {issued.user.username} ({centre}: {', '.join(sorted(roles))})", issued)
        except DomainError as error:
            _fail(error)

    @users_group.command("reset-password")
    @click.argument("username")
    def users_reset_password(username):
        """Print a one-time link (72 hours) for the user to choose a new password; their current password and
        browser sessions stop working now. Audited."""
        try:
            with services().db.transaction() as session:
                issued = password_links.reset(session, "cli", username)
                _print_link(f"{issued.link.purpose} link for {issued.user.username}", issued)
        except DomainError as error:
            _fail(error)

    @users_group.command("roles")
    @click.argument("username")
    @click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES),
                  help="Repeatable: the user's roles from now on (all of them)")
    def users_roles(username, roles):
        """Replace the user's roles. Audited."""
        try:
            with services().db.transaction() as session:
                user = user_admin.set_roles(session, "cli", username, list(roles))
                click.echo(f"{user.username}: {', '.join(sorted(user.roles))}")
                _warn_without_admin(session, user)
        except DomainError as error:
            _fail(error)

    @users_group.command("list")
    @click.option("--centre", default=None, help="Only the users of this centre")
    def users_list(centre):
        """Users with their centre, roles, state, last login and usable API tokens."""
        try:
            with services().db.transaction() as session:
                if centre:
                    entries = user_admin.centre_users(session, "cli", centre)
                else:
                    entries = user_admin.summaries(session, list(session.scalars(select(User)
                                                                                 .order_by(User.username))))
                for entry in entries:
                    user = entry.user
                    state = "" if user.active else " (inactive)"
                    state += "" if user.password_hash else " (no password yet)"
                    last = entry.last_login.isoformat(timespec="minutes") if entry.last_login else "-"
                    click.echo(f"{user.username}\t{user.centre.code}\t{','.join(sorted(user.roles))}{state}\t"
                               f"last login {last}\t{entry.tokens} token(s)")
        except DomainError as error:
            _fail(error)

    @users_group.command("deactivate")
    @click.argument("username")
    def users_deactivate(username):
        """Stop a user from logging in or using tokens: their sessions, tokens and password links end now."""
        try:
            with services().db.transaction() as session:
                user = user_admin.deactivate(session, "cli", username)
                _warn_without_admin(session, user)
        except DomainError as error:
            _fail(error)
        click.echo(f"deactivated {username}")

    @users_group.command("reactivate")
    @click.argument("username")
    def users_reactivate(username):
        """Let a deactivated user log in again with their password (revoked tokens stay revoked). Audited."""
        try:
            with services().db.transaction() as session:
                user_admin.reactivate(session, "cli", username)
        except DomainError as error:
            _fail(error)
        click.echo(f"reactivated {username}")

    @users_group.command("tokens")
    @click.argument("username")
    def users_tokens(username):
        """The user's API tokens (never their secrets)."""
        try:
            with services().db.transaction() as session:
                for token in user_admin.tokens_of(session, "cli", username):
                    state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "usable"
                    expires = f"{token.expires_at:%Y-%m-%d %H:%M}" if token.expires_at else "never"
                    click.echo(f"{token.id}\t{token.prefix}…\t{token.name}\tcreated {token.created_at:%Y-%m-%d}"
                               f"\texpires {expires}\t{state}")
        except DomainError as error:
            _fail(error)

    @users_group.command("unlock")
    @click.argument("username")
    def users_unlock(username):
        """Let a user try logins again at once (every device, address and untrusted client), e.g. when their
        centre's admin cannot be reached during a crisis. Audited."""
        try:
            with services().db.transaction() as session:
                accounts.unlock(session, services().throttle, "cli", username)
        except DomainError as error:
            _fail(error)
        click.echo(f"unlocked {username}")

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
        with services().db.snapshot() as session:  # one moment, while logins and edits go on
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
    @click.option("--lanes", default="main,sms", show_default=True,
                  help="the ledger lanes this worker sends (e.g. 'sms' for a worker of the SMS fan-out only)")
    def worker(dispatchers, threads, lease, name, lanes):
        """Scheduler (one leader) and dispatchers: fires due releases and sends the ledger."""
        from datetime import timedelta

        from alerts.dispatch import LANES, DispatchOptions
        from alerts.release import ReleaseOptions
        from channels import build_channels
        from worker import Worker

        settings = services().settings
        channels = build_channels(services().channels_config)
        options = ReleaseOptions.from_settings(settings)
        dispatch = DispatchOptions(lease=timedelta(seconds=lease), threads=threads,
                                   rate_storage=settings.ratelimit_storage, rates=settings.dispatch_rates)
        chosen = tuple(lane.strip() for lane in lanes.split(",") if lane.strip())
        if not chosen or set(chosen) - set(LANES):
            raise click.BadParameter(f"lanes are among {', '.join(LANES)}", param_hint="--lanes")
        Worker(services().db, channels, options, dispatch, dispatchers=dispatchers, name=name, lanes=chosen,
               reconcile_grace=timedelta(seconds=settings.reconcile_grace_seconds),
               reconcile_every=settings.reconcile_every_seconds).run_forever()

    @app.cli.command("seed-demo")
    def seed_demo():
        """Demo centres BE, NL, LU, DE-NW with a communicator, spokesperson and partner each, an admin of BE, a
        network administrator, and the other centres of the founding meeting as partner centres (English copies)."""
        if services().settings.production:
            click.echo("error: demo users are not created in production", err=True)
            sys.exit(2)
        from devtools.demo import seed

        with services().db.transaction() as session:
            created = seed(session, lambda: secrets.token_urlsafe(12))
            wiring = INSTANCE / "demo-wiring.json"
            if wiring.exists():  # written by the local provider stand-ins (devtools/fakes/run.py)
                from devtools.demo import wire_demo_channels

                wire_demo_channels(session, json.loads(wiring.read_text()))
        path = INSTANCE / "demo-credentials.txt"
        if created:
            INSTANCE.mkdir(exist_ok=True)
            write_private(path, "".join(f"{u}\t{p}\n" for u, p in created))
        _print_credentials(path)


def _print_credentials(path: Path) -> None:
    if not path.exists():
        click.echo("demo users exist; their passwords were printed when they were created")
        return
    click.echo(f"Demo users (username, password) — also in {path}:")
    click.echo(path.read_text().rstrip())
