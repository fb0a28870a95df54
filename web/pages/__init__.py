"""Server-rendered pages for communicators, spokespersons and partner centres, one module per audience.

Each view parses the form, calls one domain operation (the same verbs as web/api) inside `operation()` and
renders or redirects. No inline scripts or styles (the CSP forbids them); static/app.js only enhances: live
preview while editing, polling of the delivery dashboard, the phrasebook panel of a new alert.
"""
from flask import Blueprint

bp = Blueprint("pages", __name__)

from web.pages import (  # noqa: E402,F401  (they add their routes to bp)
    alerts,
    audit,
    centres,
    communication_tests,
    contact_points,
    deliveries,
    geo,
    incoming,
    partner_endpoints,
    review,
    session,
    users,
)
