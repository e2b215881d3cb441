"""Reading an uploaded bulk file: encoding, columns, limits, duplicates and formulas.

Pure: bytes in, rows of text cells out, or a BulkFileError that says what is wrong with the
file as a whole. Whether each row makes sense (member, card, amount, balance) is validation.py's.
The problems are lazy messages: the upload page shows them in the reader's language, the audit
trail keeps them in English.
"""

import csv
import io
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from kernel.lazy_text import Text, lazy_message

ID_COLUMNS = ("pomelo_user_id", "card_id")
REQUIRED_COLUMNS = ("account_type", "direction", "amount", "reason_code", "reason_text")
COLUMNS = (*ID_COLUMNS, *REQUIRED_COLUMNS)
# Cells typed by people that a spreadsheet would run as a formula when the file (or our result
# file) is opened. The amount is a number and is checked as one.
TEXT_COLUMNS = ("pomelo_user_id", "card_id", "account_type", "direction", "reason_code", "reason_text")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_ERRORS_SHOWN = 20


class BulkFileError(Exception):
    """The file cannot be used at all. `problems` are shown to the person, one per line."""

    def __init__(self, problems: list[Text]):
        self.problems = problems
        super().__init__("; ".join(str(problem) for problem in problems))


@dataclass(frozen=True)
class CsvRow:
    line: int  # in the file, the header being line 1
    cells: dict[str, str]

    def identity(self) -> tuple[str, ...]:
        """What makes two rows the same request: who, which account, which way."""
        return (self.cells.get("pomelo_user_id", "").lower(), self.cells.get("card_id", "").lower(),
                self.cells["account_type"].lower(), self.cells["direction"].lower())


def _text(content: bytes) -> str:
    if len(content) > settings.BULK_ADJUSTMENT_MAX_FILE_BYTES:
        raise BulkFileError([lazy_message(
            _("The file is %(size)s bytes; the limit is %(limit)s bytes. Split it into several "
              "batches."),
            size=f"{len(content):,}", limit=f"{settings.BULK_ADJUSTMENT_MAX_FILE_BYTES:,}",
        )])
    if not content.strip():
        raise BulkFileError([_("The file is empty.")])
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BulkFileError([lazy_message(
            _("The file is not UTF-8 text (byte %(byte)s cannot be read). Save it as 'CSV UTF-8' "
              "and upload it again."),
            byte=exc.start + 1,
        )]) from None
    if "\x00" in text:
        raise BulkFileError([_("The file contains NUL characters; it is not a CSV text file.")])
    return text


def _header(names: list[str]) -> list[str]:
    header = [name.strip().lower() for name in names]
    problems: list[Text] = []
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        problems.append(lazy_message(_("Column %(columns)s appears more than once in the header."),
                                     columns=", ".join(repeated)))
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        problems.append(lazy_message(
            _("Unknown column %(unknown)s; the columns are %(columns)s."),
            unknown=", ".join(repr(n) for n in unknown), columns=", ".join(COLUMNS),
        ))
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        problems.append(lazy_message(_("Missing column %(columns)s."), columns=", ".join(missing)))
    if not any(name in header for name in ID_COLUMNS):
        problems.append(_("Missing column pomelo_user_id or card_id: each row needs one of them."))
    if problems:
        raise BulkFileError(problems)
    return header


def csv_rows_read(content: bytes) -> list[CsvRow]:
    """The file's data rows, or BulkFileError listing what makes the file unusable."""
    reader = csv.reader(io.StringIO(_text(content), newline=""), strict=True)
    try:
        first = next(reader, None)
        if first is None:
            raise BulkFileError([_("The file is empty.")])
        header = _header(first)
        rows: list[CsvRow] = []
        problems: list[Text] = []
        seen: dict[tuple[str, ...], int] = {}
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # a blank line, often the last one
            if len(rows) >= settings.BULK_ADJUSTMENT_MAX_ROWS:
                raise BulkFileError([lazy_message(
                    _("The file has more than %(limit)s rows; split it into several batches."),
                    limit=f"{settings.BULK_ADJUSTMENT_MAX_ROWS:,}",
                )])
            if len(cells) != len(header):
                problems.append(lazy_message(
                    _("Line %(line)s has %(cells)s cells; the header has %(columns)s."),
                    line=line, cells=len(cells), columns=len(header),
                ))
                continue
            raw_cells = dict(zip(header, cells, strict=True))
            row = CsvRow(line=line, cells={name: cell.strip() for name, cell in raw_cells.items()})
            for name in TEXT_COLUMNS:
                raw = raw_cells.get(name, "")
                if raw.lstrip(" ").startswith(FORMULA_STARTS):
                    problems.append(lazy_message(
                        _("Line %(line)s, column %(column)s starts with %(start)s: a cell "
                          "starting with =, +, -, @ or a tab is refused, as a spreadsheet would "
                          "run it as a formula."),
                        line=line, column=name, start=repr(raw.lstrip(" ")[0]),
                    ))
            identity = row.identity()
            if identity in seen:
                problems.append(lazy_message(
                    _("Line %(line)s repeats line %(first)s (same member, account type and "
                      "direction): one request each; add the amounts up in one row."),
                    line=line, first=seen[identity],
                ))
            else:
                seen[identity] = line
            rows.append(row)
    except csv.Error as exc:
        # The csv module's own explanation stays as it words it.
        raise BulkFileError([lazy_message(_("Line %(line)s is not valid CSV: %(error)s."),
                                          line=reader.line_num, error=str(exc))]) from None
    if problems:
        more = len(problems) - MAX_ERRORS_SHOWN
        shown = problems[:MAX_ERRORS_SHOWN]
        if more > 0:
            shown.append(lazy_message(_("… and %(more)s more."), more=more))
        raise BulkFileError(shown)
    if not rows:
        raise BulkFileError([_("The file has a header but no rows.")])
    return rows
