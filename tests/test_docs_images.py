"""Every picture the README and docs/ show exists, so a renamed or dropped screenshot breaks the
build instead of the guide."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ![alt](path "title") and <img src="path">
IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|<img\s[^>]*src=\"([^\"]+)\"")


def missing_images(markdown: Path) -> list[str]:
    missing = []
    for match in IMAGE.finditer(markdown.read_text(encoding="utf-8")):
        target = (match.group(1) or match.group(2)).split("#", 1)[0]
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        if not (markdown.parent / target).is_file():
            missing.append(f"{markdown.relative_to(ROOT)}: {target}")
    return missing


def test_every_image_linked_from_the_readme_and_docs_exists():
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
    assert [m for d in documents for m in missing_images(d)] == []


def test_the_staff_guide_shows_each_roles_home():
    text = (ROOT / "docs" / "staff-guide.md").read_text(encoding="utf-8")
    for picture in ["agent-1.png", "approver-1.png", "auditor-1.png", "administrator-1.png"]:
        assert f"(screenshots/{picture})" in text


def test_a_missing_picture_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    (tmp_path / "here.png").write_bytes(b"png")
    page = tmp_path / "page.md"
    page.write_text('![ok](here.png) ![gone](gone.png "t") <img src="also-gone.png"> '
                    "![web](https://example.com/x.png)")
    assert missing_images(page) == ["page.md: gone.png", "page.md: also-gone.png"]
