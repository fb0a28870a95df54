"""A centre's users, for its admin and network administrators: list, create or invite, roles, display name,
deactivation, one-time password links (invitations and resets), and the users' API tokens. alerts.user_admin and
alerts.password_links hold the rules."""
from __future__ import annotations

from flask import g
from marshmallow import Schema, fields, validate

from alerts import password_links, user_admin
from alerts.accounts import MIN_PASSWORD
from alerts.models import ROLES
from web import db_session, operation
from web.api.base import PROBLEMS, ResourceView, doc_errors, resource_blueprint
from web.api.schemas import TokenSchema
from web.pages.users import NO_STORE, link_url

bp = resource_blueprint("users", "A centre's users, for its administrators")

ROLE_LIST = {"validate": validate.Length(min=1), "metadata": {
    "description": "Among communicator, spokesperson, partner, admin, network-admin (the last granted by a network "
                   "administrator only)"}}
USER_PROBLEMS = {**PROBLEMS, "404": "No such user or centre, or not one you administer",
                 "409": "Taken username, your own administrator role or account, or the centre's last administrator",
                 "422": "Invalid input: username, display name, roles or password"}


class PasswordLinkSchema(Schema):
    url = fields.String(metadata={"description": "The one-time link, shown only in this answer: pass it on by phone "
                                                 "or secure mail"})
    purpose = fields.String(metadata={"enum": ["invite", "reset"]})
    expires_at = fields.DateTime()


class UserSchema(Schema):
    username = fields.String()
    display_name = fields.String()
    centre = fields.String()
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)))
    active = fields.Boolean(metadata={"description": "Inactive: cannot log in or use tokens; kept with its history"})
    has_password = fields.Boolean(metadata={"description": "False until an invitation or reset link is used"})
    last_login = fields.DateTime(allow_none=True, metadata={"description": "The last browser login, if any"})
    tokens = fields.Integer(metadata={"description": "Usable API tokens (not revoked, not expired)"})


class UserCreatedSchema(UserSchema):
    password_link = fields.Nested(PasswordLinkSchema, allow_none=True,
                                  metadata={"description": "When no password was given: the invitation link"})


class UserCreateSchema(Schema):
    username = fields.String(required=True, validate=validate.Regexp(user_admin.USERNAME.pattern), metadata={
        "description": "Lower-case letters, digits and . _ @ -, at most 80 characters"})
    display_name = fields.String(validate=validate.Length(1, user_admin.MAX_DISPLAY_NAME))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), required=True, **ROLE_LIST)
    password = fields.String(load_only=True, validate=validate.Length(MIN_PASSWORD, 200), metadata={
        "description": "Leave it out to invite: the answer holds a one-time link to choose a password"})


class UserChangeSchema(Schema):
    display_name = fields.String(validate=validate.Length(1, user_admin.MAX_DISPLAY_NAME))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), **ROLE_LIST)
    active = fields.Boolean(metadata={"description": "false: sessions, tokens and password links end at once"})


def shown_link(issued: password_links.IssuedLink) -> dict:
    return {"url": link_url(issued.secret), "purpose": issued.link.purpose, "expires_at": issued.link.expires_at}


def shown(entry: user_admin.UserSummary, **extra) -> dict:
    user = entry.user
    return {"username": user.username, "display_name": user.display_name, "centre": user.centre.code,
            "roles": sorted(user.roles), "active": user.active, "has_password": user.password_hash is not None,
            "last_login": entry.last_login, "tokens": entry.tokens, **extra}


@bp.route("/centres/<code>/users")
class CentreUsers(ResourceView):

    @bp.response(200, UserSchema(many=True))
    @doc_errors(bp, "403", "404", descriptions=USER_PROBLEMS)
    def get(self, code):
        """The centre's users, active or not (its administrators and network administrators)."""
        return [shown(entry) for entry in user_admin.centre_users(db_session(), g.user, code)]

    @bp.arguments(UserCreateSchema)
    @bp.response(201, UserCreatedSchema)
    @doc_errors(bp, "403", "404", "409", "422", descriptions=USER_PROBLEMS)
    def post(self, data, code):
        """Create a user of the centre with a password, or invite one (no password: the answer holds a one-time
        link, valid 72 hours, to pass on). Audited."""
        with operation() as session:
            if data.get("password"):
                user = user_admin.create_user(session, g.user, centre_code=code, username=data["username"],
                                              display_name=data.get("display_name", ""), roles=data["roles"],
                                              password=data["password"])
                link = None
            else:
                issued = password_links.invite(session, g.user, centre_code=code, username=data["username"],
                                               display_name=data.get("display_name", ""), roles=data["roles"])
                user, link = issued.user, shown_link(issued)
            entry = user_admin.summary(session, user)
        return shown(entry, password_link=link), NO_STORE


@bp.route("/users/<username>")
class UserItem(ResourceView):

    @bp.response(200, UserSchema)
    @doc_errors(bp, "404", descriptions=USER_PROBLEMS)
    def get(self, username):
        session = db_session()
        return shown(user_admin.summary(session, user_admin.get_user(session, g.user, username)))

    @bp.arguments(UserChangeSchema)
    @bp.response(200, UserSchema)
    @doc_errors(bp, "403", "404", "409", "422", descriptions=USER_PROBLEMS)
    def patch(self, data, username):
        """Change the display name, the roles (the whole list) or whether the account is active. Deactivating ends
        the user's sessions, tokens and password links; reactivating does not bring tokens back. Audited."""
        with operation() as session:
            user = user_admin.update_user(session, g.user, username, data)
            entry = user_admin.summary(session, user)
        return shown(entry)


@bp.route("/users/<username>/password-link")
class UserPasswordLink(ResourceView):

    @bp.response(201, PasswordLinkSchema)
    @doc_errors(bp, "403", "404", "409", descriptions=USER_PROBLEMS)
    def post(self, username):
        """A one-time link (72 hours) for the user to choose a password, returned only in this answer. For a user
        with a password it is a reset: the old password and the user's browser sessions stop working at once.
        Any earlier link of the user stops working. Audited."""
        with operation() as session:
            issued = password_links.reset(session, g.user, username)
        return shown_link(issued), NO_STORE


@bp.route("/users/<username>/tokens")
class UserTokens(ResourceView):

    @bp.response(200, TokenSchema(many=True))
    @doc_errors(bp, "404", descriptions=USER_PROBLEMS)
    def get(self, username):
        """The user's API tokens, newest first (never their secrets)."""
        return user_admin.tokens_of(db_session(), g.user, username)


@bp.route("/users/<username>/tokens/<int:token_id>")
class UserTokenItem(ResourceView):

    @bp.response(204)
    @doc_errors(bp, "403", "404", descriptions=USER_PROBLEMS)
    def delete(self, username, token_id):
        """Revoke one of the user's tokens; it stops working at once. Audited."""
        with operation() as session:
            user_admin.revoke_token(session, g.user, username, token_id)
