"""Who is asking: the user and the user's personal API tokens; an admin unlocks a user's logins."""
from __future__ import annotations

from flask import g
from sqlalchemy import select

from alerts import accounts
from alerts.models import ApiToken
from web import db_session, operation, services
from web.api.base import PROBLEMS, ResourceView, doc_errors, resource_blueprint
from web.api.schemas import (
    MeSchema,
    TokenSchema,
)

bp = resource_blueprint("accounts", "The user and API tokens")


@bp.route("/me")
class Me(ResourceView):

    @bp.response(200, MeSchema)
    def get(self):
        user = g.user
        return {"username": user.username, "display_name": user.display_name, "centre": user.centre.code,
                "roles": sorted(user.roles)}


@bp.route("/tokens")
class Tokens(ResourceView):

    @bp.response(200, TokenSchema(many=True))
    def get(self):
        """Your personal API tokens (never their secrets)."""
        return list(db_session().scalars(select(ApiToken).where(ApiToken.user_id == g.user.id)
                                         .order_by(ApiToken.id)))


@bp.route("/tokens/<int:token_id>")
class TokenItem(ResourceView):

    @bp.response(204)
    @doc_errors(bp, "404")
    def delete(self, token_id):
        """Revoke a token; it stops working at once."""
        with operation() as session:
            accounts.revoke_token(session, g.user, token_id)


@bp.route("/users/<username>/unlock")
class UserUnlock(ResourceView):

    @bp.response(204)
    @doc_errors(bp, "403", "404", "503", descriptions={**PROBLEMS, "503": "The login throttle cannot be reached"})
    def post(self, username):
        """Admins: let a user of your centre try to log in again at once, wherever from (every count of failed
        logins for the username is cleared). Audited."""
        with operation() as session:
            accounts.unlock(session, services().throttle, g.user, username)
