"""The release as operators install it: a wheel built from an sdist of this tree, installed
(not editable) into a fresh virtual environment, migrates, loads the catalog and a directory
export and serves pages, static files and translations through gunicorn, with no source tree on
the path.

The build runs offline with the build requirements `make venv` installs into this environment
(``--no-build-isolation``); the fresh environment gets the project's dependencies from this one
through a ``.pth`` line (that line does not run this environment's own ``.pth`` files, so the
editable install of the checkout stays invisible there), and ``pip check`` confirms the wheel's
declared dependencies are all met by them.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import tarfile
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parents[2]
NOT_SHIPPED = shutil.ignore_patterns(".git", ".venv", "instance", "build", "dist", "*.egg-info", "__pycache__",
                                     "*.py[co]", "*.mo", ".env", ".pytest_cache", ".hypothesis", "tests", "bench")
APP = ["-m", "flask", "--app", "internal_affairs.wsgi"]
# one person is enough to log in (the demo district would spend most of the test hashing passwords)
LDIF = """\
dn: dc=jiahe,dc=gov,dc=cn
objectClass: dcObject
objectClass: organization
dc: jiahe
o: Jiahe
entryUUID: 5e000001-0000-4000-8000-000000000001

dn: ou=Office,dc=jiahe,dc=gov,dc=cn
objectClass: organizationalUnit
ou: Office
entryUUID: 5e000002-0000-4000-8000-000000000001

dn: ou=Desk,ou=Office,dc=jiahe,dc=gov,dc=cn
objectClass: organizationalUnit
ou: Desk
entryUUID: 5e000002-0000-4000-8000-000000000002

dn: uid=tester,ou=Desk,ou=Office,dc=jiahe,dc=gov,dc=cn
objectClass: inetOrgPerson
uid: tester
cn: Tester One
sn: One
entryUUID: 5e000003-0000-4000-8000-000000000001
"""


def _run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def _check_build_requirements() -> None:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        requires = tomllib.load(fh)["build-system"]["requires"]
    for line in requires:
        req = Requirement(line)
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            version = None
        if version is None or not req.specifier.contains(version, prereleases=True):
            pytest.fail(f"build requirement {line} is not installed here (found {version}); "
                        f"`make venv` installs the build requirements")


def _build_wheel(work: Path) -> Path:
    """sdist of a copy of the tree (no .mo files, no build leftovers), then a wheel from the sdist,
    as ``python -m build`` does."""
    _check_build_requirements()
    src, dist, wheels = work / "src", work / "dist", work / "wheels"
    shutil.copytree(ROOT, src, ignore=NOT_SHIPPED)
    _run([sys.executable, "-c", "import sys; from setuptools import build_meta; build_meta.build_sdist(sys.argv[1])",
          str(dist)], cwd=src)
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        tar.extractall(work / "unpacked", filter="data")
    (unpacked,) = (work / "unpacked").iterdir()
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-build-isolation", "--no-deps", "--no-index",
          "-w", str(wheels), str(unpacked)], cwd=work)
    (wheel,) = wheels.glob("internal_affairs-*.whl")
    return wheel


def _fresh_venv(work: Path, wheel: Path) -> Path:
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=work)
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=work).strip())
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
         cwd=work)
    # only now, so that pip's install never sees (let alone touches) this environment's packages
    (site / "_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "check"], cwd=work)
    return python


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(opener, url: str, data: bytes | None = None, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with opener.open(request, timeout=30) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read().decode("utf-8")


def _wait_until_serving(opener, url: str, server: subprocess.Popen, log: Path) -> None:
    for _ in range(300):
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{log.read_text()}")
        try:
            _get(opener, url)
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail(f"gunicorn never answered:\n{log.read_text()}")


def test_a_wheel_installed_into_a_fresh_venv_migrates_loads_and_serves(tmp_path):
    wheel = _build_wheel(tmp_path)
    python = _fresh_venv(tmp_path, wheel)
    run_dir = tmp_path / "run"  # outside the source tree, with no .env
    run_dir.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IA_", "PYTHON", "FLASK_")) and k != "VIRTUAL_ENV"}
    env.update(IA_DATABASE_URL=f"sqlite:///{tmp_path / 'ia.db'}", IA_SECRET_KEY="install-test",
               IA_LOCAL_LOGIN="on")

    where = _run([str(python), "-c", "import internal_affairs; print(internal_affairs.__file__)"],
                 cwd=run_dir, env=env).strip()
    assert where.startswith(str(python.parent.parent)), f"not the installed package: {where}"
    installed = Path(where).parent
    assert (installed / "templates" / "base.html").is_file() and (installed / "migrations" / "env.py").is_file()
    assert (installed / "translations" / "en" / "LC_MESSAGES" / "messages.mo").is_file()
    assert (installed / "matters" / "catalog" / "overseas_travel.yaml").is_file()

    assert "Running upgrade" in _run([str(python), *APP, "db", "upgrade"], cwd=run_dir, env=env)
    loaded = _run([str(python), *APP, "matters", "load"], cwd=run_dir, env=env)
    assert re.search(r"matters: 6 created .*doc_outgoing.*overseas_travel", loaded), loaded
    (tmp_path / "people.ldif").write_text(LDIF)
    _run([str(python), *APP, "org", "load-ldif", str(tmp_path / "people.ldif")], cwd=run_dir, env=env)
    _run([str(python), *APP, "demo", "seed"], cwd=run_dir, env=env)
    assert "demo seals: " in _run([str(python), *APP, "seals", "init-demo"], cwd=run_dir, env=env)
    libraries = _run([str(python), "-c", "import signing, org_sync; print(signing.__file__, org_sync.__file__)"],
                     cwd=run_dir, env=env)
    assert all(path.startswith(str(python.parent.parent)) for path in libraries.split()), libraries

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as log_fh:
        server = subprocess.Popen([str(python), "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
                                   "internal_affairs.wsgi:app"], cwd=run_dir, env=env, stdout=log_fh,
                                  stderr=subprocess.STDOUT)
    try:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        _wait_until_serving(opener, f"{base}/login", server, log)

        status, _, page = _get(opener, f"{base}/login")
        assert status == 200 and "<h1>登录</h1>" in page and "/static/app.css" in page
        status, _, english = _get(opener, f"{base}/login?lang=en")
        assert status == 200 and "<h1>Log in</h1>" in english, "the compiled English catalog is not used"
        for asset, kind in (("app.css", "text/css"), ("cases.css", "text/css"), ("picker.js", "javascript")):
            status, content_type, body = _get(opener, f"{base}/static/{asset}")
            assert status == 200 and kind in content_type and body.strip()

        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"csrf_token": token, "username": "tester", "password": "demo1234"}).encode()
        status, _, home = _get(opener, f"{base}/login", data=form)
        assert status == 200 and "Tester One" in home
        status, _, new_case = _get(opener, f"{base}/cases/new/overseas_travel")
        assert status == 200 and "前往国家或地区" in new_case and '<option value="JP"' in new_case

        body = json.dumps({"username": "tester", "password": "demo1234"}).encode()
        _, _, answer = _get(opener, f"{base}/api/v1/auth/token", data=body,
                            headers={"Content-Type": "application/json"})
        bearer = {"Authorization": f"Bearer {json.loads(answer)['token']}"}
        _, _, matters = _get(opener, f"{base}/api/v1/matter-types", headers=bearer)
        assert {m["code"] for m in json.loads(matters)} == {"business_trip", "doc_incoming", "doc_outgoing", "leave",
                                                             "overseas_travel", "overtime"}
    finally:
        server.terminate()
        server.wait(30)
