"""The audit and ledger hash chains: each link, `verify_audit` finding tampered history, anchors.

Tampering runs as a database superuser would: raw SQL with the append-only triggers off.
"""

import hashlib
import itertools
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from accounts.models import RewardAccount
from rewards.audit import audit_record
from rewards.chain import GENESIS, audit_encoding, audit_hash, ledger_encoding, ledger_hash
from rewards.chain_tasks import chain_anchor_daily_task
from rewards.models import AuditEntry, ChainAnchor, ChainHead, ChainVerification, LedgerEntry
from rewards.services.chain import chain_anchor_take, chains_check
from tests.support.chain_tampering import (
    audit_chain_rewrite,
    ledger_chain_rewrite,
    swap_ids,
    tamper,
    verify,
)
from tests.support.webhooks import notification_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(webhook):
    """Five audit entries and one account with six ledger entries, written by the application."""
    for n, (ip, data) in enumerate([
        ("10.1.2.3", {"rows": 3, "filters": {"state": ["a", "b"]}}),
        ("::FFFF:10.0.0.1", {"text": "crédito ✓ \"quoted\"\n", "none": None, "ok": True}),
        (None, {}),
        ("2001:DB8:0:0::1", {"nested": [{"b": 1, "a": 2}], "amount": "12.50"}),
        ("192.168.0.9", {"n": 4, "ratio": 0.5}),
    ]):
        audit_record(action=AuditEntry.Action.CSV_EXPORTED, actor=None, ip_address=ip,
                     comment=f"entry {n}", data=data)
    for kind, tx, amount in [("pending", "ctx-1", "10.00"), ("confirmation", "ctx-1", "12.00"),
                             ("pending", "ctx-2", "5.5"), ("cancellation", "ctx-2", "5.5"),
                             ("confirmation", "ctx-3", "-3.25")]:
        response = webhook.post(kind, notification_body(kind, tx, amount=amount))
        assert response.json()["status"] == "received", response.json()
    account = RewardAccount.objects.get(member__pomelo_user_id="usr-1", account_type="points")
    entries = list(LedgerEntry.objects.filter(account=account).order_by("id"))
    assert len(entries) == 6
    return {"audit": list(AuditEntry.objects.order_by("id")), "ledger": entries,
            "account": account}


def test_worked_example_of_the_documentation():
    values = {
        "created_at": datetime(2026, 11, 28, 9, 16, 4, 123, tzinfo=UTC), "action": "csv_exported",
        "actor_id": 7, "actor_name": "auditor", "ip_address": "10.1.2.3", "adjustment_id": None,
        "member_id": None, "from_state": "", "to_state": "", "comment": "Crédito",
        "data": {"rows": 3, "export": "adjustments"},
    }
    assert audit_encoding(prev_hash=GENESIS, values=values) == (
        b'["audit","0000000000000000000000000000000000000000000000000000000000000000",'
        b'"2026-11-28T09:16:04.000123Z","csv_exported",7,"auditor","10.1.2.3",null,null,"","",'
        b'"Cr\\u00e9dito",{"export":"adjustments","rows":3}]'
    )
    assert audit_hash(prev_hash=GENESIS, values=values) == (
        "af5100811aa9c4a96ce8189c5078040c3533a5d0238a615ef902fae77e103556"
    )
    ledger = {
        "created_at": datetime(2026, 11, 28, 9, 16, 5, tzinfo=UTC), "account_id": 42,
        "bucket": "available", "amount": Decimal("-3.5"), "reward_event_id": 9,
        "adjustment_id": None, "description": "confirmation ctx-3",
    }
    assert ledger_encoding(prev_hash=GENESIS, values=ledger) == (
        b'["ledger","0000000000000000000000000000000000000000000000000000000000000000",'
        b'"2026-11-28T09:16:05.000000Z",42,"available","-3.50",9,null,"confirmation ctx-3"]'
    )
    assert ledger_hash(prev_hash=GENESIS, values=ledger) == (
        "6b7d2f5a06cb828a2c8638814775b79047e15067c52ae609ef4f1141f3ed85f3"
    )


def test_each_new_entry_links_to_the_previous_one(history):
    audit, ledger = history["audit"], history["ledger"]
    assert audit[0].prev_hash == GENESIS or AuditEntry.objects.filter(id__lt=audit[0].id).exists()
    for previous, entry in itertools.pairwise(audit):
        assert entry.prev_hash == previous.entry_hash
    assert ledger[0].prev_hash == GENESIS
    for previous, entry in itertools.pairwise(ledger):
        assert entry.prev_hash == previous.entry_hash
    assert len({e.entry_hash for e in audit + ledger}) == len(audit) + len(ledger)
    head = ChainHead.objects.get(name=ChainHead.AUDIT)
    last = AuditEntry.objects.order_by("-id").first()
    assert (head.entry_id, head.entry_hash) == (last.pk, last.entry_hash)
    assert head.length == AuditEntry.objects.count()


