"""CSV files for finance, streamed: any number of rows in constant memory, opening in Excel as
they are meant to be read.

- The file starts with the UTF-8 byte-order mark: without it Excel reads UTF-8 as the
  machine's legacy code page and garbles members' names.
- A cell that starts like a formula is prefixed with an apostrophe: reasons, comments and
  names are typed by people, and a spreadsheet runs a cell such as ``=HYPERLINK(...)``.
- Rows come from the selectors as lists of strings; amounts are written there as plain
  decimals with a dot, whatever the staff's language, so the file stays machine-readable.
"""

import csv
import re
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone

BOM = "\ufeff"
CSV_ROWS_PER_CHUNK = 200
FORMULA_STARTS = "=+-@\t\r"
# A signed amount ("-7.25") starts like a formula but is only a number: left as it is, so the
# ledger's debits stay numbers in the spreadsheet.
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


class _Echo:
    """A file-like object whose write() returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def csv_safe(value: str) -> str:
    """The cell, neutralised if a spreadsheet would run it as a formula."""
    if value and value[0] in FORMULA_STARTS and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_stream(rows: Iterable[list[str]]) -> Iterator[str]:
    """The CSV text of `rows`, the byte-order mark first, `CSV_ROWS_PER_CHUNK` lines a chunk."""
    writer = csv.writer(_Echo())
    chunk: list[str] = [BOM]
    lines = 0
    for row in rows:
        chunk.append(writer.writerow([csv_safe(cell) for cell in row]))
        lines += 1
        if lines >= CSV_ROWS_PER_CHUNK:
            yield "".join(chunk)
            chunk, lines = [], 0
    if chunk:
        yield "".join(chunk)


def csv_response(rows: Iterable[list[str]], *, name: str) -> StreamingHttpResponse:
    """A download of `rows` named `<name>-<local date and time>.csv`."""
    response = StreamingHttpResponse(csv_stream(rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response
