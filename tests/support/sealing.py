"""Helpers for sealing tests: a sample case record, and the independent checkers (poppler's
``pdfsig`` with the demo root in a temporary NSS database, ``qpdf --check``, ``pdftoppm``)."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from signing import CaseRecord, FormField, Material, TrailEntry

__all__ = ["sample_record", "NssDatabase", "qpdf_check", "rasterize", "red_pixels", "dark_pixels", "init_demo_seals",
           "pdf_text", "run_sealing", "seal_ready_app", "approved_leave", "rejected_overseas_travel",
           "append_page", "add_annotation", "qpdf_rewrite", "demo_pki_of"]

CST = timezone(timedelta(hours=8))


def sample_record(trail: int = 4, applicant: str = "张𠇔") -> CaseRecord:
    """A finished case whose names carry rare characters and a delegated act."""
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
    steps = tuple(
        TrailEntry(step=f"第{i + 1}步审核", person="王五", title="办公室主任", acted="王五（代张三）" if i == 1 else "王五",
                   decision="同意", comment="请按规定办理", at=t0 + timedelta(hours=3 * i + 2),
                   time_limit_met=i != 2)
        for i in range(trail))
    return CaseRecord(
        number="嘉政办〔2026〕0042号", agency="嘉禾区人民政府办公室", matter="公务用车申请", applicant=applicant,
        submitted_at=t0, finished_at=t0 + timedelta(days=1), outcome="同意", due_at=t0 + timedelta(days=3),
        form=(FormField("事由", "赴市里参加会议，同行人员李䶮、王堃、赵喆"), FormField("用车日期", "2026-03-05")),
        materials=(Material("会议通知", "会议通知.pdf", "9f" * 32),),
        trail=steps,
    )


@dataclass
class NssDatabase:
    """A temporary NSS database trusting one root, for ``pdfsig -nssdir``."""

    directory: Path

    @classmethod
    def trusting(cls, root_pem: Path, directory: Path) -> NssDatabase:
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(["certutil", "-N", "-d", f"sql:{directory}", "--empty-password"], check=True,
                       capture_output=True)
        subprocess.run(["certutil", "-A", "-d", f"sql:{directory}", "-n", "ia-demo-root", "-t", "CT,C,C",
                        "-i", str(root_pem)], check=True, capture_output=True)
        return cls(directory)

    def pdfsig(self, pdf: bytes) -> str:
        """``pdfsig``'s report on ``pdf`` (it exits non-zero for a file with a bad signature)."""
        with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
            fh.write(pdf)
            fh.flush()
            run = subprocess.run(["pdfsig", "-nssdir", f"sql:{self.directory}", fh.name],
                                 capture_output=True, text=True, timeout=60)
        return run.stdout + run.stderr


def qpdf_check(pdf: bytes) -> subprocess.CompletedProcess:
    """``qpdf --check`` on ``pdf`` (returncode 0: clean, 3: warnings, 2: errors)."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
        fh.write(pdf)
        fh.flush()
        return subprocess.run(["qpdf", "--check", fh.name], capture_output=True, text=True, timeout=60)


def rasterize(pdf: bytes, page: int, directory: Path, dpi: int = 40) -> bytes:
    """The page (1-based) as a binary PPM image made by poppler's ``pdftoppm``."""
    source = directory / "page.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile",
                    str(source), str(directory / "page")], check=True, capture_output=True, timeout=60)
    return (directory / "page.ppm").read_bytes()


def _pixels(ppm: bytes):
    magic, width, height, maxval, data = ppm.split(maxsplit=4)
    assert magic == b"P6" and maxval == b"255"
    return [(data[i], data[i + 1], data[i + 2]) for i in range(0, int(width) * int(height) * 3, 3)]


def dark_pixels(ppm: bytes) -> int:
    """How many pixels are clearly not white."""
    return sum(1 for r, g, b in _pixels(ppm) if r + g + b < 600)


def red_pixels(ppm: bytes) -> int:
    """How many pixels are seal red."""
    return sum(1 for r, g, b in _pixels(ppm) if r > 170 and g < 110 and b < 110)


def init_demo_seals(app) -> None:
    """``flask seals init-demo`` on ``app`` (its IA_SEAL_DIR, default ``<instance>/seals``)."""
    result = app.test_cli_runner().invoke(args=["seals", "init-demo"])
    assert result.exit_code == 0, result.output


def run_sealing(app, now: datetime | None = None):
    """The sealing job's work once, at ``now`` (default: the wall clock), as the scheduler runs it."""
    from internal_affairs.clock import utcnow
    from internal_affairs.extensions import db
    from internal_affairs.seals.actions import seal_due_records

    with app.app_context():
        try:
            return seal_due_records(now=now or utcnow())
        finally:
            db.session.remove()


