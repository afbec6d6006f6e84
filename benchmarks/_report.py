"""Writing a benchmark's table into the markdown file that shows it, so no figure is copied by hand."""

from __future__ import annotations

from pathlib import Path


def write_section(path: Path, marker: str, text: str) -> None:
    """Replace the text between `<!-- marker:begin -->` and `<!-- marker:end -->` in `path`."""
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    doc = path.read_text()
    if begin not in doc or end not in doc:
        raise SystemExit(f"{path}: no {begin} ... {end} markers to write the table between")
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{begin}\n{text}\n{end}{tail}")
