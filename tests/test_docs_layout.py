"""README stays a short overview and the documentation's pictures stay small; the rest
of the documentation is checked by `mkdocs build --strict` in CI."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATE = re.compile(r"\b20\d\d-\d\d-\d\d\b")


def test_readme_is_short_and_nearly_undated():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move detail into docs/"
    dated = [line for line in lines if DATE.search(line)]
    assert len(dated) <= 3, f"dated measurements belong in benchmarks/results/: {dated}"


def test_readme_links_resolve():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(((?!https?://|#)[^)#\s]+)", text)
    assert targets, "README.md links into the documentation"
    missing = [target for target in targets if not (ROOT / target).exists()]
    assert not missing, f"README.md links to missing files: {missing}"


def test_pictures_are_small():
    pictures = [p for p in (ROOT / "docs" / "assets").iterdir() if p.suffix in (".png", ".jpg")]
    total_kb = sum(p.stat().st_size for p in pictures) / 1024
    assert pictures and total_kb <= 400, f"docs/assets holds {total_kb:.0f} KB of pictures"
