"""Typed settings read from BENELERT_* environment variables.

`load_settings(overrides)` is the only entry point: the app factory and the CLI call it, tests pass
overrides. Values are parsed per declared type, never guessed from the string.

Login throttling (BENELERT_RATELIMIT_STORAGE) must be shared by every process that serves logins:
memory:// counts per process, so under gunicorn with several workers (or across recycled workers) each
one would allow its own quota. Production therefore refuses memory:// and needs e.g.
redis://127.0.0.1:6379/0 (redis-py URL options such as ?socket_timeout=2 bound a slow Redis). When the
storage cannot be reached, logins are refused with 503 (fail closed), never let through unthrottled.
"""
from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent
# Local state (dev secret key, embedded database, demo files); `make topology` points it elsewhere.
INSTANCE = Path(os.environ.get("BENELERT_INSTANCE_PATH") or ROOT / "instance")
WEAK_SECRETS = {"", "dev", "secret", "changeme", "change-me", "development"}
COMMON_LANGUAGE = "en"  # every warning carries it: the language partner centres all read
DEFAULT_LANGUAGES = "nl,fr,de,en,lb"


class SettingsError(RuntimeError):
    """The configuration cannot be used; the message says which variable and why."""


def parse_languages(raw: str) -> tuple[str, ...]:
    """BENELERT_LANGUAGES: the languages warnings are written in, in display order; each needs a catalog under
    translations/ (English, the phrasebook's source language, needs none and is required)."""
    languages = tuple(code.strip() for code in raw.split(",") if code.strip())
    if COMMON_LANGUAGE not in languages:
        raise SettingsError(f"BENELERT_LANGUAGES must include {COMMON_LANGUAGE!r}, the common language: {raw!r}")
    if len(set(languages)) != len(languages):
        raise SettingsError(f"BENELERT_LANGUAGES names a language twice: {raw!r}")
    without = [code for code in languages if code != COMMON_LANGUAGE
               and not (ROOT / "translations" / code / "LC_MESSAGES" / "messages.po").is_file()]
    if without:
        raise SettingsError(f"BENELERT_LANGUAGES: no catalog translations/<code>/LC_MESSAGES/messages.po for "
                            f"{', '.join(without)}")
    return languages


# Read once at start: the phrasebook, the API's schemas and the pages are built for these languages, so a
# process serves one list for its whole life (every process of a deployment gets the same environment).
LANGUAGES = parse_languages(os.environ.get("BENELERT_LANGUAGES", DEFAULT_LANGUAGES))


@dataclass(frozen=True)
class Settings:
    env: str = "development"  # development | test | production
    secret_key: str = ""
    database_url: str = ""
    ratelimit_storage: str = "memory://"
    # login attempts (alerts/login_throttle.py); several windows make the wait grow with the attempts
    login_attempts_per_user: str = "5 per 15 minutes; 10 per 2 hours"  # per username on a device or address
    login_attempts_per_ip: str = "30 per 15 minutes"  # failures per address without a device cookie
    login_attempts_per_account: str = "20 per 15 minutes; 60 per day"  # per username, all clients without one
    device_cookie_days: int = 365  # a browser that logged in is trusted for its user this long (signed cookie)
    session_hours: int = 12
    secure_cookies: bool = True
    max_body_bytes: int = 1024 * 1024
    sms_max_segments: int = 4
    mastodon_limit: int = 500
    sandbox_targets: dict = field(default_factory=dict)  # channel -> sandbox address, for Exercise/Test
    channels_file: str = ""  # JSON: channel name -> adapter config (see channels/__init__.py)
    public_url: str = ""
    cap_sender_domain: str = "benelert.eu"  # CAP <sender> is "<centre>@<domain>"
    cap_sign_key_file: str = ""  # PEM key and certificate: when set, every CAP sent is XML-DSig signed
    cap_sign_cert_file: str = ""  # how providers reach us (for callback signatures behind a proxy)
    dispatch_rates: dict = field(default_factory=dict)  # channel -> "100 per second"
    # An unknown outcome is asked about once its first attempt is this old (the provider may still be working on
    # it), by a reconciliation that runs this often (the worker command passes them to worker.Worker).
    reconcile_grace_seconds: int = 60
    reconcile_every_seconds: int = 30
    log_level: str = "INFO"
    log_json: bool = True
    metrics_token: str = ""  # bearer token for GET /metrics from other hosts (loopback needs none)
    # Reverse proxies in front of gunicorn that set X-Forwarded-For/-Proto: 0 trusts none (direct
    # exposure); 1 behind one TLS proxy. Login limits per client address need the real address.
    proxy_hops: int = 0
    # km around a warning's area in which phones may be served by masts across a border (alerts/jurisdictions.py)
    border_band_km: int = 5

    @property
    def production(self) -> bool:
        return self.env == "production"


