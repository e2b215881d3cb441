"""The staff pages: upload, preview, confirm, review, the batch page, retry and the result."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signing import dumps

from bulk_adjustments.models import BulkBatch
from bulk_adjustments.services import bulk_batch_process
from rewards.models import Adjustment, AuditEntry
from tests.bulk_adjustments.conftest import batch_made, csv_bytes

pytestmark = pytest.mark.django_db

UPLOAD = "/admin/bulk_adjustments/bulkbatch/upload/"
CONFIRM = "/admin/bulk_adjustments/bulkbatch/confirm/"
CONTENT = csv_bytes("usr-1,,points,credit,10.00,goodwill,outage",
                    "usr-2,,points,credit,20.00,goodwill,outage",
                    "usr-9,,points,credit,1.00,goodwill,nobody")


def upload(client, content=CONTENT, name="campaign.csv"):
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, content, "text/csv")})


def test_agent_uploads_sees_the_preview_and_confirms(client, people, members):
    client.force_login(people["agent"])
    response = upload(client)
    assert response.status_code == 200
    page = response.content.decode()
    assert "2 valid" in page and "1 invalid" in page and "No member with Pomelo user id" in page
    assert "30.00" in page  # the total of points credits
    assert not BulkBatch.objects.exists()
    token = response.context["confirm_form"].initial["token"]
    response = client.post(CONFIRM, {"token": token})
    batch = BulkBatch.objects.get()
    assert response.status_code == 302 and response.url.endswith(f"/{batch.pk}/change/")
    assert (batch.maker, batch.valid_count, batch.row_count) == (people["agent"], 2, 3)
    page = client.get(response.url).content.decode()
    assert "Pending approval" in page and "/review/" not in page  # the maker cannot review
    # The upload is gone from the session: a second confirmation creates nothing.
    response = client.post(CONFIRM, {"token": token})
    assert response.status_code == 400 and BulkBatch.objects.count() == 1


def test_a_forged_or_mismatched_token_creates_nothing(client, people, members):
    client.force_login(people["agent"])
    upload(client)
    forged = dumps({"sha256": "0" * 64, "digest": "x", "user": people["agent"].pk}, salt="other")
    assert client.post(CONFIRM, {"token": forged}).status_code == 400
    other_file = dumps({"sha256": "0" * 64, "digest": "x", "user": people["agent"].pk},
                       salt="bulk_adjustments.preview")
    response = client.post(CONFIRM, {"token": other_file})
    assert response.status_code == 400 and "does not match your last upload" in response.content.decode()
    assert client.post(CONFIRM, {"rows": "usr-1,,points,credit,999999"}).status_code == 400
    assert not BulkBatch.objects.exists()


def test_a_bad_file_gets_a_clear_error(client, people, members):
    client.force_login(people["agent"])
    response = upload(client, csv_bytes("usr-1,,points,credit,10.00,goodwill,=cmd|' /C calc'!A0"))
    assert response.status_code == 400
    assert "column reason_text starts with" in response.content.decode()
    assert not BulkBatch.objects.exists()


def test_only_agents_upload(client, people):
    client.force_login(people["approver"])
    assert client.get(UPLOAD).status_code == 403
    client.force_login(people["auditor"])
    assert client.get(UPLOAD).status_code == 403


def test_approver_approves_and_the_page_shows_progress_and_the_result(
    client, people, pomelo_members, sandbox_pomelo
):
    batch = batch_made(people["agent"], CONTENT)
    client.force_login(people["approver"])
    review = f"/admin/bulk_adjustments/bulkbatch/{batch.pk}/review/"
    response = client.post(review, {"decision": "approve", "comment": ""})
    assert response.status_code == 200 and BulkBatch.objects.get().state == "pending_approval"
    response = client.post(review, {"decision": "approve", "comment": "campaign agreed"})
    assert response.status_code == 302
    bulk_batch_process(batch_id=batch.pk)  # what the worker does
    page = client.get(f"/admin/bulk_adjustments/bulkbatch/{batch.pk}/change/").content.decode()
    assert "2 of 2 rows settled (100%)" in page and "finished" in page
    assert "Download result CSV" not in page  # finance downloads it

    client.force_login(people["auditor"])
    response = client.get(f"/admin/bulk_adjustments/bulkbatch/{batch.pk}/result.csv")
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 with its byte-order mark, for Excel
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8").removeprefix("\ufeff"))))
    assert [(r["line"], r["outcome"]) for r in rows] == [
        ("2", "succeeded"), ("3", "succeeded"), ("4", "invalid")]
    assert AuditEntry.objects.filter(action="bulk_result_exported", actor=people["auditor"]).exists()
    client.force_login(people["agent"])
    assert client.get(f"/admin/bulk_adjustments/bulkbatch/{batch.pk}/result.csv").status_code == 403


def test_retry_page_retries_only_failed_rows(client, people, pomelo_members, sandbox_pomelo):
    batch = batch_made(people["agent"], CONTENT)
    client.force_login(people["approver"])
    client.post(f"/admin/bulk_adjustments/bulkbatch/{batch.pk}/review/",
                {"decision": "approve", "comment": "ok"})
    sandbox_pomelo.set_faults(fail_next=1, fail_status=400)
    bulk_batch_process(batch_id=batch.pk)
    page = client.get(f"/admin/bulk_adjustments/bulkbatch/{batch.pk}/change/").content.decode()
    assert "Retry failed rows (1)" in page
    response = client.post(f"/admin/bulk_adjustments/bulkbatch/{batch.pk}/retry/", {"comment": "again"})
    assert response.status_code == 302
    bulk_batch_process(batch_id=batch.pk)
    assert Adjustment.objects.filter(state="succeeded").count() == 2
    assert Adjustment.objects.filter(state="failed").count() == 1


def test_maker_cancels_from_the_page(client, people, members):
    batch = batch_made(people["agent"], CONTENT)
    client.force_login(people["agent2"])
    response = client.post(f"/admin/bulk_adjustments/bulkbatch/{batch.pk}/cancel/", {"comment": "x"})
    assert response.status_code == 200 and "Only the person who uploaded" in response.content.decode()
    client.force_login(people["agent"])
    response = client.post(f"/admin/bulk_adjustments/bulkbatch/{batch.pk}/cancel/", {"comment": "oops"})
    assert response.status_code == 302
    assert BulkBatch.objects.get().state == "cancelled"


def test_the_batch_page_names_each_rows_account_direction_and_outcome(client, people, members):
    batch = batch_made(people["agent"], CONTENT)
    client.force_login(people["agent"])
    page = client.get(f"/admin/bulk_adjustments/bulkbatch/{batch.pk}/change/").content.decode()
    rows = page.split('id="bulk-rows"', 1)[1].split("</table>", 1)[0]
    # The labels, not the stored codes ("points", "waiting", "invalid").
    assert "<td>Points</td><td>credit</td>" in rows
    assert "<td>Waiting</td>" in rows and "<td>Invalid (not requested)</td>" in rows
    assert "<td>waiting</td>" not in rows and "<td>points</td>" not in rows


def test_a_refused_file_lists_its_problems_on_the_page_and_in_the_audit_trail(
    client, people, members
):
    client.force_login(people["agent"])
    response = upload(client, content=b"pomelo_user_id,account_type\n")
    assert response.status_code == 400
    problems = response.context["problems"]
    assert "Missing column direction, amount, reason_code, reason_text." in [str(p) for p in problems]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.BULK_FILE_PREVIEWED)
    assert entry.comment.startswith("refused: Missing column direction, amount, reason_code")
