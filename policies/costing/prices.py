"""The price snapshot (`prices.json`): on-demand list prices per region, each with its unit, source and date.

Keys are `<service>:<item>`: `ec2:<instance type>` and `sagemaker:<ml. instance type>` per hour (EC2 entries
also carry vCPUs and memory, which Karpenter limits are priced with), and one key per service dimension
(`vpc:nat-gateway`, `ebs:gp3-storage`, ...). A key missing from a region means "no price": the resource is
reported as not priced, never as $0.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SNAPSHOT = Path(__file__).resolve().parent / "prices.json"

HOURS_PER_MONTH = 730
"""AWS's own convention for monthly figures (365 days x 24 hours / 12)."""


class SnapshotError(ValueError):
    """A snapshot file that cannot be used: one line naming the file, the key and what is wrong."""


@dataclass(frozen=True)
class Price:
    key: str
    region: str
    usd: float
    unit: str
    source: str
    as_of: str
    vcpu: float | None = None
    memory_gib: float | None = None
    note: str | None = None

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "region": self.region, "usd": self.usd, "unit": self.unit}
        out.update(source=self.source, asOf=self.as_of)
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class PriceBook:
    snapshot: str
    """The snapshot's date (`YYYY-MM` or `YYYY-MM-DD`)."""
    prices: Mapping[str, Mapping[str, Price]]
    """Region -> key -> price."""

    def get(self, region: str, key: str) -> Price | None:
        return self.prices.get(region, {}).get(key)

    def keys(self, region: str, prefix: str) -> list[str]:
        return sorted(k for k in self.prices.get(region, {}) if k.startswith(prefix))


_REQUIRED: dict[str, type | tuple[type, ...]] = {"usd": (int, float), "unit": str, "source": str, "asOf": str}


def parse(document: Mapping[str, Any], origin: str = "prices.json") -> PriceBook:
    """A `PriceBook` from the snapshot's JSON document; `SnapshotError` on the first bad entry."""
    if not isinstance(document.get("snapshot"), str):
        raise SnapshotError(f"{origin}: snapshot: missing; the snapshot's date (YYYY-MM or YYYY-MM-DD) is required")
    regions = document.get("prices")
    if not isinstance(regions, dict) or not regions:
        raise SnapshotError(f"{origin}: prices: must map each region to its prices")
    book: dict[str, dict[str, Price]] = {}
    for region, table in regions.items():
        if not isinstance(table, dict):
            raise SnapshotError(f"{origin}: prices.{region}: must map price keys to entries")
        book[region] = {}
        for key, entry in table.items():
            where = f"{origin}: prices.{region}.{key}"
            if ":" not in key or not isinstance(entry, dict):
                raise SnapshotError(f"{where}: must be a `<service>:<item>` key with an object value")
            for field, kind in _REQUIRED.items():
                value = entry.get(field)
                if not isinstance(value, kind) or isinstance(value, bool) or value == "":
                    raise SnapshotError(
                        f"{where}.{field} = {value!r}: required ({'a number' if field == 'usd' else 'text'})"
                    )
            if entry["usd"] < 0:
                raise SnapshotError(f"{where}.usd = {entry['usd']!r}: a price cannot be negative")
            book[region][key] = Price(
                key=key,
                region=region,
                usd=float(entry["usd"]),
                unit=entry["unit"],
                source=entry["source"],
                as_of=entry["asOf"],
                vcpu=entry.get("vcpu"),
                memory_gib=entry.get("memoryGib"),
                note=entry.get("note"),
            )
    return PriceBook(snapshot=document["snapshot"], prices=book)


def load(path: Path | str = SNAPSHOT) -> PriceBook:
    """The shipped snapshot (or another file of the same shape); the shipped one is read once per process."""
    return _shipped() if Path(path) == SNAPSHOT else _read(Path(path))


@cache
def _shipped() -> PriceBook:
    return _read(SNAPSHOT)


def _read(path: Path) -> PriceBook:
    file = Path(path)
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SnapshotError(f"{file}: cannot read the price snapshot: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"{file}: not JSON: {exc.msg} at line {exc.lineno}") from None
    return parse(document, str(file))


def dump(document: Mapping[str, Any]) -> str:
    """The snapshot as text, one price per line so a refresh shows in review as a one-line change per figure."""
    head = {k: v for k, v in document.items() if k != "prices"}
    lines = ["{"] + [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()] + ['  "prices": {']
    regions = sorted(document["prices"])
    for i, region in enumerate(regions):
        table = document["prices"][region]
        lines.append(f"    {json.dumps(region)}: {{")
        keys = sorted(table)
        for j, key in enumerate(keys):
            lines.append(f"      {json.dumps(key)}: {json.dumps(table[key])}{',' if j < len(keys) - 1 else ''}")
        lines.append("    }" + ("," if i < len(regions) - 1 else ""))
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"
