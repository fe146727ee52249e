"""Time limits (placeholder, filled in below)."""

from dataclasses import dataclass


@dataclass
class ScanReport:
    fired: int = 0


def scan_time_limits(*, now, config) -> ScanReport:
    return ScanReport()
