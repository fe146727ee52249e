"""Benchmark: render + seal of a two-page case record (issue 14).

Prints one JSON object: median and p95 seconds over ``--runs`` (50) of render + two seals (a
certification and an approval) for PKCS#12 keys and for EC keys on a SoftHSM2 token, each at
PAdES B-B and B-T (a local RFC 3161 TSA on 127.0.0.1); beside them, in the same run, the bare
OpenSSL RSA-2048 signature (through ``cryptography``), rendering alone, pyHanko sealing of an
already-rendered PDF, the first (cold, fonts loading) render, and the machine's conditions.

    .venv/bin/python bench/seal.py [--runs 50] [--all-cores]

The process pins itself to one core unless ``--all-cores``. Targets: render + two seals B-B
p95 <= 0.3 s, B-T <= 0.6 s with the local TSA (``targets_met``, PKCS#12 figures).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _stats(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, max(0, int(round(0.95 * len(ordered))) - 1))]
    return {"median_s": round(statistics.median(ordered), 4), "p95_s": round(p95, 4), "runs": len(ordered)}


def _measure(fn, runs: int) -> dict:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return _stats(samples)


def _pages(pdf: bytes) -> int:
    out = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout
    return int(out.split(b"Pages:")[1].split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--all-cores", action="store_true")
    args = parser.parse_args()
    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    from signing import (Pkcs11Key, Pkcs12Key, SealSpec, make_demo_crl, make_demo_pki, make_demo_tsa, render_record,
                         seal_pdf)
    from signing.pki import issue_demo_seal_certificate
    from tests.support.pki_services import PkiServices
    from tests.support.sealing import sample_record
    from tests.support.softhsm import generate_ec_seal_key, init_softhsm, softhsm_available

    record = sample_record(trail=30)
    started = time.perf_counter()
    pdf = render_record(record)
    cold_render = time.perf_counter() - started
    agencies = ["嘉禾区人民政府办公室", "嘉禾区财政局"]
    result: dict = {
        "benchmark": "seal",
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "cores_used": len(os.sched_getaffinity(0)),
                    "loadavg": os.getloadavg(), "pyhanko": metadata.version("pyHanko"),
                    "reportlab": metadata.version("reportlab")},
        "record_pages": _pages(pdf),
        "cold_first_render_s": round(cold_render, 4),
    }
    with tempfile.TemporaryDirectory() as tmp, PkiServices() as services:
        pki = make_demo_pki(Path(tmp) / "pki", agencies, crl_url=services.crl_url)
        services.set_tsa(*make_demo_tsa(pki), pki.root_certificate_pem())
        services.publish_crl(make_demo_crl(pki, []))
        p12 = [SealSpec(Pkcs12Key(pki.seals[a].pkcs12_path.read_bytes(), pki.password), f"Seal{i}", a, purpose)
               for i, (a, purpose) in enumerate(zip(agencies, ["审批专用章", "电子印章"]), start=1)]

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        digest = os.urandom(32)
        result["openssl_rsa2048_sign"] = _measure(
            lambda: key.sign(digest, padding.PKCS1v15(), hashes.SHA256()), args.runs)
        result["render_only"] = _measure(lambda: render_record(record), args.runs)
        result["pyhanko_seal_rendered_pdf_pkcs12_b_b"] = _measure(lambda: seal_pdf(pdf, p12), args.runs)
        result["render_and_seal_pkcs12_b_b"] = _measure(lambda: seal_pdf(render_record(record), p12), args.runs)
        result["render_and_seal_pkcs12_b_t"] = _measure(
            lambda: seal_pdf(render_record(record), p12, timestamper_url=services.tsa_url), args.runs)
        if softhsm_available():
            token = init_softhsm(Path(tmp) / "softhsm")
            hsm = []
            for i, (agency, purpose) in enumerate(zip(agencies, ["审批专用章", "电子印章"]), start=1):
                generate_ec_seal_key(token, f"seal-{i}", bytes([i]),
                                     lambda spki, a=agency: issue_demo_seal_certificate(pki, a, spki))
                hsm.append(SealSpec(Pkcs11Key(token.module, token.label, token.pin, f"seal-{i}",
                                              use_raw_mechanism=True), f"Seal{i}", agency, purpose))
            result["render_and_seal_softhsm_ec_b_b"] = _measure(lambda: seal_pdf(render_record(record), hsm), args.runs)
            result["render_and_seal_softhsm_ec_b_t"] = _measure(
                lambda: seal_pdf(render_record(record), hsm, timestamper_url=services.tsa_url), args.runs)
        else:
            result["softhsm"] = "not installed"
    result["targets"] = {"render_and_two_seals_b_b_p95_s": 0.3, "render_and_two_seals_b_t_p95_s": 0.6}
    result["targets_met"] = (result["render_and_seal_pkcs12_b_b"]["p95_s"] <= 0.3
                             and result["render_and_seal_pkcs12_b_t"]["p95_s"] <= 0.6)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
