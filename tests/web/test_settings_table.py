"""The README's settings table lists every setting of web/settings.py, each with its default."""
import re
from pathlib import Path

from web import settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_lists_every_setting():
    section = README.read_text(encoding="utf-8").split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| (.+) \|$", section, flags=re.M))
    assert set(rows) == set(settings._SETTINGS)
    assert all(default.strip() for default in rows.values())
