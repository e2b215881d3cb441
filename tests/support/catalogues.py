"""Our translation catalogues (locale/<language>/LC_MESSAGES/django.po and .mo), read without
GNU gettext: a small reader of the .po format and the compiled catalogue through Python's
gettext module."""

import ast
import gettext
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

LANGUAGES = {"es": "es", "pt-br": "pt_BR"}  # language code: the catalogue's folder


@dataclass
class Message:
    msgid: str
    msgid_plural: str = ""
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr.values()) and "fuzzy" not in self.flags

    @property
    def key(self) -> str:
        """As Python's gettext keys it: the context and the id joined by EOT."""
        return f"{self.msgctxt}\x04{self.msgid}" if self.msgctxt is not None else self.msgid


def po_path(language: str) -> Path:
    return Path(settings.LOCALE_PATHS[0]) / LANGUAGES[language] / "LC_MESSAGES" / "django.po"


def po_read(path: Path) -> list[Message]:
    """The catalogue's messages, the header (msgid "") left out."""
    messages: list[Message] = []
    current: Message | None = None
    flags: set[str] = set()
    target: tuple[str, int] | None = None

    def finish():
        nonlocal current
        if current is not None and (current.msgid or current.msgctxt is not None):
            messages.append(current)
        current = None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            finish()
            target = None
            continue
        if line.startswith("#,"):
            finish()
            flags = {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        keyword, _space, rest = line.partition(" ")
        if line.startswith('"'):
            value = ast.literal_eval(line)
            name, index = target
            if name == "msgstr":
                current.msgstr[index] += value
            elif name == "msgctxt":
                current.msgctxt += value
            else:
                setattr(current, name, getattr(current, name) + value)
            continue
        value = ast.literal_eval(rest)
        if keyword in ("msgctxt", "msgid") and (current is None or current.msgstr):
            finish()
        if current is None:
            current = Message(msgid="", flags=flags, obsolete=obsolete)
            flags = set()
        if keyword == "msgctxt":
            current.msgctxt, target = value, ("msgctxt", 0)
        elif keyword in ("msgid", "msgid_plural"):
            setattr(current, keyword, value)
            target = (keyword, 0)
        elif keyword.startswith("msgstr"):
            index = int(keyword[7:-1]) if "[" in keyword else 0
            current.msgstr[index] = value
            target = ("msgstr", index)
    finish()
    return [m for m in messages if not m.obsolete]


def mo_read(language: str) -> gettext.GNUTranslations:
    with open(po_path(language).with_suffix(".mo"), "rb") as handle:
        return gettext.GNUTranslations(handle)