def test_hashes_are_computed_from_what_the_database_gives_back(history):
    # Read back (IPv6 normalised, JSON through the column, amounts as numeric(18, 2)), each
    # entry's stored hash is the one recomputed from its columns.
    report = chains_check()
    assert report.sound, report.problems
    assert (report.audit_entries, report.ledger_entries) == (AuditEntry.objects.count(), 6)


def test_sound_chains_exit_0_with_counts_and_speed_and_are_recorded(history, capsys):
    code, out, err = verify(capsys)
    assert code == 0, err
    count = AuditEntry.objects.count()
    assert f"checked {count} audit entries, 6 ledger entries in 1 accounts" in out
    assert "entries/s" in out and "chains sound" in out
    verification = ChainVerification.objects.get()
    assert verification.sound is True and verification.finished_at is not None
    assert (verification.audit_entries, verification.ledger_entries) == (count, 6)
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.CHAIN_BROKEN).exists()


def _assert_broken(capsys, *, chain: str, entry_id: int, what: str) -> str:
    code, out, err = verify(capsys)
    assert code == 1, out
    assert f"BROKEN {chain}: entry #{entry_id}: {what}" in err, err
    verification = ChainVerification.objects.latest("id")
    assert verification.sound is False
    assert verification.problems[0]["entry"] == entry_id
    broken = AuditEntry.objects.get(action=AuditEntry.Action.CHAIN_BROKEN)
    assert broken.data["verification"] == verification.pk
    return err


def test_a_changed_audit_entry_is_found_with_expected_and_found_hash(history, capsys):
    entry = history["audit"][2]
    tamper("UPDATE rewards_auditentry SET comment = %s WHERE id = %s", ["nothing", entry.pk])
    err = _assert_broken(capsys, chain="audit", entry_id=entry.pk, what="entry hash")
    assert f"found {entry.entry_hash}" in err
    changed = AuditEntry.objects.get(pk=entry.pk)
    values = {f: getattr(changed, f) for f in ("created_at", "action", "actor_id", "actor_name",
                                               "ip_address", "adjustment_id", "member_id",
                                               "from_state", "to_state", "comment", "data")}
    assert f"expected {audit_hash(prev_hash=entry.prev_hash, values=values)}" in err


def test_a_changed_json_detail_is_found(history, capsys):
    entry = history["audit"][1]
    data = dict(entry.data, ok=False)
    tamper("UPDATE rewards_auditentry SET data = %s WHERE id = %s", [json.dumps(data), entry.pk])
    _assert_broken(capsys, chain="audit", entry_id=entry.pk, what="entry hash")


def test_a_deleted_audit_entry_is_found(history, capsys):
    gone, following = history["audit"][2], history["audit"][3]
    tamper("DELETE FROM rewards_auditentry WHERE id = %s", [gone.pk])
    err = _assert_broken(capsys, chain="audit", entry_id=following.pk, what="previous hash")
    assert f"expected {history['audit'][1].entry_hash}, found {gone.entry_hash}" in err


def test_reordered_audit_entries_are_found(history, capsys):
    first, second = history["audit"][1], history["audit"][2]
    swap_ids("rewards_auditentry", first.pk, second.pk)
    _assert_broken(capsys, chain="audit", entry_id=first.pk, what="previous hash")


def test_audit_entries_removed_from_the_end_are_found_by_the_head(history, capsys):
    last = history["audit"][-1]
    tamper("DELETE FROM rewards_auditentry WHERE id = %s", [last.pk])
    code, _, err = verify(capsys)
    assert code == 1
    assert f"BROKEN audit head: entry #{last.pk}: head entry" in err


def test_a_changed_ledger_amount_is_found(history, capsys):
    entry = history["ledger"][1]
    tamper("UPDATE rewards_ledgerentry SET amount = amount + 100 WHERE id = %s", [entry.pk])
    _assert_broken(capsys, chain=f"ledger account {history['account'].pk}", entry_id=entry.pk,
                   what="entry hash")


def test_a_deleted_ledger_entry_is_found(history, capsys):
    gone, following = history["ledger"][2], history["ledger"][3]
    tamper("DELETE FROM rewards_ledgerentry WHERE id = %s", [gone.pk])
    _assert_broken(capsys, chain=f"ledger account {history['account'].pk}",
                   entry_id=following.pk, what="previous hash")


def test_reordered_ledger_entries_are_found(history, capsys):
    first, second = history["ledger"][3], history["ledger"][4]
    swap_ids("rewards_ledgerentry", first.pk, second.pk)
    _assert_broken(capsys, chain=f"ledger account {history['account'].pk}", entry_id=first.pk,
                   what="previous hash")


def test_a_ledger_entry_moved_to_another_account_is_found(history, webhook, capsys):
    webhook.post("confirmation", notification_body("confirmation", "ctx-9", user="usr-2",
                                                   card="crd-2", amount="1.00"))
    other = RewardAccount.objects.get(member__pomelo_user_id="usr-2")
    entry = history["ledger"][-1]
    tamper("UPDATE rewards_ledgerentry SET account_id = %s WHERE id = %s", [other.pk, entry.pk])
    code, _, err = verify(capsys)
    assert code == 1
    assert f"ledger account {other.pk}: entry #{entry.pk}" in err