def pdf_text(pdf: bytes) -> str:
    """The text poppler's ``pdftotext`` extracts from ``pdf``."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
        fh.write(pdf)
        fh.flush()
        return subprocess.run(["pdftotext", "-layout", fh.name, "-"], capture_output=True, text=True, check=True,
                              timeout=60).stdout


def seal_ready_app(make_app, tmp_path: Path, **environ: str):
    """An app on the demo district with the catalog and the demo seals (IA_SEAL_DIR under ``tmp_path``)."""
    from tests.support.app import load_catalog, load_demo

    app = make_app(IA_SEAL_DIR=str(tmp_path / "seals"), **environ)
    load_demo(app)
    load_catalog(app)
    init_demo_seals(app)
    return app


def approved_leave(c) -> dict:
    """xujing's one-day leave, approved by yangfan on behalf of zhangwei (a delegation) and
    registered by HR (linxiaoyan): the case document, status ``approved``."""
    from tests.support.cases import LEAVE, decide, open_task, submit, token

    case = submit(c, "xujing", "leave", LEAVE)
    now = datetime.now().replace(microsecond=0)
    window = {"starts_at": (now - timedelta(days=1)).isoformat() + "+08:00",
              "ends_at": (now + timedelta(days=30)).isoformat() + "+08:00"}
    response = c.post("/api/v1/delegations", json={"delegate": "yangfan", **window}, headers=token(c, "zhangwei"))
    assert response.status_code == 201, response.get_json()
    response = c.post(f"/api/v1/tasks/{open_task(case, 'zhangwei')}/decision",
                      json={"decision": "approve", "comment": "同意"}, headers=token(c, "yangfan"))
    assert response.status_code == 200, response.get_json()
    case = decide(c, "linxiaoyan", response.get_json(), decision="done", comment="已登记")
    assert case["status"] == "approved"
    return case


def rejected_overseas_travel(c, uid: str = "xujing") -> dict:
    """``uid``'s overseas travel (the matter declares [agency_seal, organisation_seal]), rejected
    at its first step: a finished case whose record is queued."""
    from io import BytesIO

    from tests.support.cases import OVERSEAS, decide, token

    draft = c.post("/api/v1/cases", json={"matter_type": "overseas_travel", "form": OVERSEAS, "submit": False},
                   headers=token(c, uid)).get_json()
    response = c.post(f"/api/v1/cases/{draft['id']}/attachments", headers=token(c, uid),
                      data={"material": "itinerary", "file": (BytesIO(b"%PDF-1.4\n"), "itinerary.pdf")},
                      content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    case = c.post(f"/api/v1/cases/{draft['id']}/submit", headers=token(c, uid)).get_json()
    first = next(t["assignee"] for s in case["steps"] for t in s["tasks"] if t["status"] == "pending")
    case = decide(c, first, case, decision="reject", comment="暂缓出行")
    assert case["status"] == "rejected" and case["record"]["status"] == "queued"
    return case


def _append_revision(pdf: bytes, change) -> bytes:
    import io

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def append_page(pdf: bytes) -> bytes:
    """``pdf`` with an incremental update that appends a blank page."""
    from pyhanko.pdf_utils import generic

    def add(writer):
        writer.insert_page(generic.DictionaryObject({
            generic.NameObject("/Type"): generic.NameObject("/Page"),
            generic.NameObject("/MediaBox"): generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, 595, 842)]),
            generic.NameObject("/Resources"): generic.DictionaryObject()}))

    return _append_revision(pdf, add)


def add_annotation(pdf: bytes) -> bytes:
    """``pdf`` with an incremental update that adds a text annotation to the first page."""
    from pyhanko.pdf_utils import generic

    def annotate(writer):
        page = writer.root["/Pages"]["/Kids"][0].get_object()
        annot = writer.add_object(generic.DictionaryObject({
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/Text"),
            generic.NameObject("/Rect"): generic.ArrayObject([generic.NumberObject(v) for v in (50, 50, 80, 80)]),
            generic.NameObject("/Contents"): generic.TextStringObject("已修改")}))
        annots = page.get("/Annots")
        if annots is None:
            page[generic.NameObject("/Annots")] = generic.ArrayObject([annot])
        else:
            annots.get_object().append(annot)
        writer.update_container(page)

    return _append_revision(pdf, annotate)


def qpdf_rewrite(pdf: bytes, directory: Path) -> bytes:
    """``pdf`` rewritten whole by ``qpdf`` (object streams generated)."""
    source, target = directory / "rewrite-in.pdf", directory / "rewrite-out.pdf"
    source.write_bytes(pdf)
    subprocess.run(["qpdf", "--object-streams=generate", str(source), str(target)], check=False, capture_output=True,
                   timeout=60)
    return target.read_bytes()


def demo_pki_of(seal_dir: Path):
    """The :class:`signing.DemoPki` that ``seals init-demo`` wrote under ``seal_dir`` (its latest run)."""
    from signing import DemoPki

    run = sorted((seal_dir / "demo").iterdir())[-1]
    return DemoPki(run, run / "root.pem", run / "root-key.pem", b"demo")
