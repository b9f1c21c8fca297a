"""scripts/bench_results.md holds one section per bench run kind; each run replaces its own section only.

Shared by every bench script (search, SQLite sizes, live search, relevance, insight), with no Django
import and no environment side effect, so any of them can call it.
"""

import re
from pathlib import Path

RESULTS_PATH = Path(__file__).resolve().parent / "bench_results.md"
# The order of the sections in the file, whatever order the runs happen in.
SECTION_ORDER = ("postgresql", "sqlite-10000", "sqlite-150000", "browser", "import", "relevance", "insight")
SECTION_MARKER = "<!-- bench section: {} (written by scripts/bench_*.py, keep this line) -->"
_SECTION = re.compile(r"^<!-- bench section: (\S+) \(written by .*-->$", re.MULTILINE)
# Markers of earlier layouts, read as the section they held.
LEGACY_MARKERS = {
    "<!-- SQLite run: written by `scripts/bench_search.py --sqlite`, keep this line -->": "sqlite-10000",
    "<!-- Relevance: written by `scripts/bench_relevance.py`, keep this line -->": "relevance",
    "<!-- insight benchmark: scripts/bench_insight.py -->": "insight",
    "<!-- import bench: written by `scripts/bench_import.py`, keep this line -->": "import",
}


def write_section(
    name: str, report: str, path: Path = RESULTS_PATH, legacy_sqlite: str = "sqlite-10000"
) -> None:
    """Replace section ``name`` of the results file with ``report``, keeping the others."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    for legacy, section in LEGACY_MARKERS.items():
        section = legacy_sqlite if section == "sqlite-10000" else section
        text = text.replace(legacy, SECTION_MARKER.format(section))
    sections, position, current = {}, 0, "postgresql"  # text before any marker: the PostgreSQL run
    for match in _SECTION.finditer(text):
        sections[current] = (sections.get(current, "") + "\n\n" + text[position : match.start()]).strip()
        current, position = match.group(1), match.end()
    sections[current] = (sections.get(current, "") + "\n\n" + text[position:]).strip()
    sections[name] = report.strip()
    names = [n for n in SECTION_ORDER if sections.get(n)] + [
        n for n in sections if n not in SECTION_ORDER and sections[n]
    ]
    parts = []
    for index, section in enumerate(names):
        marker = "" if index == 0 and section == "postgresql" else SECTION_MARKER.format(section) + "\n\n"
        parts.append(marker + sections[section])
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
