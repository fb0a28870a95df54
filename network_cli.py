"""`flask --app app centres …`: the network's centres from the server, for an operator setting up a deployment
before any network administrator can log in (README "A real deployment"). Audited as `cli`."""
from __future__ import annotations

import json

import click
from flask import Flask

from alerts import centres
from alerts.errors import DomainError
from cli import _fail
from web import services


def _names(pairs: tuple[str, ...]) -> dict[str, str]:
    names = {}
    for pair in pairs:
        language, sep, name = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r}: give LANGUAGE=NAME, e.g. en='National Crisis Centre'",
                                     param_hint="--name")
        names[language.strip()] = name
    return names


def _languages(value: str | None) -> list[str] | None:
    return None if value is None else [part.strip() for part in value.split(",") if part.strip()]


def _settings(names, timezone, languages, cell_broadcast, deadline) -> dict:
    values = {}
    if names:
        values["names"] = _names(names)
    if timezone is not None:
        values["timezone"] = timezone
    if languages is not None:
        values["languages"] = _languages(languages)
    if cell_broadcast is not None:
        values["cell_broadcast_languages"] = None if cell_broadcast == "all" else _languages(cell_broadcast)
    if deadline is not None:
        values["ack_deadline_minutes"] = None if deadline == 0 else deadline
    return values


def _show(centre) -> str:
    return json.dumps({"code": centre.code, "names": centre.names, "timezone": centre.timezone,
                       "languages": centre.languages, "cell_broadcast_languages": centre.cell_broadcast_languages,
                       "ack_deadline_minutes": centre.ack_deadline_minutes, "active": centre.active},
                      ensure_ascii=False)


SETTING_OPTIONS = [
    click.option("--name", "names", multiple=True, help="LANGUAGE=NAME, repeatable; English is required"),
    click.option("--timezone", default=None, help="IANA time zone, e.g. Europe/Brussels"),
    click.option("--languages", default=None, help="Publishing languages, primary first: nl,fr,de"),
    click.option("--cell-broadcast", default=None, help="Languages of its cell broadcasts (some of its publishing "
                                                        "languages), or 'all'"),
    click.option("--ack-deadline", "deadline", type=int, default=None,
                 help="Minutes before an unacknowledged copy is overdue (0: no deadline)"),
]


def with_settings(command):
    for option in reversed(SETTING_OPTIONS):
        command = option(command)
    return command


def register_centre_commands(app: Flask) -> None:
    @app.cli.group("centres")
    def centres_group():
        """The centres of the network."""

    @centres_group.command("list")
    def centres_list():
        with services().db.transaction() as session:
            for centre in centres.listing(session):
                state = "" if centre.active else " (inactive)"
                click.echo(f"{centre.code}\t{','.join(centre.languages)}\t{centre.timezone}\t{centre.name()}{state}")

    @centres_group.command("add")
    @click.argument("code")
    @with_settings
    def centres_add(code, names, timezone, languages, cell_broadcast, deadline):
        """Add the centre CODE (BE, DE-NW, …) with its names, time zone and publishing languages."""
        values = {"code": code, **_settings(names, timezone, languages, cell_broadcast, deadline)}
        try:
            with services().db.transaction() as session:
                click.echo("added " + _show(centres.create(session, "cli", values)))
        except DomainError as error:
            _fail(error)

    @centres_group.command("update")
    @click.argument("code")
    @with_settings
    def centres_update(code, names, timezone, languages, cell_broadcast, deadline):
        """Change the settings given; the others stay."""
        values = _settings(names, timezone, languages, cell_broadcast, deadline)
        try:
            with services().db.transaction() as session:
                click.echo("updated " + _show(centres.update(session, "cli", code, values)))
        except DomainError as error:
            _fail(error)

    for verb, active in (("deactivate", False), ("reactivate", True)):
        @centres_group.command(verb, help=f"{verb.capitalize()} the centre CODE (its history stays).")
        @click.argument("code")
        def toggle(code, active=active, verb=verb):
            try:
                with services().db.transaction() as session:
                    centres.update(session, "cli", code, {"active": active})
                    click.echo(f"{verb}d {code}")
            except DomainError as error:
                _fail(error)
