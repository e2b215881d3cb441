"""A bad file gets a clear error and nothing is kept."""

import pytest

from bulk_adjustments.csv_file import BulkFileError
from bulk_adjustments.models import BulkBatch
from bulk_adjustments.services import BulkBatchError, bulk_file_preview
from rewards.models import AuditEntry
from tests.bulk_adjustments.conftest import HEADER, csv_bytes

pytestmark = pytest.mark.django_db

GOOD = "usr-1,,points,credit,10.00,goodwill,outage"


def refused(people, content: bytes) -> str:
    with pytest.raises(BulkFileError) as caught:
        bulk_file_preview(maker=people["agent"], file_name="f.csv", content=content)
    assert not BulkBatch.objects.exists()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.BULK_FILE_PREVIEWED)
    assert entry.comment.startswith("refused: ") and entry.actor == people["agent"]
    return str(caught.value)


def test_wrong_encoding(people, members):
    message = refused(people, csv_bytes("usr-1,,points,credit,10.00,goodwill,compensación")
                      .decode().encode("latin-1"))
    assert "not UTF-8" in message and "CSV UTF-8" in message


def test_utf8_with_byte_order_mark_is_read(people, members):
    preview = bulk_file_preview(maker=people["agent"], file_name="f.csv",
                                content="\ufeff".encode() + csv_bytes(GOOD))
    assert [r.line for r in preview.valid_rows] == [2]


@pytest.mark.parametrize(("header", "expected"), [
    ("pomelo_user_id,account_type,direction,amount,reason_code", "Missing column reason_text"),
    ("account_type,direction,amount,reason_code,reason_text", "Missing column pomelo_user_id or card_id"),
    (HEADER + ",note", "Unknown column 'note'"),
    (HEADER + ",amount", "Column amount appears more than once"),
])
def test_columns(people, members, header, expected):
    assert expected in refused(people, csv_bytes(GOOD, header=header))


def test_duplicate_rows(people, members):
    message = refused(people, csv_bytes(GOOD, "usr-2,,points,credit,5,goodwill,x",
                                        "USR-1,,Points,credit,99.00,goodwill,again"))
    assert "Line 4 repeats line 2" in message


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\")", "+1", "-5", "@SUM(A1)", "  =1+1"])
def test_formula_cells_in_text_columns(people, members, cell):
    message = refused(people, csv_bytes(f"usr-1,,points,credit,10.00,goodwill,{cell}"))
    assert "Line 2, column reason_text starts with" in message and "formula" in message


def test_row_limit_and_file_size_limit_are_settings(people, members, settings):
    settings.BULK_ADJUSTMENT_MAX_ROWS = 2
    rows = [f"usr-{n},,points,credit,1.00,goodwill,x" for n in (1, 2, 3)]
    assert "more than 2 rows" in refused(people, csv_bytes(*rows))
    settings.BULK_ADJUSTMENT_MAX_ROWS = 10
    settings.BULK_ADJUSTMENT_MAX_FILE_BYTES = 50
    with pytest.raises(BulkFileError, match="the limit is 50 bytes"):
        bulk_file_preview(maker=people["agent"], file_name="f.csv", content=csv_bytes(*rows))


@pytest.mark.parametrize(("content", "message"), [
    (b"", "The file is empty."),
    (b"  \n", "The file is empty."),
    ((HEADER + "\n").encode(), "The file has a header but no rows."),
])
def test_empty_files(people, content, message):
    assert message in refused(people, content)


def test_ragged_row(people, members):
    assert "Line 3 has 3 cells; the header has 7" in refused(people, csv_bytes(GOOD, "usr-2,,points"))


def test_only_makers_upload(people, members):
    with pytest.raises(BulkBatchError, match="permission"):
        bulk_file_preview(maker=people["approver"], file_name="f.csv", content=csv_bytes(GOOD))
    with pytest.raises(BulkBatchError, match="permission"):
        bulk_file_preview(maker=people["auditor"], file_name="f.csv", content=csv_bytes(GOOD))
