"""Sample CAP messages and a signing key, shared by the tests and the parser fuzzing bench: a BE+NL flood
alert built from the phrasebook, a partner Ack, XML bombs, and a throw-away key with its self-signed certificate."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

from alerts.cap import build_cap
from alerts.phrasebook import render_texts

LANGUAGES = ["nl", "fr", "de", "en"]
WINTER = datetime(2026, 11, 22, 13, 30, 0, 123456, tzinfo=UTC)  # 14:30:00 in Brussels
SENDER = "benelert@be.crisis"

def flood_content(status: str = "Actual", msg_type: str = "Alert", participants=("BE", "NL")) -> dict:
    """A BE+NL flood along the Maas in canonical_content form, texts rendered from the phrasebook."""
    onset, expires = datetime(2026, 11, 22, 13, 0, tzinfo=UTC), datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    texts = {}
    for language in LANGUAGES:
        rendered = render_texts("flood", language, places=["be-lim", "nl-li"], onset=onset, expires=expires,
                                timezone="Europe/Brussels", country="BE")
        texts[language] = {field: {"body": getattr(rendered, field), "status": "template"}
                           for field in ("headline", "description", "instruction")}
    return {
        "status": status, "msg_type": msg_type, "hazard": "flood", "urgency": "Immediate", "severity": "Severe",
        "certainty": "Likely", "onset": "2026-11-22T13:00:00Z", "expires": "2026-11-23T06:00:00Z",
        "web": "https://crisiscentrum.be/maas", "participants": list(participants),
        "areas": [
            {"description": "Limburg (BE)", "place": "be-lim",
             "polygons": ["51.0,5.6 51.2,5.8 50.9,5.9 51.0,5.6"], "geocodes": [{"name": "NIS", "value": "70000"}]},
            {"description": "Limburg (NL)", "place": "nl-li",
             "polygons": ["51.2,5.8 51.4,6.0 51.1,6.1 51.2,5.8", "50.8,5.7 50.9,5.8 50.8,5.9 50.8,5.7"],
             "geocodes": []},
        ],
        "texts": texts,
    }


def sample_cap(content=None, *, references=(), sent=WINTER, timezone="Europe/Brussels", languages=LANGUAGES,
          **kwargs) -> bytes:
    info = {"identifier": "BE-2026-0042", "references": list(references)}
    return build_cap(info, content or flood_content(), sender=SENDER, sent=sent, timezone=timezone,
                     languages=languages, **kwargs)


@cache
def valid_cap() -> bytes:
    return sample_cap()



ACK = b"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>NL-ACK-1</identifier>
  <sender>lco@nl.example</sender>
  <sent>2026-11-22T14:31:05+01:00</sent>
  <status>Actual</status>
  <msgType>Ack</msgType>
  <scope>Public</scope>
  %s
</alert>"""



BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE alert [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol9;</identifier></alert>"""
QUADRATIC = (b'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY a "' + b"a" * 50_000 + b'">]>'
             b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>' + b"&a;" * 5_000
             + b"</identifier></alert>")
EXTERNAL_ENTITY = (b'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                   b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>')
DTD_RETRIEVAL = (b'<?xml version="1.0"?><!DOCTYPE alert SYSTEM "http://127.0.0.1:1/x.dtd">'
                 b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier></alert>')
PARAMETER_ENTITY = (b'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY % ext SYSTEM "http://127.0.0.1:1/e.dtd"> %ext;]>'
                    b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>')



def make_key_and_cert(name: str = "Benelert test") -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)
