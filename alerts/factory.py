"""How alerts and versions come to be: the one factory for a new Alert with its centres and first Version
(authoring, Update/Cancel, communication tests), and the one constructor of a Version with its content hash."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.content import canonical_content, content_hash
from alerts.models import Alert, AlertCentre, Centre, User, Version


def build_version(alert: Alert, number: int, author: User, values: dict[str, Any], texts, areas,
                  participants: list[str], based_on: int | None, summary: str) -> Version:
    version = Version(
        alert_id=alert.id, number=number, based_on=based_on, author=author, summary=summary[:200],
        status=values["status"], msg_type=alert.msg_type, hazard=values["hazard"], urgency=values["urgency"],
        severity=values["severity"], certainty=values["certainty"], onset=values.get("onset"),
        expires=values.get("expires"), web=values.get("web") or "", participants=participants,
        texts=texts, areas=areas,
    )
    version.content_hash = content_hash(canonical_content(version))
    return version


def sync_centres(alert: Alert, centres: list[Centre]) -> None:
    """The alert's centres become `centres`: the lead keeps its role, the others take part."""
    wanted = {c.id for c in centres}
    alert.centre_rows = [row for row in alert.centre_rows if row.centre_id in wanted]
    present = {row.centre_id for row in alert.centre_rows}
    for centre in centres:
        if centre.id not in present:
            role = "lead" if centre.id == alert.lead_centre_id else "participant"
            alert.centre_rows.append(AlertCentre(centre_id=centre.id, role=role))


def new_alert(session: Session, author: User, centres: list[Centre], values: dict[str, Any], texts, areas, *,
              summary: str, msg_type: str = "Alert", references: list[str] | None = None,
              source: Alert | None = None, kind: str = "") -> tuple[Alert, Version]:
    """A draft alert led by `centres[0]`, with its first version. `kind` marks the identifier (e.g. "test-" for a
    communication test); an Update or Cancel names its `source` and the CAP `references`."""
    lead = centres[0]
    alert = Alert(identifier=f"benelert-{lead.code.lower()}-{kind}{uuid.uuid4().hex[:20]}", lead_centre_id=lead.id,
                  msg_type=msg_type, references=list(references or []), state="draft", current_version=1,
                  created_by_id=author.id, source_alert_id=source.id if source else None)
    session.add(alert)
    session.flush()
    sync_centres(alert, centres)
    version = build_version(alert, 1, author, values, texts, areas, [c.code for c in centres], None, summary)
    session.add(version)
    session.flush()
    return alert, version


def system_author(session: Session, centre: Centre) -> User:
    """The author of what the system prepares for `centre` (the prepared Cancel): an account nobody can log in
    with (inactive, no password, no role), so that the four-eyes rule lets any spokesperson approve it."""
    username = f"system:{centre.code.lower()}"
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, display_name=f"Benelert (prepared for {centre.code})", centre=centre,
                    password_hash=None, active=False)
        session.add(user)
        session.flush()
    return user
