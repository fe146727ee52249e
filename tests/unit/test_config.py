"""Configuration from IA_ variables: defaults, parsing, and clear failures."""

import pytest

from internal_affairs.config import ConfigError, load_config


def test_defaults(tmp_path):
    config = load_config(str(tmp_path), environ={})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/internal_affairs.db"
    assert config["SYNC_MAX_DEACTIVATE_RATIO"] == 0.1 and config["LOCAL_LOGIN"] is False
    assert config["SECRET_KEY"] == load_config(str(tmp_path), environ={})["SECRET_KEY"], "secret persists"


def test_postgres_url_uses_psycopg3(tmp_path):
    config = load_config(str(tmp_path), environ={"IA_DATABASE_URL": "postgresql://u@h/db"})
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize("env, name", [
    ({"IA_LDAP_FLAVOR": "novell"}, "IA_LDAP_FLAVOR"),
    ({"IA_SYNC_MAX_DEACTIVATE_RATIO": "1.5"}, "IA_SYNC_MAX_DEACTIVATE_RATIO"),
    ({"IA_SCHEDULER": "maybe"}, "IA_SCHEDULER"),
    ({"IA_AUTO_DELEGATION": "always"}, "IA_AUTO_DELEGATION"),
    ({"IA_DATABASE_URL": "mysql://x"}, "IA_DATABASE_URL"),
    ({"IA_SYNC_INTERVAL_MINUTES": "soon"}, "IA_SYNC_INTERVAL_MINUTES"),
    ({"IA_LDAP_URI": "ldap://x"}, "IA_LDAP_BASE_DN"),
    ({"IA_LDAP_USER_FILTER": "objectClass=person"}, "IA_LDAP_USER_FILTER"),
    ({"IA_TYPO": "1"}, "IA_TYPO"),
    ({"IA_DISTRICT_HR_AGENCY": "区委组织部,区纪委"}, "IA_DISTRICT_HR_AGENCY"),
    ({"IA_DISTRICT_HR_AGENCY": "ou=区委组织部"}, "IA_DISTRICT_HR_AGENCY"),
    ({"IA_DISTRICT_HR_AGENCY": "  "}, "IA_DISTRICT_HR_AGENCY"),
    ({"IA_DISTRICT_HR_AGENCY": "区委\n组织部"}, "IA_DISTRICT_HR_AGENCY"),
])
def test_bad_values_name_the_variable(tmp_path, env, name):
    with pytest.raises(ConfigError) as info:
        load_config(str(tmp_path), environ=env)
    assert str(info.value).startswith(name)


def test_district_hr_agency_names_one_agency(tmp_path):
    assert load_config(str(tmp_path), environ={})["DISTRICT_HR_AGENCY"] is None
    config = load_config(str(tmp_path), environ={"IA_DISTRICT_HR_AGENCY": " 区委组织部 "})
    assert config["DISTRICT_HR_AGENCY"] == "区委组织部"


