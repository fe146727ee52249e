"""Configuration from ``IA_`` environment variables (and ``.env``), validated once at start."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

__all__ = ["ConfigError", "load_config", "SETTINGS"]


class ConfigError(Exception):
    """A setting is unknown or malformed; the message names the variable."""


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("on", "true", "1", "yes"):
        return True
    if value in ("off", "false", "0", "no"):
        return False
    raise ConfigError(f"{name}={raw!r}: expected on or off")


def _int(name: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r}: must be at least {minimum}")
    return value


def _ratio(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a number between 0 and 1") from None
    if not 0 <= value <= 1:
        raise ConfigError(f"{name}={raw!r}: expected a number between 0 and 1")
    return value


def _choice(*choices: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ConfigError(f"{name}={raw!r}: expected one of {', '.join(choices)}")
        return value

    return parse


def _url(*schemes: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip()
        scheme = value.split(":", 1)[0].lower() if ":" in value else ""
        if not scheme or not any(scheme == s or scheme.startswith(s + "+") for s in schemes):
            raise ConfigError(f"{name}={raw!r}: expected a URL starting with {' or '.join(s + ':' for s in schemes)}")
        return value

    return parse


def _text(name: str, raw: str) -> str:
    return raw


def _agency_name(name: str, raw: str) -> str:
    value = raw.strip()
    if not value or len(value) > 200 or any(ch in value for ch in ",;=\\") or not value.isprintable():
        raise ConfigError(f"{name}={raw!r}: expected the name of one agency (its OU name, e.g. 区委组织部)")
    return value


def _uid_list(name: str, raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _proxies(name: str, raw: str) -> int:
    value = _int(name, raw, minimum=0)
    if value > 5:
        raise ConfigError(f"{name}={raw!r}: the number of reverse proxies in front of the app, 0 to 5")
    return value


def _mail_address(name: str, raw: str) -> str:
    value = raw.strip()
    local, _sep, domain = value.rpartition("@")
    if not local or not domain or any(ch.isspace() or ch in "<>,;" for ch in value):
        raise ConfigError(f"{name}={raw!r}: expected one mail address, e.g. noreply@example.gov.cn")
    return value


def _mb(name: str, raw: str) -> int:
    return _int(name, raw, minimum=1) * 1024 * 1024


@dataclass(frozen=True)
class Setting:
    env: str
    key: str
    parse: Callable[[str, str], Any]
    default: Any


SETTINGS: tuple[Setting, ...] = (
    Setting("IA_DATABASE_URL", "SQLALCHEMY_DATABASE_URI", _url("sqlite", "postgresql"), None),
    Setting("IA_SECRET_KEY", "SECRET_KEY", _text, None),
    Setting("IA_LDAP_URI", "LDAP_URI", _url("ldap", "ldaps", "ldapi"), None),
    Setting("IA_LDAP_BIND_DN", "LDAP_BIND_DN", _text, None),
    Setting("IA_LDAP_BIND_PASSWORD", "LDAP_BIND_PASSWORD", _text, None),
    Setting("IA_LDAP_BASE_DN", "LDAP_BASE_DN", _text, None),
    Setting("IA_LDAP_USER_FILTER", "LDAP_USER_FILTER", _text, None),
    Setting("IA_LDAP_FLAVOR", "LDAP_FLAVOR", _choice("openldap", "ad"), "openldap"),
    Setting("IA_LDAP_STARTTLS", "LDAP_STARTTLS", _bool, False),
    Setting("IA_LDAP_CA_FILE", "LDAP_CA_FILE", _text, None),
    Setting("IA_LDAP_TIMEOUT", "LDAP_TIMEOUT", lambda n, r: float(_int(n, r, 1)), 10.0),
    Setting("IA_SYNC_INTERVAL_MINUTES", "SYNC_INTERVAL_MINUTES", lambda n, r: _int(n, r, 0), 0),
    Setting("IA_SYNC_MAX_DEACTIVATE_RATIO", "SYNC_MAX_DEACTIVATE_RATIO", _ratio, 0.1),
    Setting("IA_SEAL_DIR", "SEAL_DIR", _text, None),
    Setting("IA_TSA_URL", "TSA_URL", _url("http", "https"), None),
    Setting("IA_AUDIT_KEY_FILE", "AUDIT_KEY_FILE", _text, None),
    Setting("IA_AUDIT_KEY_PASSWORD", "AUDIT_KEY_PASSWORD", _text, None),
    Setting("IA_AUDIT_PKCS11_MODULE", "AUDIT_PKCS11_MODULE", _text, None),
    Setting("IA_AUDIT_PKCS11_TOKEN", "AUDIT_PKCS11_TOKEN", _text, None),
    Setting("IA_AUDIT_PKCS11_PIN", "AUDIT_PKCS11_PIN", _text, None),
    Setting("IA_AUDIT_PKCS11_KEY", "AUDIT_PKCS11_KEY", _text, None),
    Setting("IA_AUDIT_ANCHOR_FILE", "AUDIT_ANCHOR_FILE", _text, None),
    Setting("IA_SMTP_URL", "SMTP_URL", _url("smtp", "smtps"), None),
    Setting("IA_WEBHOOK_URL", "WEBHOOK_URL", _url("http", "https"), None),
    Setting("IA_BASE_URL", "BASE_URL", _url("http", "https"), "http://127.0.0.1:5000"),
    Setting("IA_MAIL_FROM", "MAIL_FROM", _mail_address, "noreply@localhost"),
    Setting("IA_NOTIFY_MAX_ATTEMPTS", "NOTIFY_MAX_ATTEMPTS", lambda n, r: _int(n, r, 1), 8),
    Setting("IA_SCHEDULER", "SCHEDULER", _bool, False),
    Setting("IA_AUTO_DELEGATION", "AUTO_DELEGATION", _choice("create", "propose", "off"), "create"),
    Setting("IA_LOCAL_LOGIN", "LOCAL_LOGIN", _bool, False),
    Setting("IA_ADMINS", "SYSTEM_ADMINS", _uid_list, ()),
    Setting("IA_DISTRICT_HR_AGENCY", "DISTRICT_HR_AGENCY", _agency_name, None),
    Setting("IA_MAX_UPLOAD_MB", "MAX_CONTENT_LENGTH", _mb, 20 * 1024 * 1024),
    Setting("IA_TOKEN_HOURS", "TOKEN_HOURS", lambda n, r: _int(n, r, 1), 12),
    Setting("IA_DEFAULT_LOCALE", "BABEL_DEFAULT_LOCALE", _choice("zh", "en"), "zh"),
    Setting("IA_SECURE_COOKIES", "SECURE_COOKIES", _bool, None),
    Setting("IA_PROXY_FIX", "PROXY_FIX", _proxies, 0),
    Setting("IA_SESSION_IDLE_HOURS", "SESSION_IDLE_HOURS", lambda n, r: _int(n, r, 1), 12),
    Setting("IA_LOGIN_THROTTLE_ACCOUNT", "LOGIN_THROTTLE_ACCOUNT", lambda n, r: _int(n, r, 0), 5),
    Setting("IA_LOGIN_THROTTLE_ADDRESS", "LOGIN_THROTTLE_ADDRESS", lambda n, r: _int(n, r, 0), 20),
    Setting("IA_LOGIN_THROTTLE_MINUTES", "LOGIN_THROTTLE_MINUTES", lambda n, r: _int(n, r, 1), 15),
)

_KNOWN = {s.env for s in SETTINGS}


def _read_dotenv(path: Path) -> dict[str, str]:
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def load_config(instance_path: str, environ: Mapping[str, str] | None = None,
                dotenv_path: Path | None = None) -> dict[str, Any]:
    """Read every ``IA_`` setting from ``.env`` and the environment (the environment wins).

    Raises :class:`ConfigError` naming the first unknown or malformed variable.
    """
    env: dict[str, str] = {}
    if dotenv_path is not None and dotenv_path.is_file():
        env.update(_read_dotenv(dotenv_path))
    env.update(os.environ if environ is None else environ)
    unknown = sorted(k for k in env if k.startswith("IA_") and k not in _KNOWN
                     and not k.startswith("IA_TEST_"))
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown setting (known: {', '.join(sorted(_KNOWN))})")
    config: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = env.get(setting.env)
        if raw is None or raw == "":
            config[setting.key] = setting.default
        else:
            config[setting.key] = setting.parse(setting.env, raw)
    if config["SQLALCHEMY_DATABASE_URI"] is None:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(instance_path) / 'internal_affairs.db'}"
    uri = config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://") or uri.startswith("postgres://"):
        config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.split("://", 1)[1]
    if config["SECURE_COOKIES"] is None:  # the demo (local passwords) runs on plain http://127.0.0.1
        config["SECURE_COOKIES"] = not config["LOCAL_LOGIN"]
    if config["SECRET_KEY"] is None:
        config["SECRET_KEY"] = _instance_secret(Path(instance_path))
    ldap_parts = [config["LDAP_URI"], config["LDAP_BASE_DN"]]
    if any(ldap_parts) and not all(ldap_parts):
        missing = "IA_LDAP_BASE_DN" if config["LDAP_URI"] else "IA_LDAP_URI"
        raise ConfigError(f"{missing}: required when the other LDAP settings are given")
    _check_audit_key_source(config)
    if config["LDAP_USER_FILTER"] is None:
        config["LDAP_USER_FILTER"] = ("(objectClass=user)" if config["LDAP_FLAVOR"] == "ad"
                                      else "(objectClass=inetOrgPerson)")
    elif not (config["LDAP_USER_FILTER"].startswith("(") and config["LDAP_USER_FILTER"].endswith(")")):
        raise ConfigError(f"IA_LDAP_USER_FILTER={config['LDAP_USER_FILTER']!r}: an LDAP filter must be in parentheses")
    return config


_AUDIT_PKCS11 = ("IA_AUDIT_PKCS11_MODULE", "IA_AUDIT_PKCS11_TOKEN", "IA_AUDIT_PKCS11_KEY")


def _check_audit_key_source(config: dict[str, Any]) -> None:
    """The audit key comes from one source: a PKCS#12 file or a PKCS#11 token (module, token
    label and key label together; the PIN only where checkpoints are signed)."""
    given = [env for env in _AUDIT_PKCS11 + ("IA_AUDIT_PKCS11_PIN",) if config[env[3:]]]
    if config["AUDIT_KEY_FILE"] and given:
        raise ConfigError(f"IA_AUDIT_KEY_FILE and {given[0]}: the audit key comes from one source, "
                          "a PKCS#12 file or a PKCS#11 token; unset the other")
    if not given:
        return
    missing = [env for env in _AUDIT_PKCS11 if not config[env[3:]]]
    if missing:
        raise ConfigError(f"{missing[0]}: required for an audit key on a PKCS#11 token "
                          f"(set {', '.join(_AUDIT_PKCS11)}, and IA_AUDIT_PKCS11_PIN where checkpoints are signed)")
    module = config["AUDIT_PKCS11_MODULE"]
    if not Path(module).is_file():
        raise ConfigError(f"IA_AUDIT_PKCS11_MODULE={module!r}: no such PKCS#11 module (a shared library file)")


def _instance_secret(instance: Path) -> str:
    """A per-installation secret kept in ``instance/secret_key`` so sessions survive restarts."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if path.is_file():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
