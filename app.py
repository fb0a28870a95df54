"""Flask app factory: settings -> logging -> db -> web plumbing -> blueprints -> CLI.

The web app never runs the scheduler; the worker process does.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

import web
from alerts.accounts import LoginThrottle
from channels import load_config
from db import Database
from settings import INSTANCE, load_settings, public_host
from web import api, feeds, hooks, i18n, ops, pages


def create_app(overrides: dict | None = None) -> Flask:
    settings = load_settings(overrides)
    web.configure_logging(settings)
    app = Flask(__name__, instance_path=str(INSTANCE), instance_relative_config=False)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        SESSION_COOKIE_NAME="benelert_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
        WTF_CSRF_TIME_LIMIT=settings.session_hours * 3600,
        TESTING=settings.env == "test",
    )
    if settings.production:
        # only the public URL's host is served (plus loopback, for checks on the machine itself): a request naming
        # another Host is a 400, and nothing can be built from a forged one
        app.config["TRUSTED_HOSTS"] = [public_host(settings), "localhost", "127.0.0.1"]
    app.extensions["benelert"] = web.Services(
        settings=settings,
        db=Database.connect(settings.database_url),
        throttle=LoginThrottle(settings.ratelimit_storage, settings.login_attempts_per_user,
                               settings.login_attempts_per_ip, settings.login_attempts_per_account),
        channels_config=load_config(settings.channels_file),
    )
    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)
    web.init_app(app)
    csrf = CSRFProtect(app)
    for resource in api.register(app):
        csrf.exempt(resource)  # the API takes bearer tokens only: no ambient credentials to forge
    app.register_blueprint(pages.bp)
    i18n.init_app(app)  # the pages' language: user setting -> cookie -> Accept-Language
    app.register_blueprint(ops.bp)
    app.register_blueprint(hooks.bp)
    csrf.exempt(hooks.bp)  # providers sign their callbacks; there is no browser session here
    app.register_blueprint(feeds.bp)
    from cli import register_commands
    from network_cli import register_centre_commands, register_communication_test_commands

    register_commands(app)
    register_centre_commands(app)
    register_communication_test_commands(app)
    return app


def prepare_worker() -> None:
    """Called by each gunicorn web worker before it takes requests (gunicorn.conf.py).

    Loads what the first render would load, then moves everything that lives as long as the process
    (modules, mappers, catalogs, templates: about 200,000 objects) out of the garbage collector's
    reach. Otherwise every full collection walks all of them: 60-110 ms during which the worker
    answers nobody, the largest part of the edit p99 measured by bench/api.py.
    """
    import gc
    import logging
    import os

    from sqlalchemy.orm import configure_mappers

    from alerts import phrasebook

    phrasebook.warm_up()
    configure_mappers()
    gc.collect()
    gc.freeze()
    logging.getLogger("benelert").info("web worker %d ready: phrasebook loaded, %d long-lived objects frozen",
                                       os.getpid(), gc.get_freeze_count())