def test_dotenv_is_read_and_environment_wins(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("IA_LOCAL_LOGIN=on\nIA_SCHEDULER=on\n")
    config = load_config(str(tmp_path), environ={"IA_SCHEDULER": "off"}, dotenv_path=dotenv)
    assert config["LOCAL_LOGIN"] is True and config["SCHEDULER"] is False


def test_wsgi_start_fails_with_one_line(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", "import wsgi"], capture_output=True, text=True,
                            env={"IA_LDAP_FLAVOR": "novell", "PATH": "/usr/bin"}, cwd=str(__import__("pathlib").Path(__file__).parents[2]))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("configuration error: IA_LDAP_FLAVOR")


def test_secure_cookies_are_on_unless_the_demo_or_said_otherwise(tmp_path):
    assert load_config(str(tmp_path), environ={})["SECURE_COOKIES"] is True
    assert load_config(str(tmp_path), environ={"IA_LOCAL_LOGIN": "on"})["SECURE_COOKIES"] is False, "the demo is http"
    both = {"IA_LOCAL_LOGIN": "on", "IA_SECURE_COOKIES": "on"}
    assert load_config(str(tmp_path), environ=both)["SECURE_COOKIES"] is True
    assert load_config(str(tmp_path), environ={"IA_SECURE_COOKIES": "off"})["SECURE_COOKIES"] is False


def test_session_proxy_and_throttle_settings(tmp_path):
    defaults = load_config(str(tmp_path), environ={})
    assert defaults["PROXY_FIX"] == 0 and defaults["SESSION_IDLE_HOURS"] == 12
    assert (defaults["LOGIN_THROTTLE_ACCOUNT"], defaults["LOGIN_THROTTLE_ADDRESS"],
            defaults["LOGIN_THROTTLE_MINUTES"]) == (5, 20, 15)
    config = load_config(str(tmp_path), environ={"IA_PROXY_FIX": "2", "IA_SESSION_IDLE_HOURS": "8",
                                                 "IA_LOGIN_THROTTLE_ACCOUNT": "0", "IA_LOGIN_THROTTLE_ADDRESS": "100",
                                                 "IA_LOGIN_THROTTLE_MINUTES": "30"})
    assert (config["PROXY_FIX"], config["SESSION_IDLE_HOURS"], config["LOGIN_THROTTLE_ACCOUNT"],
            config["LOGIN_THROTTLE_ADDRESS"], config["LOGIN_THROTTLE_MINUTES"]) == (2, 8, 0, 100, 30)


@pytest.mark.parametrize("env, name", [
    ({"IA_SECURE_COOKIES": "sometimes"}, "IA_SECURE_COOKIES"),
    ({"IA_PROXY_FIX": "yes"}, "IA_PROXY_FIX"),
    ({"IA_PROXY_FIX": "-1"}, "IA_PROXY_FIX"),
    ({"IA_PROXY_FIX": "9"}, "IA_PROXY_FIX"),
    ({"IA_SESSION_IDLE_HOURS": "0"}, "IA_SESSION_IDLE_HOURS"),
    ({"IA_LOGIN_THROTTLE_ACCOUNT": "-3"}, "IA_LOGIN_THROTTLE_ACCOUNT"),
    ({"IA_LOGIN_THROTTLE_ADDRESS": "many"}, "IA_LOGIN_THROTTLE_ADDRESS"),
    ({"IA_LOGIN_THROTTLE_MINUTES": "0"}, "IA_LOGIN_THROTTLE_MINUTES"),
])
def test_bad_security_settings_name_the_variable(tmp_path, env, name):
    with pytest.raises(ConfigError) as info:
        load_config(str(tmp_path), environ=env)
    assert str(info.value).startswith(name)


def test_automatic_delegation_defaults_to_create(tmp_path):
    assert load_config(str(tmp_path), environ={})["AUTO_DELEGATION"] == "create"
    assert load_config(str(tmp_path), environ={"IA_AUTO_DELEGATION": "propose"})["AUTO_DELEGATION"] == "propose"


def _token_settings(tmp_path, **extra):
    module = tmp_path / "libtoken.so"
    module.write_bytes(b"\x7fELF")
    return {"IA_AUDIT_PKCS11_MODULE": str(module), "IA_AUDIT_PKCS11_TOKEN": "ia-audit",
            "IA_AUDIT_PKCS11_KEY": "audit-key"} | extra


def test_the_audit_key_on_a_pkcs11_token(tmp_path):
    config = load_config(str(tmp_path), environ=_token_settings(tmp_path, IA_AUDIT_PKCS11_PIN="1234"))
    assert (config["AUDIT_PKCS11_TOKEN"], config["AUDIT_PKCS11_KEY"], config["AUDIT_PKCS11_PIN"]) == (
        "ia-audit", "audit-key", "1234")
    assert config["AUDIT_KEY_FILE"] is None
    assert load_config(str(tmp_path), environ=_token_settings(tmp_path))["AUDIT_PKCS11_PIN"] is None, \
        "a host that only verifies needs no PIN"


@pytest.mark.parametrize("change, name", [
    ({"IA_AUDIT_KEY_FILE": "/etc/ia/audit.p12"}, "IA_AUDIT_KEY_FILE and IA_AUDIT_PKCS11_MODULE"),
    ({"IA_AUDIT_PKCS11_TOKEN": ""}, "IA_AUDIT_PKCS11_TOKEN: required"),
    ({"IA_AUDIT_PKCS11_KEY": ""}, "IA_AUDIT_PKCS11_KEY: required"),
    ({"IA_AUDIT_PKCS11_MODULE": "/nonexistent/libsofthsm2.so"}, "IA_AUDIT_PKCS11_MODULE='/nonexistent"),
])
def test_the_audit_key_has_exactly_one_complete_source(tmp_path, change, name):
    with pytest.raises(ConfigError, match=name.replace("(", r"\(")):
        load_config(str(tmp_path), environ=_token_settings(tmp_path) | change)


def test_a_pin_or_a_module_alone_is_not_an_audit_key(tmp_path):
    with pytest.raises(ConfigError, match="IA_AUDIT_PKCS11_MODULE: required"):
        load_config(str(tmp_path), environ={"IA_AUDIT_PKCS11_PIN": "1234"})
    with pytest.raises(ConfigError, match="IA_AUDIT_KEY_FILE and IA_AUDIT_PKCS11_PIN"):
        load_config(str(tmp_path), environ={"IA_AUDIT_KEY_FILE": "/etc/ia/audit.p12", "IA_AUDIT_PKCS11_PIN": "1"})
