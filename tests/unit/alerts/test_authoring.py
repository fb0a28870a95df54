"""Co-authoring through the API: versions, optimistic concurrency, invitations, comments, diffs."""
from __future__ import annotations

import threading

from devtools.world import flood_alert, future


def create(api, **overrides):
    response = api.post("/alerts", json=flood_alert(**overrides))
    assert response.status_code == 201, response.get_json()
    return response


def test_create_returns_version_one_with_etag_and_required_languages(api_as):
    be = api_as("BE", "communicator")
    response = create(be)
    body = response.get_json()
    assert response.headers["ETag"] == '"v1"'
    assert body["lead"] == "BE" and body["participants"] == ["BE", "NL"]
    assert body["required_languages"] == ["nl", "fr", "de", "en"]
    texts = body["version"]["texts"]
    assert texts["nl"]["headline"] == {"body": "Overstroming in Limburg", "status": "human"}
    assert texts["fr"]["headline"] == {"body": "Inondations\u00a0: Limbourg", "status": "template"}
    assert texts["de"]["instruction"]["status"] == "template"
    assert texts["de"]["instruction"]["body"].startswith("Halten Sie sich von Flüssen")
    assert body["version"]["severity"] == "Severe"  # the hazard's default
    assert len(body["version"]["content_hash"]) == 64


def test_second_concurrent_editor_gets_412_with_diff_and_nothing_is_lost(api_as):
    be = api_as("BE", "communicator")
    nl = api_as("NL", "communicator")
    alert_id = create(be).get_json()["id"]
    # both load version 1
    assert be.get(f"/alerts/{alert_id}").headers["ETag"] == '"v1"'
    assert nl.get(f"/alerts/{alert_id}").headers["ETag"] == '"v1"'
    first = be.patch(f"/alerts/{alert_id}", json={"texts": {"fr": {"headline": "Inondation au Limbourg"}}},
                     headers={"If-Match": '"v1"'})
    assert first.status_code == 200 and first.headers["ETag"] == '"v2"'
    second = nl.patch(f"/alerts/{alert_id}", json={"severity": "Extreme",
                                                   "texts": {"nl": {"headline": "Zware overstroming"}}},
                      headers={"If-Match": '"v1"'})
    assert second.status_code == 412
    assert second.mimetype == "application/problem+json"
    problem = second.get_json()
    assert problem["current_version"] == 2 and second.headers["ETag"] == '"v2"'
    assert {"field": "texts.fr.headline", "from": "Inondations\u00a0: Limbourg",
            "to": "Inondation au Limbourg"} in problem["changes_since_yours"]
    assert problem["current"]["version"]["texts"]["fr"]["headline"]["body"] == "Inondation au Limbourg"
    assert problem["conflicting_fields"] == []  # different fields: the retry below merges cleanly
    # nothing of the refused edit was stored
    current = nl.get(f"/alerts/{alert_id}").get_json()
    assert current["current_version"] == 2 and current["version"]["severity"] == "Severe"
    # the second editor re-applies on top of v2: both changes survive
    retry = nl.patch(f"/alerts/{alert_id}", json={"severity": "Extreme",
                                                  "texts": {"nl": {"headline": "Zware overstroming"}}},
                     headers={"If-Match": '"v2"'})
    assert retry.status_code == 200
    version = retry.get_json()["version"]
    assert version["severity"] == "Extreme"
    assert version["texts"]["fr"]["headline"]["body"] == "Inondation au Limbourg"
    assert version["texts"]["nl"]["headline"]["body"] == "Zware overstroming"


def test_simultaneous_edits_of_one_version_make_exactly_one_new_version(app, make_user):
    from devtools.world import Api

    _, token = make_user("BE", "communicator")
    alert_id = create(Api(app.test_client(), token)).get_json()["id"]
    tokens = [make_user(centre, "communicator")[1] for centre in ("BE", "NL") * 4]
    results: list[int] = []
    barrier = threading.Barrier(len(tokens))

    def edit(index, secret):
        client = Api(app.test_client(), secret)
        barrier.wait()
        response = client.patch(f"/alerts/{alert_id}", json={"web": f"https://example.org/{index}"},
                                headers={"If-Match": '"v1"'})
        results.append(response.status_code)

    threads = [threading.Thread(target=edit, args=(i, t)) for i, t in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200] + [412] * (len(tokens) - 1)
    versions = Api(app.test_client(), token).get(f"/alerts/{alert_id}/versions").get_json()
    assert [v["number"] for v in versions] == [1, 2]


def test_conflict_names_the_fields_both_editors_changed(api_as):
    be = api_as("BE", "communicator")
    nl = api_as("NL", "communicator")
    alert_id = create(be).get_json()["id"]
    be.patch(f"/alerts/{alert_id}", json={"severity": "Extreme", "texts": {"nl": {"headline": "Hoogwater Maas"}}},
             headers={"If-Match": '"v1"'})
    stale = nl.patch(f"/alerts/{alert_id}", json={"texts": {"nl": {"headline": "Overstroming Maas"}}},
                     headers={"If-Match": '"v1"'})
    assert stale.status_code == 412
    assert stale.get_json()["conflicting_fields"] == ["texts.nl.headline"]


def test_edit_without_if_match_is_refused_with_428(api_as):
    be = api_as("BE", "communicator")
    alert_id = create(be).get_json()["id"]
    response = be.patch(f"/alerts/{alert_id}", json={"severity": "Extreme"})
    assert response.status_code == 428 and response.mimetype == "application/problem+json"