def test_a_whole_audit_chain_rewritten_after_an_anchor_is_caught_by_it(history, capsys):
    anchor = chain_anchor_take(reason=ChainAnchor.Reason.MANUAL)
    entry = history["audit"][1]
    tamper("UPDATE rewards_auditentry SET comment = %s WHERE id = %s", ["rewritten", entry.pk])
    audit_chain_rewrite()
    assert not [p for p in chains_check().problems if not p.chain.startswith("anchor")]
    code, _, err = verify(capsys)
    assert code == 1
    assert f"BROKEN anchor #{anchor.pk}: entry #{anchor.audit_entry_id}: audit head anchored; " \
           f"expected {anchor.audit_hash}" in err


def test_a_whole_ledger_chain_rewritten_after_an_anchor_is_caught_by_it(history, capsys):
    anchor = chain_anchor_take(reason=ChainAnchor.Reason.MANUAL)
    account, head = history["account"], history["ledger"][-1]
    tamper("UPDATE rewards_ledgerentry SET amount = 500 WHERE id = %s", [history["ledger"][0].pk])
    ledger_chain_rewrite(account.pk)
    code, _, err = verify(capsys)
    assert code == 1
    assert (f"BROKEN anchor #{anchor.pk}: entry #{head.pk}: ledger head of account "
            f"{account.pk}; expected {head.entry_hash}") in err


def test_a_rewrite_before_any_anchor_goes_unseen_which_is_why_anchors_are_kept(history, capsys):
    # The limit of a hash chain, documented: without an anchor taken before it, a rewrite from
    # the start is self-consistent.
    tamper("UPDATE rewards_auditentry SET comment = 'x' WHERE id = %s", [history["audit"][0].pk])
    audit_chain_rewrite()
    assert verify(capsys)[0] == 0


def test_anchor_records_both_heads_and_only_new_account_heads(history, webhook):
    first = chain_anchor_take(reason=ChainAnchor.Reason.MANUAL, note="first")
    head = ChainHead.objects.get(name=ChainHead.AUDIT)
    assert (first.audit_entry_id, first.audit_hash, first.audit_length) == (
        head.entry_id, head.entry_hash, head.length)
    assert (first.ledger_accounts, first.ledger_heads_recorded) == (1, 1)
    assert first.heads.get().entry_id == history["ledger"][-1].pk
    assert len(first.digest) == 64
    again = chain_anchor_take(reason=ChainAnchor.Reason.MANUAL)
    assert (again.ledger_accounts, again.ledger_heads_recorded) == (1, 0)
    assert again.digest == first.digest
    webhook.post("confirmation", notification_body("confirmation", "ctx-9", user="usr-2",
                                                   card="crd-2", amount="1.00"))
    third = chain_anchor_take(reason=ChainAnchor.Reason.MANUAL)
    assert (third.ledger_accounts, third.ledger_heads_recorded) == (2, 1)
    assert third.digest != first.digest


def test_daily_task_and_command_take_an_anchor(history, capsys):
    anchor_id = chain_anchor_daily_task.call()
    assert ChainAnchor.objects.get(pk=anchor_id).reason == ChainAnchor.Reason.DAILY
    call_command("audit_anchor", "--note", "before the audit")
    anchor = ChainAnchor.objects.latest("id")
    assert anchor.note == "before the audit"
    assert f"anchor #{anchor.pk}" in capsys.readouterr().out


def test_empty_database_verifies(capsys):
    code, out, _ = verify(capsys)
    assert code == 0
    assert "checked 0 audit entries, 0 ledger entries in 0 accounts" in out


def test_anchor_digest_is_the_documented_one(history, webhook):
    webhook.post("confirmation", notification_body("confirmation", "ctx-9", user="usr-2",
                                                   card="crd-2", amount="1.00"))
    anchor = chain_anchor_take(reason=ChainAnchor.Reason.MANUAL)
    lines = []
    for account in RewardAccount.objects.order_by("id"):
        last = account.entries.order_by("-id").first()
        lines.append(f"ledger:{account.pk}:{last.pk}:{last.entry_hash}\n")
    last_audit = AuditEntry.objects.order_by("-id").first()
    lines.append(f"audit:{last_audit.pk}:{last_audit.entry_hash}\n")
    assert anchor.digest == hashlib.sha256("".join(lines).encode("ascii")).hexdigest()


def test_an_entry_inserted_by_hand_is_found(history, capsys):
    last = history["audit"][-1]
    tamper(
        "INSERT INTO rewards_auditentry (action, actor_name, from_state, to_state, comment, data, "
        "created_at, prev_hash, entry_hash) VALUES ('csv_exported', 'ghost', '', '', 'forged', "
        "'{}', %s, %s, %s)", [last.created_at, last.entry_hash, "f" * 64],
    )
    forged = AuditEntry.objects.get(actor_name="ghost")
    err = _assert_broken(capsys, chain="audit", entry_id=forged.pk, what="entry hash")
    assert f"found {'f' * 64}" in err
