"""Submission (languages complete and consistent) and approval (every centre, exact hash, four-eyes)."""
from __future__ import annotations

from devtools.world import flood_alert


def create(api, **overrides):
    response = api.post("/alerts", json=flood_alert(**overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def submit(api, alert_id, version):
    return api.post(f"/alerts/{alert_id}/submit", headers={"If-Match": f'"v{version}"'})


def decide(api, alert, decision="approve", reason="", content_hash=None):
    version = alert["version"]
    return api.post(f"/alerts/{alert['id']}/approvals", json={
        "decision": decision, "reason": reason, "content_hash": content_hash or version["content_hash"]},
        headers={"If-Match": f'"v{version["number"]}"'})


def test_stale_translation_blocks_submission_naming_the_language(api_as):
    be = api_as("BE", "communicator")
    alert = create(be, texts={"nl": {"headline": "Hoogwater in Limburg"}, "fr": {"headline": "Crue au Limbourg"}})
    edited = be.patch(f"/alerts/{alert['id']}", json={"texts": {"nl": {"headline": "Hoogwater Maas"}}},
                      headers={"If-Match": '"v1"'}).get_json()
    readiness = be.get(f"/alerts/{alert['id']}/readiness").get_json()
    assert not readiness["ready"]
    assert [p["message"] for p in readiness["problems"] if p["severity"] == "error"] == [
        "The French headline is stale: its source text changed."]  # de/en are phrasebook texts: not stale
    refused = submit(be, alert["id"], 2)
    assert refused.status_code == 422 and "French headline is stale" in refused.get_json()["detail"]
    assert refused.get_json()["problems"][0]["languages"] == ["fr"]
    assert edited["state"] == "draft"
    be.patch(f"/alerts/{alert['id']}", json={"texts": {"fr": {"headline": "Crue de la Meuse"}}},
             headers={"If-Match": '"v2"'})
    assert submit(be, alert["id"], 3).get_json()["state"] == "in_review"


def test_inconsistent_times_block_submission_and_show_the_values(api_as):
    be = api_as("BE", "communicator")
    alert = create(be, texts={"nl": {"instruction": "Blijf binnen tot 18:00."},
                              "fr": {"instruction": "Restez à l'intérieur jusqu'à 19:00."},
                              "de": {"instruction": "Bleiben Sie bis 18:00 Uhr drinnen."},
                              "en": {"instruction": "Stay indoors until 18:00."}})
    response = submit(be, alert["id"], 1)
    assert response.status_code == 422
    message = response.get_json()["problems"][0]["message"]
    assert "different times" in message and "fr: 19:00" in message and "nl: 18:00" in message


def test_every_centre_approves_the_exact_hash_then_the_alert_is_approved(api_as):
    be = api_as("BE", "communicator")
    alert = create(be)
    assert submit(be, alert["id"], 1).status_code == 200
    be_spokes, nl_spokes = api_as("BE", "spokesperson"), api_as("NL", "spokesperson")
    first = decide(be_spokes, alert)
    assert first.status_code == 200 and first.get_json()["centres"] == {"BE": "approved", "NL": "pending"}
    assert be.get(f"/alerts/{alert['id']}").get_json()["state"] == "in_review"
    assert decide(be_spokes, alert).status_code == 409  # one decision per centre
    assert decide(nl_spokes, alert).get_json()["centres"] == {"BE": "approved", "NL": "approved"}
    assert be.get(f"/alerts/{alert['id']}").get_json()["state"] == "approved"


def test_an_edit_voids_approvals(api_as):
    be = api_as("BE", "communicator")
    alert = create(be)
    submit(be, alert["id"], 1)
    decide(api_as("BE", "spokesperson"), alert)
    edited = be.patch(f"/alerts/{alert['id']}", json={"severity": "Extreme"}, headers={"If-Match": '"v1"'})
    assert edited.get_json()["state"] == "draft"
    approvals = be.get(f"/alerts/{alert['id']}/approvals").get_json()
    assert approvals["version"] == 2 and approvals["centres"] == {"BE": "pending", "NL": "pending"}


def test_approval_of_content_other_than_reviewed_is_refused(api_as):
    be = api_as("BE", "communicator")
    alert = create(be)
    submit(be, alert["id"], 1)
    response = decide(api_as("NL", "spokesperson"), alert, content_hash="0" * 64)
    assert response.status_code == 409 and "not the current content" in response.get_json()["detail"]


def test_four_eyes_author_cannot_approve_own_version(api_as, client, make_user):
    from devtools.world import Api

    both = Api(client, make_user("NL", "communicator", "spokesperson")[1])
    be = api_as("BE", "communicator")
    alert = create(be)
    both.patch(f"/alerts/{alert['id']}", json={"severity": "Extreme"}, headers={"If-Match": '"v1"'})
    assert submit(be, alert["id"], 2).status_code == 200
    current = be.get(f"/alerts/{alert['id']}").get_json()
    refused = decide(both, current)
    assert refused.status_code == 403 and "Four-eyes" in refused.get_json()["detail"]
    assert decide(api_as("NL", "spokesperson"), current).status_code == 200


def test_reject_needs_a_reason_and_returns_to_draft(api_as):
    be = api_as("BE", "communicator")
    alert = create(be)
    submit(be, alert["id"], 1)
    nl = api_as("NL", "spokesperson")
    assert decide(nl, alert, "reject").status_code == 422
    response = decide(nl, alert, "reject", reason="Zone klopt niet")
    assert response.get_json()["centres"]["NL"] == "rejected"
    assert be.get(f"/alerts/{alert['id']}").get_json()["state"] == "draft"


def test_only_spokespersons_of_taking_part_centres_decide(api_as):
    be = api_as("BE", "communicator")
    alert = create(be)
    submit(be, alert["id"], 1)
    assert decide(be, alert).status_code == 403
    assert decide(api_as("LU", "spokesperson"), alert).status_code == 404
    assert submit(api_as("BE", "spokesperson"), alert["id"], 1).status_code == 403


def test_preview_shows_every_language_and_channel_with_counts(api_as):
    be = api_as("BE", "communicator")
    alert = create(be, status="Exercise")
    preview = be.get(f"/alerts/{alert['id']}/preview").get_json()
    assert {(r["language"], r["channel"]) for r in preview} == {
        (lang, ch) for lang in ("nl", "fr", "de", "en") for ch in ("sms", "cell_broadcast", "x", "mastodon", "cap")}
    sms_fr = next(r for r in preview if r["language"] == "fr" and r["channel"] == "sms")
    assert sms_fr["text"].startswith("EXERCICE - ")
    assert sms_fr["fits"][0]["parts"] >= 1 and sms_fr["fits"][0]["encoding"] in ("GSM-7", "UCS-2")
    if not sms_fr["ok"]:
        assert sms_fr["problems"][0].startswith("fr / SMS: SMS needs")
    cap = next(r for r in preview if r["language"] == "de" and r["channel"] == "cap")
    assert [f["channel"] for f in cap["fits"]] == ["cap_headline", "cap_description", "cap_instruction"]
    assert be.get(f"/alerts/{alert['id']}/preview?version=7").status_code == 404