def test_unchanged_edit_creates_no_version(api_as):
    be = api_as("BE", "communicator")
    alert_id = create(be).get_json()["id"]
    response = be.patch(f"/alerts/{alert_id}", json={"severity": "Severe"}, headers={"If-Match": '"v1"'})
    assert response.status_code == 200 and response.headers["ETag"] == '"v1"'


def test_changing_a_source_text_makes_other_translations_stale(api_as):
    be = api_as("BE", "communicator")
    alert_id = create(be).get_json()["id"]
    be.patch(f"/alerts/{alert_id}", json={"texts": {"fr": {"headline": "Inondation au Limbourg"}}},
             headers={"If-Match": '"v1"'})
    response = be.patch(f"/alerts/{alert_id}", json={"texts": {"nl": {"headline": "Overstroming Maas"}}},
                        headers={"If-Match": '"v2"'})
    texts = response.get_json()["version"]["texts"]
    assert texts["nl"]["headline"]["status"] == "human"
    assert texts["fr"]["headline"]["status"] == "stale"
    assert texts["en"]["headline"]["status"] == "stale"
    confirmed = be.patch(f"/alerts/{alert_id}", json={"texts": {"fr": {"headline": {
        "body": "Inondation au Limbourg", "reviewed": True}}}}, headers={"If-Match": '"v3"'})
    assert confirmed.get_json()["version"]["texts"]["fr"]["headline"]["status"] == "human"


def test_invite_adds_centre_and_its_languages(api_as):
    nl = api_as("NL", "communicator")
    response = nl.post("/alerts", json=flood_alert(participants=[], texts={"nl": {"headline": "Hoogwater"}}))
    body = response.get_json()
    assert body["required_languages"] == ["nl", "en"]
    invited = nl.post(f"/alerts/{body['id']}/invitations", json={"centre": "LU"}, headers={"If-Match": '"v1"'})
    assert invited.status_code == 200, invited.get_json()
    body = invited.get_json()
    assert body["participants"] == ["NL", "LU"]
    assert body["required_languages"] == ["nl", "fr", "de", "en"]
    assert body["version"]["texts"]["de"]["headline"] == {"body": "Hochwasser: Limburg", "status": "template"}
    lu = api_as("LU", "communicator")
    assert lu.get(f"/alerts/{body['id']}").status_code == 200
    again = nl.post(f"/alerts/{body['id']}/invitations", json={"centre": "LU"}, headers={"If-Match": '"v2"'})
    assert again.status_code == 422


def test_comments_on_alert_and_on_one_field(api_as):
    be = api_as("BE", "communicator")
    nl = api_as("NL", "spokesperson")
    alert_id = create(be).get_json()["id"]
    assert be.post(f"/alerts/{alert_id}/comments", json={"body": "Check the area"}).status_code == 201
    response = nl.post(f"/alerts/{alert_id}/comments", json={"body": "Te lang", "field": "texts.nl.headline"})
    assert response.status_code == 201 and response.get_json()["field"] == "texts.nl.headline"
    bad = nl.post(f"/alerts/{alert_id}/comments", json={"body": "?", "field": "texts.xx.headline"})
    assert bad.status_code == 422
    comments = be.get(f"/alerts/{alert_id}/comments").get_json()
    assert [(c["author"].split("-")[0], c["field"]) for c in comments] == [("be", None), ("nl", "texts.nl.headline")]


def test_versions_list_and_diff_between_any_two(api_as):
    be = api_as("BE", "communicator")
    alert_id = create(be).get_json()["id"]
    be.patch(f"/alerts/{alert_id}", json={"severity": "Extreme"}, headers={"If-Match": '"v1"'})
    be.patch(f"/alerts/{alert_id}", json={"expires": future(20)}, headers={"If-Match": '"v2"'})
    versions = be.get(f"/alerts/{alert_id}/versions").get_json()
    assert [v["number"] for v in versions] == [1, 2, 3]
    assert len({v["content_hash"] for v in versions}) == 3
    diff = be.get(f"/alerts/{alert_id}/diff?from=1&to=3").get_json()
    # the phrasebook descriptions state the validity period, so they follow the new expiry
    assert {c["field"] for c in diff["changes"]} == {"severity", "expires"} | {
        f"texts.{lang}.description" for lang in ("nl", "fr", "de", "en")}
    assert be.get(f"/alerts/{alert_id}/versions/2").get_json()["severity"] == "Extreme"
    assert be.get(f"/alerts/{alert_id}/versions/9").status_code == 404


def test_two_areas_described_alike_are_refused_when_the_areas_are_written(api_as):
    be = api_as("BE", "communicator")
    alert = flood_alert()
    alert["areas"] = [{"description": "Luik (BE)", "place": "be-lie"},
                      {"description": " luik  (be)", "place": "be-liege"}]
    refused = be.post("/alerts", json=alert, headers={"Accept-Language": "en"})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert "Areas 1 and 2 are both described as “luik  (be)”" in refused.get_json()["detail"], refused.get_json()
    alert["areas"][1]["description"] = "Stad Luik (BE)"
    alert_id = create(be, areas=alert["areas"]).get_json()["id"]
    patched = be.patch(f"/alerts/{alert_id}", headers={"If-Match": '"v1"', "Accept-Language": "nl"},
                       json={"areas": [*alert["areas"], {"description": "STAD LUIK (BE)"}]})
    assert patched.status_code == 422 and "Gebieden 2 en 3" in patched.get_json()["detail"], patched.get_json()
    assert be.get(f"/alerts/{alert_id}").headers["ETag"] == '"v1"'  # nothing written