def _parse(kind: type | str, raw: str, name: str):
    kind = kind if isinstance(kind, str) else kind.__name__
    if kind == "bool":
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise SettingsError(f"BENELERT_{name.upper()} must be true or false, not {raw!r}")
    if kind == "dict":
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise SettingsError(f"BENELERT_{name.upper()} must be a JSON object, not {raw!r}")
        return value
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"BENELERT_{name.upper()} must be an integer, not {raw!r}") from None
    return raw


def check_public_url(url: str) -> None:
    """BENELERT_PUBLIC_URL: the address people and providers reach this deployment at, http(s)://host[:port][/path],
    without query, fragment or credentials."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme not in {"http", "https"} or not parts.hostname or parts.query
            or parts.fragment or parts.username or parts.password or any(c.isspace() for c in url)):
        raise SettingsError(f"BENELERT_PUBLIC_URL must be an http(s) URL such as https://benelert.example.eu, "
                            f"not {url!r}")


def public_host(settings: Settings) -> str:
    """The host name of BENELERT_PUBLIC_URL (empty when unset)."""
    return urlsplit(settings.public_url).hostname or "" if settings.public_url else ""


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, from its first byte (not chmod after writing)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an existing file keeps its old mode through O_CREAT
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


def _dev_secret() -> str:
    """A per-machine random key for development, kept under instance/ so sessions survive restarts."""
    path = INSTANCE / "secret_key"
    if not path.exists():
        INSTANCE.mkdir(exist_ok=True)
        write_private(path, secrets.token_urlsafe(48))
    return path.read_text().strip()


def load_settings(overrides: dict | None = None, environ: dict | None = None) -> Settings:
    environ = os.environ if environ is None else environ
    overrides = overrides or {}
    values: dict = {}
    for item in fields(Settings):
        if item.name in overrides:
            values[item.name] = overrides[item.name]
            continue
        raw = environ.get(f"BENELERT_{item.name.upper()}")
        if raw is not None:
            values[item.name] = _parse(item.type, raw, item.name)
    env = values.get("env", Settings.env)
    if env not in {"development", "test", "production"}:
        raise SettingsError(f"BENELERT_ENV must be development, test or production, not {env!r}")
    if "secure_cookies" not in values and env == "development":
        values["secure_cookies"] = False  # `make run` serves plain http on 127.0.0.1
    if not values.get("database_url"):
        INSTANCE.mkdir(exist_ok=True)
        values["database_url"] = f"sqlite:///{INSTANCE / 'benelert.db'}"
    secret = values.get("secret_key", "")
    if env == "production":
        if secret.lower() in WEAK_SECRETS or len(secret) < 32:
            raise SettingsError(
                "BENELERT_SECRET_KEY must be set to a random value of at least 32 characters "
                "in production (for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if not values.get("secure_cookies", True):
            raise SettingsError("BENELERT_SECURE_COOKIES cannot be false in production")
        if values.get("ratelimit_storage", Settings.ratelimit_storage).split("://")[0] == "memory":
            raise SettingsError(
                "BENELERT_RATELIMIT_STORAGE must be shared in production (for example redis://127.0.0.1:6379/0): "
                "memory:// counts per process, so the login limits would not hold across gunicorn workers"
            )
        if not values.get("public_url"):
            raise SettingsError(
                "BENELERT_PUBLIC_URL must be set in production (for example https://benelert.example.eu): feeds link "
                "to it, provider signatures are checked against it and no other Host is served"
            )
    if values.get("public_url"):
        check_public_url(values["public_url"])
    if values.get("metrics_token") and len(values["metrics_token"]) < 32:
        raise SettingsError("BENELERT_METRICS_TOKEN must be a random value of at least 32 characters")
    if not 0 <= values.get("border_band_km", Settings.border_band_km) <= 50:
        raise SettingsError("BENELERT_BORDER_BAND_KM must be between 0 and 50")
    if bool(values.get("cap_sign_key_file")) != bool(values.get("cap_sign_cert_file")):
        raise SettingsError("BENELERT_CAP_SIGN_KEY_FILE and BENELERT_CAP_SIGN_CERT_FILE go together")
    if not secret and env != "production":
        values["secret_key"] = _dev_secret() if env == "development" else secrets.token_urlsafe(48)
    return Settings(**values)
