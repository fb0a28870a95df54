"""`flask --app app centres …`: the network's centres from the server, for an operator setting up a deployment
before any network administrator can log in (README "A real deployment"). Audited as `cli`."""
from __future__ import annotations

import json

import click
from flask import Flask

from alerts import centres, comm_test_reports, comm_test_schedule
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


def register_communication_test_commands(app: Flask) -> None:
    @app.cli.group("communication-tests")
    def tests_group():
        """The quarterly communication test of the partner network."""

    @tests_group.command("schedule")
    @click.option("--on/--off", "enabled", default=None, help="Run the quarterly test, or not")
    @click.option("--organiser", default=None, help="Code of the centre that sends it, e.g. BE")
    @click.option("--month", "month_of_quarter", type=int, default=None,
                  help="Month of the quarter: 1 (January, April, July, October), 2 or 3")
    @click.option("--day", type=int, default=None, help="Day of that month, 1 to 28")
    @click.option("--time", "at", default=None, help="Local time HH:MM")
    @click.option("--timezone", default=None, help="IANA time zone of that time, e.g. Europe/Brussels")
    @click.option("--reminder-sms/--no-reminder-sms", default=None,
                  help="SMS a centre's 24/7 duty desk when its copy is overdue")
    def tests_schedule(enabled, organiser, month_of_quarter, day, at, timezone, reminder_sms):
        """Show the schedule, after changing the settings given (the others stay). Audited as `cli`."""
        given = {"enabled": enabled, "organiser": organiser, "month_of_quarter": month_of_quarter, "day": day,
                 "time": at, "timezone": timezone, "reminder_sms": reminder_sms}
        try:
            with services().db.transaction() as session:
                comm_test_schedule.change(session, "cli", {k: v for k, v in given.items() if v is not None})
                view = comm_test_reports.schedule_view(session)
        except DomainError as error:
            _fail(error)
        next_at = view.pop("next_at")
        view.pop("runs")
        click.echo(json.dumps({**view, "next_at": next_at.isoformat() if next_at else None}, ensure_ascii=False))

    @tests_group.command("list")
    @click.option("--limit", type=click.IntRange(1, comm_test_reports.MAX_TESTS), default=20)
    def tests_list(limit):
        """The latest tests: when, who started it, acknowledged of sent, overdue, the slowest answer."""
        with services().db.transaction() as session:
            reports = comm_test_reports.history(session, "cli", limit)
        for report in reports:
            sent = report["sent_at"].isoformat() if report["sent_at"] else "not sent"
            slowest = "-" if report["slowest_seconds"] is None else f"{report['slowest_seconds']:.0f}s"
            click.echo(f"{report['alert_id']}\t{sent}\t{report['scheduled'] or report['started_by']}\t"
                       f"{report['acknowledged']}/{report['of']} acknowledged\t{report['overdue']} overdue\t"
                       f"slowest {slowest}")
