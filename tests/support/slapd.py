"""A throwaway OpenLDAP ``slapd`` for tests and benchmarks, on 127.0.0.1 and a free port.

Unlike python-ldap's ``slapdtest.SlapdObject`` (which writes into the current directory, loads only
the ``core`` schema and never adds the suffix entry) this server is configured the way a real
district directory is:

* schemas ``core``, ``cosine``, ``inetorgperson`` and ``nis``, loaded before the database so the
  database's indexes can name their attributes;
* an ``mdb`` database for :attr:`SlapdServer.suffix` (default ``dc=jiahe,dc=gov,dc=cn``) with
  equality indexes on ``objectClass``, ``uid``, ``entryUUID``, ``entryCSN`` (and ``member``,
  ``manager``, ``cn``, ``ou``);
* the ``syncprov`` overlay with a session log, so RFC 4533 content sync works (deletions arrive
  as ``syncIdSet`` while the session log still covers the cookie; after a restart the log is
  empty and the provider falls back to a present phase);
* the suffix entry itself and two non-root service accounts:

  - :attr:`SlapdServer.reader_dn` (password :attr:`SlapdServer.reader_password`): read access to
    everything, ``auth`` on ``userPassword``, ``limits size=unlimited time=unlimited`` (slapd's
    default limit of 500 entries also caps *paged* totals of non-root binds);
  - :attr:`SlapdServer.limited_dn` (password :attr:`SlapdServer.limited_password`): the same read
    access but ``size=`` :attr:`SlapdServer.limited_size` entries, to provoke
    ``sizeLimitExceeded``;

* ``userPassword`` is ``auth``-able by anonymous (so people can log in by bind) and readable by
  nobody but the entry itself;
* TLS with python-ldap's bundled test certificates (CN localhost, SAN 127.0.0.1), so StartTLS
  can be tested with :attr:`SlapdServer.ca_file`.

Entries can be bulk-loaded before start with ``slapadd -q -S 0 -w`` (:meth:`SlapdServer.preload`;
``-w`` writes the suffix's ``contextCSN`` so the first content-sync delta after start does not
resend everything) and changed at run time as the root DN (:meth:`add_ldif`, :meth:`modify`,
:meth:`modrdn`, :meth:`delete`). Added entries may carry ``entryUUID``: online adds send them with
the Relax Rules control, which lets the root DN set that operational attribute.

Usage::

    with SlapdServer() as server:       # or server.start() / server.stop()
        server.add_ldif(generate_directory(100))
        conn = server.connect()          # bound as the root DN
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("LDAPNOINIT", "1")  # ignore ~/.ldaprc and /etc/ldap/ldap.conf

import ldap  # noqa: E402
import ldap.dn  # noqa: E402
import ldap.modlist  # noqa: E402
from ldap.controls.simple import RelaxRulesControl  # noqa: E402
from ldap.ldapobject import LDAPObject  # noqa: E402
from ldif import LDIFRecordList  # noqa: E402

from tests.support.directory import GeneratedDirectory, build_directory, ldif_line, ssha  # noqa: E402

__all__ = [
    "SLAPD_PATH",
    "SlapdServer",
    "SlapdUnavailable",
    "slapd_available",
    "ssha",
    "start_bulk_directory",
]

SLAPD_PATH = os.environ.get("SLAPD", "/usr/sbin/slapd")
SCHEMA_DIR = Path(os.environ.get("SCHEMA", "/etc/ldap/schema"))
MODULE_DIR = Path("/usr/lib/ldap")
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")
LOCALHOST = "127.0.0.1"


class SlapdUnavailable(RuntimeError):
    """slapd or its tools are not installed, or the server did not come up."""


def slapd_available() -> bool:
    """True when slapd and slapadd are installed."""
    return os.access(SLAPD_PATH, os.X_OK) and _tool("slapadd") is not None


def _tool(name: str) -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", os.defpath), "/usr/sbin", "/sbin"])
    return shutil.which(name, path=path)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


def _suffix_entry(suffix: str) -> list[tuple[str, str]]:
    rdn_type, rdn_value, _ = ldap.dn.str2dn(suffix)[0][0]
    rdn_type = rdn_type.lower()
    if rdn_type == "dc":
        return [("objectClass", "top"), ("objectClass", "dcObject"), ("objectClass", "organization"),
                ("dc", rdn_value), ("o", rdn_value)]
    if rdn_type == "o":
        return [("objectClass", "top"), ("objectClass", "organization"), ("o", rdn_value)]
    if rdn_type == "ou":
        return [("objectClass", "top"), ("objectClass", "organizationalUnit"), ("ou", rdn_value)]
    raise ValueError(f"cannot make a suffix entry for {suffix!r} (use dc=, o= or ou=)")


class SlapdServer:
    """One slapd process with its own run directory (see the module docstring).

    :param suffix: the database suffix; its entry is created at start.
    :param workdir: where the run directory goes (a new temporary directory by default; it is
        removed by :meth:`stop` unless ``keep`` is true).
    :param session_log: syncprov's in-memory session log size (0 disables it, forcing present
        phases for every content-sync refresh with a cookie).
    """

    root_password = "root-secret"
    reader_password = "reader-secret"
    limited_password = "limited-secret"
    limited_size = 50

    def __init__(
        self,
        suffix: str = "dc=jiahe,dc=gov,dc=cn",
        *,
        workdir: str | os.PathLike[str] | None = None,
        session_log: int = 100_000,
        keep: bool = False,
        log_level: str = "none",
    ) -> None:
        if not slapd_available():
            raise SlapdUnavailable(f"slapd not found at {SLAPD_PATH} (or slapadd missing)")
        self.suffix = suffix
        self.session_log = session_log
        self.keep = keep
        self.log_level = log_level
        self._own_workdir = workdir is None
        self.rundir = Path(tempfile.mkdtemp(prefix="slapd-")) if workdir is None else Path(workdir)
        self.rundir.mkdir(parents=True, exist_ok=True)
        self.config_dir = self.rundir / "slapd.d"
        self.db_dir = self.rundir / "data"
        self.log_file = self.rundir / "slapd.log"
        self.port = _free_port()
        self.uri = f"ldap://{LOCALHOST}:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None
        self._configured = False
        self._preload: list[str] = []
        certs = Path(__import__("slapdtest").__file__).parent / "certs"
        self.ca_file = str(certs / "ca.pem")
        self._server_cert = str(certs / "server.pem")
        self._server_key = str(certs / "server.key")

    # ---- names --------------------------------------------------------------------------

    @property
    def root_dn(self) -> str:
        """The database's root DN (full write access, no limits)."""
        return f"cn=admin,{self.suffix}"

    @property
    def reader_dn(self) -> str:
        """The read-only service account the org sync binds as."""
        return f"cn=sync-reader,{self.suffix}"

    @property
    def limited_dn(self) -> str:
        """A read-only account with ``size=`` :attr:`limited_size` (for limit tests)."""
        return f"cn=limited-reader,{self.suffix}"

    @property
    def pid(self) -> int:
        """The slapd process id (the server must be running)."""
        if self._proc is None:
            raise RuntimeError("slapd is not running")
        return self._proc.pid

    @property
    def running(self) -> bool:
        """True while the slapd process is alive."""
        return self._proc is not None and self._proc.poll() is None

    # ---- configuration --------------------------------------------------------------------

    def _config_ldif(self) -> str:
        uid, gid = os.getuid(), os.getgid()
        db = "olcDatabase={1}mdb,cn=config"
        reader, limited = self.reader_dn, self.limited_dn
        parts = [
            "dn: cn=config",
            "objectClass: olcGlobal",
            "cn: config",
            f"olcLogLevel: {self.log_level}",
            f"olcPidFile: {self.rundir / 'slapd.pid'}",
            f"olcArgsFile: {self.rundir / 'slapd.args'}",
            f"olcTLSCACertificateFile: {self.ca_file}",
            f"olcTLSCertificateFile: {self._server_cert}",
            f"olcTLSCertificateKeyFile: {self._server_key}",
            "olcTLSVerifyClient: never",
            "",
            "dn: cn=module{0},cn=config",
            "objectClass: olcModuleList",
            "cn: module{0}",
            f"olcModulePath: {MODULE_DIR}",
            "olcModuleLoad: {0}back_mdb",
            "olcModuleLoad: {1}syncprov",
            "",
            "dn: cn=schema,cn=config",
            "objectClass: olcSchemaConfig",
            "cn: schema",
            "",
        ]
        text = "\n".join(parts) + "\n"
        for name in SCHEMAS:
            text += (SCHEMA_DIR / f"{name}.ldif").read_text(encoding="utf-8").strip() + "\n\n"
        parts = [
            "dn: olcDatabase={-1}frontend,cn=config",
            "objectClass: olcDatabaseConfig",
            "objectClass: olcFrontendConfig",
            "olcDatabase: {-1}frontend",
            "olcSizeLimit: 500",
            "",
            "dn: olcDatabase={0}config,cn=config",
            "objectClass: olcDatabaseConfig",
            "olcDatabase: {0}config",
            "olcRootDN: cn=config",
            f"olcRootPW: {self.root_password}",
            f"olcAccess: {{0}}to * by dn.exact=gidNumber={gid}+uidNumber={uid},cn=peercred,cn=external,cn=auth manage by * none",
            "",
            f"dn: {db}",
            "objectClass: olcDatabaseConfig",
            "objectClass: olcMdbConfig",
            "olcDatabase: {1}mdb",
            f"olcSuffix: {self.suffix}",
            f"olcRootDN: {self.root_dn}",
            f"olcRootPW: {self.root_password}",
            f"olcDbDirectory: {self.db_dir}",
            "olcDbMaxSize: 4294967296",
            "olcDbIndex: objectClass eq",
            "olcDbIndex: uid eq",
            "olcDbIndex: entryUUID eq",
            "olcDbIndex: entryCSN eq",
            "olcDbIndex: member eq",
            "olcDbIndex: manager eq",
            "olcDbIndex: cn,ou eq",
            f'olcAccess: {{0}}to attrs=userPassword by dn.exact="{reader}" auth by dn.exact="{limited}" auth by anonymous auth by self write by * none',
            f'olcAccess: {{1}}to * by dn.exact="{reader}" read by dn.exact="{limited}" read by self read by * none',
            f'olcLimits: {{0}}dn.exact="{reader}" size=unlimited time=unlimited',
            f'olcLimits: {{1}}dn.exact="{limited}" size={self.limited_size}',
            "",
            f"dn: olcOverlay={{0}}syncprov,{db}",
            "objectClass: olcOverlayConfig",
            "objectClass: olcSyncProvConfig",
            "olcOverlay: {0}syncprov",
            "olcSpCheckpoint: 100 10",
        ]
        if self.session_log:
            parts.append(f"olcSpSessionlog: {self.session_log}")
        return text + "\n".join(parts) + "\n"

    def _base_ldif(self) -> str:
        lines = [ldif_line("dn", self.suffix)] + [ldif_line(a, v) for a, v in _suffix_entry(self.suffix)]
        text = "\n".join(lines) + "\n\n"
        for dn, password in ((self.reader_dn, self.reader_password), (self.limited_dn, self.limited_password)):
            cn = ldap.dn.str2dn(dn)[0][0][1]
            text += "\n".join([
                ldif_line("dn", dn),
                "objectClass: organizationalRole",
                "objectClass: simpleSecurityObject",
                ldif_line("cn", cn),
                "description: read-only service account",
                f"userPassword: {ssha(password, os.urandom(8))}",
            ]) + "\n\n"
        return text

    def _run(self, args: Sequence[str], stdin: bytes | None = None) -> None:
        proc = subprocess.run(list(args), input=stdin, capture_output=True, check=False)
        if proc.returncode != 0:
            raise SlapdUnavailable(
                f"{' '.join(args)} failed ({proc.returncode}):\n"
                f"{proc.stdout.decode(errors='replace')}\n{proc.stderr.decode(errors='replace')}"
            )

    def _configure(self) -> None:
        if self._configured:
            return
        for path in (self.config_dir, self.db_dir):
            if path.exists():
                shutil.rmtree(path)
            path.mkdir(parents=True)
        slapadd = _tool("slapadd") or "slapadd"
        config = self.rundir / "config.ldif"
        config.write_text(self._config_ldif(), encoding="utf-8")
        self._run([slapadd, "-F", str(self.config_dir), "-n", "0", "-l", str(config)])
        data = self.rundir / "initial.ldif"
        with data.open("w", encoding="utf-8") as fh:
            fh.write(self._base_ldif())
            for chunk in self._preload:
                fh.write(chunk)
                if not chunk.endswith("\n\n"):
                    fh.write("\n" if chunk.endswith("\n") else "\n\n")
        self._preload.clear()
        self._run([slapadd, "-F", str(self.config_dir), "-b", self.suffix, "-q", "-S", "0", "-w",
                   "-l", str(data)])
        data.unlink()
        self._run([SLAPD_PATH, "-T", "test", "-F", str(self.config_dir), "-u"])
        self._configured = True

    # ---- life cycle -----------------------------------------------------------------------

    def preload(self, ldif: str) -> None:
        """Queue LDIF (plain entries, no change records) for ``slapadd`` before the first start.

        This is the fast path for big directories: 50,000 people load in seconds, while online
        adds take minutes. Entries may carry ``entryUUID``; slapadd generates it otherwise.
        """
        if self._configured:
            raise RuntimeError("preload() must be called before start()")
        self._preload.append(ldif)

    def start(self, timeout: float = 15.0) -> SlapdServer:
        """Create the configuration and database (first time only), then run slapd."""
        if self.running:
            return self
        self._configure()
        atexit.register(self.terminate)  # never leave a slapd behind if the caller forgets stop()
        log = self.log_file.open("ab")
        args = [SLAPD_PATH, "-F", str(self.config_dir), "-h", f"{self.uri}/", "-d", "0"]
        for attempt in range(3):
            self._proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    break
                try:
                    conn = ldap.initialize(self.uri)
                    conn.set_option(ldap.OPT_NETWORK_TIMEOUT, 1.0)
                    conn.set_option(ldap.OPT_TIMEOUT, 2.0)
                    conn.simple_bind_s("", "")
                    conn.unbind_s()
                    log.close()
                    return self
                except ldap.LDAPError:
                    time.sleep(0.05)
            if self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
            # the port may have been taken meanwhile: try another one
            self.port = _free_port()
            self.uri = f"ldap://{LOCALHOST}:{self.port}"
            args[4] = f"{self.uri}/"
        log.close()
        tail = self.log_file.read_text(errors="replace")[-2000:]
        raise SlapdUnavailable(f"slapd did not start; log tail:\n{tail}")

    def stop(self) -> None:
        """Stop slapd (if running) and remove the run directory unless ``keep`` was set."""
        self.terminate()
        atexit.unregister(self.terminate)
        if self._own_workdir and not self.keep and self.rundir.exists():
            shutil.rmtree(self.rundir, ignore_errors=True)

    def terminate(self) -> None:
        """Stop the slapd process but keep its data (see :meth:`start` to run it again)."""
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._proc.pid, signal.SIGCONT)  # a frozen slapd cannot shut down
        self._proc.terminate()
        try:
            self._proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def restart(self) -> None:
        """Stop and start again on the same port with the same data (the session log is lost)."""
        self.terminate()
        self.start()

    def freeze(self) -> None:
        """SIGSTOP the server: it accepts TCP connections (the kernel does) but never answers."""
        os.kill(self.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT a frozen server."""
        os.kill(self.pid, signal.SIGCONT)

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """Context manager: the server is frozen inside the block, thawed after it."""
        self.freeze()
        try:
            yield
        finally:
            self.thaw()

    def __enter__(self) -> SlapdServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- data -------------------------------------------------------------------------------

    def connect(self, who: str | None = None, password: str | None = None) -> LDAPObject:
        """A new connection bound as ``who`` (the root DN by default)."""
        conn = ldap.initialize(self.uri)
        conn.protocol_version = 3
        conn.set_option(ldap.OPT_REFERRALS, 0)
        conn.set_option(ldap.OPT_NETWORK_TIMEOUT, 5.0)
        conn.set_option(ldap.OPT_TIMEOUT, 60.0)
        if who is None:
            who, password = self.root_dn, self.root_password
        conn.simple_bind_s(who, password or "")
        return conn

    @contextlib.contextmanager
    def _root(self) -> Iterator[LDAPObject]:
        conn = self.connect()
        try:
            yield conn
        finally:
            conn.unbind_s()

    def add_ldif(self, ldif: str) -> int:
        """Add the entries of ``ldif`` (plain entry records, parents first); returns the count.

        Entries may carry ``entryUUID`` (sent with the Relax Rules control).
        """
        records = LDIFRecordList(io.StringIO(ldif))
        records.parse()
        with self._root() as conn:
            for dn, entry in records.all_records:
                self._add(conn, dn, entry)
        return len(records.all_records)

    def add(self, dn: str, attrs: dict[str, list[str] | str]) -> None:
        """Add one entry from a mapping of attribute names to str (or list of str) values."""
        entry = {k: [v.encode("utf-8")] if isinstance(v, str) else [x.encode("utf-8") for x in v]
                 for k, v in attrs.items()}
        with self._root() as conn:
            self._add(conn, dn, entry)

    @staticmethod
    def _add(conn: LDAPObject, dn: str, entry: dict[str, list[bytes]]) -> None:
        has_operational = any(k.lower() in {"entryuuid", "entrycsn", "createtimestamp"} for k in entry)
        ctrls = [RelaxRulesControl(criticality=True)] if has_operational else None
        conn.add_ext_s(dn, ldap.modlist.addModlist(entry), serverctrls=ctrls)

    def modify(self, dn: str, changes: Sequence[tuple[int, str, Any]]) -> None:
        """Apply python-ldap style changes ``[(ldap.MOD_REPLACE, "title", ["科长"]), ...]``.

        Values may be str, bytes, lists of either, or None (delete all values).
        """
        mods: list[tuple[int, str, list[bytes] | None]] = []
        for op, attr, values in changes:
            if values is None:
                mods.append((op, attr, None))
                continue
            if isinstance(values, (str, bytes)):
                values = [values]
            mods.append((op, attr, [v.encode("utf-8") if isinstance(v, str) else v for v in values]))
        with self._root() as conn:
            conn.modify_s(dn, mods)

    def replace(self, dn: str, **attrs: str | list[str] | None) -> None:
        """Shorthand: ``server.replace(dn, title="科长", mobile=None)``."""
        self.modify(dn, [(ldap.MOD_REPLACE, a, v) for a, v in attrs.items()])

    def modrdn(self, dn: str, new_rdn: str, new_superior: str | None = None, delete_old: bool = True) -> str:
        """Rename and/or move ``dn``; returns the new DN."""
        with self._root() as conn:
            conn.rename_s(dn, new_rdn, newsuperior=new_superior, delold=1 if delete_old else 0)
        parent = new_superior if new_superior is not None else ldap.dn.dn2str(ldap.dn.str2dn(dn)[1:])
        return f"{new_rdn},{parent}"

    def delete(self, dn: str, recursive: bool = False) -> int:
        """Delete ``dn`` (and, when ``recursive``, everything below it); returns the count."""
        with self._root() as conn:
            if not recursive:
                conn.delete_s(dn)
                return 1
            found = conn.search_ext_s(dn, ldap.SCOPE_SUBTREE, "(objectClass=*)", ["1.1"])
            dns = [d for d, _ in found if d]
            dns.sort(key=lambda d: len(ldap.dn.str2dn(d)), reverse=True)
            for d in dns:
                conn.delete_s(d)
            return len(dns)

    def search(self, base: str | None = None, filterstr: str = "(objectClass=*)",
               attrs: list[str] | None = None, scope: int = ldap.SCOPE_SUBTREE) -> list[tuple[str, dict[str, list[bytes]]]]:
        """Search as the root DN (attributes ``["*", "+"]`` by default)."""
        with self._root() as conn:
            res = conn.search_ext_s(base or self.suffix, scope, filterstr, attrs or ["*", "+"])
        return [(d, a) for d, a in res if d]

    def entry_uuid(self, dn: str) -> str:
        """The entryUUID of ``dn``."""
        res = self.search(dn, attrs=["entryUUID"], scope=ldap.SCOPE_BASE)
        return res[0][1]["entryUUID"][0].decode("ascii")

    def set_config(self, dn: str, attr: str, values: list[str] | None) -> None:
        """Replace an attribute of a ``cn=config`` entry at run time (bound as ``cn=config``)."""
        conn = self.connect("cn=config", self.root_password)
        try:
            conn.modify_s(dn, [(ldap.MOD_REPLACE, attr, [v.encode() for v in values] if values else None)])
        finally:
            conn.unbind_s()


def start_bulk_directory(
    n_people: int = 50_000,
    *,
    seed: int = 1,
    suffix: str = "dc=jiahe,dc=gov,dc=cn",
    with_passwords: bool = False,
    workdir: str | os.PathLike[str] | None = None,
) -> tuple[SlapdServer, GeneratedDirectory]:
    """Start a slapd holding a generated directory of ``n_people`` people, bulk-loaded by slapadd.

    Returns the running server and the generated directory (``len(directory.records)`` entries
    were loaded; ``directory.people`` lists who is where). The caller stops the server
    (``server.stop()``). 50,000 people generate and load in about 3-4 seconds.
    """
    directory = build_directory(n_people, seed=seed, base_dn=suffix, with_passwords=with_passwords)
    server = SlapdServer(suffix, workdir=workdir)
    server.preload(directory.to_ldif())
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server, directory
