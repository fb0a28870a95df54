"""A centre's users as pages, for its administrators and network administrators (the rules: alerts.user_admin and
alerts.password_links), and the public page where a one-time link sets a password."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as N_
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from alerts import centres, password_links, user_admin
from alerts.access import NETWORK_RULES
from alerts.accounts import MIN_PASSWORD
from alerts.errors import DomainError
from alerts.models import ROLES
from web import db_session, operation, services
from web.auth import login_required
from web.pages import bp
from web.pages.common import perform, show_refusal
from web.pages.forms import REQUIRED

NO_STORE = {"Cache-Control": "no-store"}  # pages holding a one-time link: never kept by a browser or a proxy


class SetPasswordForm(FlaskForm):
    password = PasswordField(N_("New password"), validators=[
        DataRequired(REQUIRED), Length(min=MIN_PASSWORD, max=200, message=N_(
            "A password has %(min)d to %(max)d characters.", min=MIN_PASSWORD, max=200))])
    confirm = PasswordField(N_("The same password again"), validators=[
        DataRequired(REQUIRED), EqualTo("password", message=N_("The two passwords differ."))])


def link_url(secret: str) -> str:
    """The one-time link as the person who receives it opens it: at the public address when one is configured."""
    public = services().settings.public_url
    if public:
        return public.rstrip("/") + url_for("pages.set_password", token=secret)
    return url_for("pages.set_password", token=secret, _external=True)


def _network_admin() -> bool:
    return bool(g.user.roles & NETWORK_RULES["manage-any-centre"])


def _offered_roles() -> list[str]:
    return [role for role in ROLES if role != user_admin.NETWORK_ADMIN or _network_admin()]


@bp.get("/users")
@login_required
def users():
    dbs = db_session()
    code = request.args.get("centre") or g.user.centre.code
    entries = user_admin.centre_users(dbs, g.user, code)
    choices = [centre.code for centre in centres.listing(dbs)] if _network_admin() else [g.user.centre.code]
    return render_template("pages/users.html", centre=centres.get(dbs, code), entries=entries, centres=choices,
                           roles=_offered_roles())


@bp.post("/users")
@login_required
def invite_user():
    form = request.form
    code = form.get("centre", "")
    return _with_link(lambda session: password_links.invite(
        session, g.user, centre_code=code, username=form.get("username", ""),
        display_name=form.get("display_name", ""), roles=form.getlist("roles")),
        url_for("pages.users", centre=code) if code and _network_admin() else url_for("pages.users"))


def _with_link(issue, back: str):
    """Issue a one-time link (an invitation or a reset) and show it once, on the user's page; a refusal is shown on
    `back`."""
    try:
        with operation() as session:
            issued = issue(session)
    except DomainError as error:
        show_refusal(error)
        return redirect(back)
    purpose = issued.link.purpose
    flash(_("Invitation for %(username)s created.", username=issued.user.username) if purpose == "invite" else
          _("The password of %(username)s no longer works and their sessions have ended.",
            username=issued.user.username), "ok")
    link = {"url": link_url(issued.secret), "purpose": purpose, "expires_at": issued.link.expires_at}
    return _user_page(issued.user.username, link), 200, NO_STORE


def _user_page(username: str, link: dict | None = None) -> str:
    dbs = db_session()
    user = user_admin.get_user(dbs, g.user, username)
    return render_template("pages/user.html", entry=user_admin.summary(dbs, user), link=link, roles=_offered_roles(),
                           tokens=user_admin.tokens_of(dbs, g.user, username))


@bp.get("/users/<username>")
@login_required
def user_page(username):
    return _user_page(username)


@bp.post("/users/<username>")
@login_required
def change_user(username):
    changes = {"display_name": request.form.get("display_name", ""), "roles": request.form.getlist("roles")}
    return perform(lambda session: user_admin.update_user(session, g.user, username, changes),
                   _("Changes to %(username)s saved.", username=username), url_for("pages.user_page",
                                                                                  username=username))


@bp.post("/users/<username>/active")
@login_required
def user_active(username):
    active = request.form.get("active") == "1"
    done = (_("%(username)s can log in again.", username=username) if active else
            _("%(username)s is deactivated: their sessions, tokens and password links have ended.",
              username=username))
    return perform(lambda session: user_admin.update_user(session, g.user, username, {"active": active}), done,
                   url_for("pages.user_page", username=username))


@bp.post("/users/<username>/password-link")
@login_required
def user_password_link(username):
    return _with_link(lambda session: password_links.reset(session, g.user, username),
                      url_for("pages.user_page", username=username))


@bp.post("/users/<username>/tokens/<int:token_id>/revoke")
@login_required
def revoke_user_token(username, token_id):
    return perform(lambda session: user_admin.revoke_token(session, g.user, username, token_id),
                   _("Token %(id)s revoked: it no longer works.", id=token_id),
                   url_for("pages.user_page", username=username))


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token):
    """Public: whoever holds the link chooses the password. An unknown link is a 404, a spent or expired one a 410
    (the error page, in the reader's language)."""
    form = SetPasswordForm()
    status = 200
    if form.validate_on_submit():
        with operation() as session:
            user = password_links.set_password(session, token, form.password.data)
            username = user.username
        flash(_("Your password is set. Log in with your username %(username)s.", username=username), "ok")
        return redirect(url_for("pages.login"))
    if request.method == "POST":
        status = 400
    link = password_links.find(db_session(), token)
    return render_template("pages/set_password.html", form=form, user=link.user, purpose=link.purpose,
                           min_password=MIN_PASSWORD), status, NO_STORE
