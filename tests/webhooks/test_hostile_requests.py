"""Hostile and odd requests, signed and unsigned, through the real view: each gets its
expected status, is stored as it arrived, and moves no money.

Signed: the body is Pomelo's, so it is kept byte for byte, answered 200 and flagged with the
reason. Unsigned or wrongly signed: refused with a 4xx and kept as rejected. Run on PostgreSQL
too (DATABASE_URL): text columns there cannot hold NUL characters or unpaired surrogates.
"""

import io
import json
from dataclasses import dataclass, field

import pytest

from accounts.models import Card, Member
from rewards.models import LedgerEntry, RewardEvent
from tests.support.webhooks import WEBHOOK_PATHS, signed_headers
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

SINGLE_PATH = "/webhooks/pomelo/loyalty/"
IDS = b'"event_id":"loyalty-pending","idempotency_key":"k-1"'
DEEP = 30_000  # levels of nesting; the body stays under the 64 KiB limit


def ids_and(extra: bytes) -> bytes:
    """A body with both documented ids and `extra` members (the rest of a reward)."""
    return (b'{' + IDS + b',"user_id":"usr-1","card_id":"crd-1","transaction_id":"ctx-1",'
            b'"account_type":"points","amount":"10.00"' + extra + b'}')


def with_amount(amount: bytes) -> bytes:
    return b'{' + IDS + b',"user_id":"usr-1","transaction_id":"ctx-1","account_type":"points",' \
           b'"amount":' + amount + b'}'


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    status: int
    outcome: str
    words: str  # expected in the delivery's review (signed) or detail (refused)
    signed: bool = True
    path: str = WEBHOOK_PATHS["pending"]
    method: str = "POST"
    headers: dict = field(default_factory=dict)  # applied after signing
    environ: dict = field(default_factory=dict)
    stored: bytes | None = None  # what the delivery keeps, when not the body itself
    settings: dict = field(default_factory=dict)


def flagged(name, body, words, **kw) -> Case:
    return Case(name, body, 200, "flagged", words, **kw)


def refused(name, body, status, words, **kw) -> Case:
    """Signed first, then spoilt by `headers` (or refused before the signature matters)."""
    return Case(name, body, status, "rejected", words, **kw)


CASES = [
    # --- signed: kept, answered 200, flagged with the reason ------------------------------
    flagged("malformed JSON", b"{oops", "malformed JSON"),
    flagged("empty body", b"", "malformed JSON"),
    flagged("invalid UTF-8", b'{"event_id":"\xff\xfe","idempotency_key":"k"}', "not UTF-8"),
    flagged("raw NUL byte in a string", b'{"event_id":"e\x00","idempotency_key":"k"}', "malformed JSON"),
    flagged("escaped NUL in the key", b'{"event_id":"e","idempotency_key":"k\\u0000"}',
            "idempotency_key"),
    flagged("a key twice in one object", ids_and(b',"amount":"1000.00"'), "appears more than once"),
    flagged("unpaired surrogate", b'{' + IDS + b',"user_id":"\\udc00x"}', "user_id"),
    flagged("body is an array", b"[1, 2]", "JSON object, got array"),
    flagged("body is a string", b'"text"', "JSON object, got string"),
    flagged("UTF-8 byte order mark", b"\xef\xbb\xbf{" + IDS + b"}", "malformed JSON"),
    flagged("UTF-16 body", ("{" + IDS.decode() + "}").encode("utf-16"), "not UTF-8"),
    flagged("missing idempotency_key", b'{"event_id":"loyalty-pending"}', "idempotency_key is required"),
    flagged("event_id is a number", b'{"event_id":7,"idempotency_key":"k"}', "event_id must be a string"),
    flagged("event_id past the int digit limit", b'{"event_id":' + b"7" * 5000 + b',"idempotency_key":"k"}',
            "event_id must be a string, got number"),
    flagged("key longer than 200", b'{"event_id":"e","idempotency_key":"' + b"k" * 201 + b'"}',
            "longer than 200"),
    flagged("tab inside user_id", b'{' + IDS + b',"user_id":"usr\\t1"}', "control"),
    flagged("user_id longer than 64", b'{' + IDS + b',"user_id":"' + b"u" * 65 + b'"}', "longer than 64"),
    flagged("amount with three decimals", with_amount(b'"1.234"'), "more than 2 decimals"),
    flagged("amount as an object", with_amount(b'{"value":"1.00"}'), "got object"),
    flagged("amount with underscores", with_amount(b'"1_000"'), "not a plain decimal"),
    flagged("amount with spaces", with_amount(b'" 5 "'), "not a plain decimal"),
    flagged("amount with an exponent (string)", with_amount(b'"1E+2"'), "not a plain decimal"),
    flagged("amount with an exponent (number)", with_amount(b"1e2"), "not a plain decimal"),
    flagged("amount in other digits", with_amount('"١٠"'.encode()), "not a plain decimal"),
    flagged("amount with a NUL", with_amount(b'"1\\u00000"'), "not a plain decimal"),
    flagged("amount NaN constant", with_amount(b"NaN"), "NaN is not a valid JSON number"),
    flagged("amount Infinity string", with_amount(b'"Infinity"'), "not a plain decimal"),
    flagged("amount true", with_amount(b"true"), "got boolean"),
    flagged("amount too large", with_amount(b'"100000000000000000"'), "too large"),
    flagged("amount past the int digit limit", with_amount(b"9" * 5000), "too large"),
    flagged("negative pending amount", with_amount(b'"-5.00"'), "must not be negative"),
    flagged("negative cancellation amount", b'{"event_id":"loyalty-cancel","idempotency_key":"k",'
            b'"transaction_id":"ctx-1","account_type":"points","amount":"-5.00"}',
            "must not be negative on a reward cancellation", path=WEBHOOK_PATHS["cancellation"]),
    flagged("unknown account type", ids_and(b"").replace(b'"points"', b'"gold"'), "unknown account_type"),
    flagged("epoch created_at", ids_and(b',"created_at":1700000000'), "created_at must be a string"),
    flagged("created_at that overflows", ids_and(b',"created_at":"9999-12-31T23:59:59-05:00"'),
            "out of range"),
    flagged("created_at in words", ids_and(b',"created_at":"yesterday"'), "ISO 8601"),
    flagged("masked last four", ids_and(b',"card_last_four":"****4242"'), "not four digits"),
    flagged("last four as a number", ids_and(b',"card_last_four":4242'), "must be a string"),
    flagged("deep nesting", b'{' + IDS + b',"x":' + b"[" * DEEP + b"]" * DEEP + b"}", "nested too deeply"),
    flagged("transaction as a string", b'{' + IDS + b',"transaction":"ctx-1"}', "transaction must be"),
    flagged("event_id of another kind", ids_and(b"").replace(b"loyalty-pending", b"loyalty-confirm"),
            "names a reward confirmation, but it arrived at the pending reward URL"),
    flagged("single URL, unknown event_id", ids_and(b"").replace(b"loyalty-pending", b"loyalty-mystery"),
            "not a loyalty notification type we know", path=SINGLE_PATH),
    flagged("NUL in another header", b'{' + IDS + b'}', "missing transaction_id",
            headers={"x-trace": "a\x00b"}),
    flagged("IPv6 peer with a zone", b'{' + IDS + b'}', "missing transaction_id",
            environ={"REMOTE_ADDR": "fe80::1%eth0"}),
    flagged("Accept that is not JSON", b'{' + IDS + b'}', "missing transaction_id",
            headers={"accept": "image/png"}),
    # --- not provably Pomelo's: refused, kept as rejected -----------------------------------
    refused("no signature headers", ids_and(b""), 401, "missing header(s)", headers={
        "x-signature": "", "x-api-key": "", "x-timestamp": "", "x-endpoint": ""}),
    refused("forged signature", ids_and(b""), 401, "does not match the body",
            headers={"x-signature": "hmac-sha256 AAAA"}),
    refused("unknown api key", ids_and(b""), 401, "unknown x-api-key", headers={"x-api-key": "who"}),
    refused("md5 signature", ids_and(b""), 401, "unsupported signature algorithm",
            headers={"x-signature": "hmac-md5 AAAA"}),
    refused("5,000-digit timestamp", ids_and(b""), 401, "x-timestamp must be visible ASCII",
            headers={"x-timestamp": "1" * 5000}),
    refused("40-digit timestamp", ids_and(b""), 401, "x-timestamp must be Unix seconds",
            headers={"x-timestamp": "1" * 40}),
    refused("timestamp in other digits", ids_and(b""), 401, "x-timestamp",
            headers={"x-timestamp": "١٧٠٠٠٠٠٠٠٠"}),
    refused("stale timestamp", ids_and(b""), 401, "s old", headers={"x-timestamp": "1000000000"}),
    refused("x-endpoint of another URL", ids_and(b""), 401, "does not match the path",
            headers={"x-endpoint": WEBHOOK_PATHS["confirmation"]}),
    refused("NUL in x-endpoint", ids_and(b""), 401, "x-endpoint must be visible ASCII",
            headers={"x-endpoint": "/webhooks\x00"}),
    refused("unpaired surrogate in x-signature", ids_and(b""), 401, "x-signature must be visible ASCII",
            headers={"x-signature": "hmac-sha256 \ud800"}),
    refused("NUL bytes and invalid UTF-8, unsigned", b"\x00\xff{\x00}\xc3", 401, "does not match",
            headers={"x-signature": "hmac-sha256 AAAA"}),
    refused("deep nesting, unsigned", b"[" * DEEP + b"]" * DEEP, 401, "does not match",
            headers={"x-signature": "hmac-sha256 AAAA"}),
    refused("5,000-digit number, unsigned", b'{"event_id":' + b"9" * 5000 + b"}", 401, "does not match",
            headers={"x-signature": "hmac-sha256 AAAA"}),
    refused("outside the allow-list", ids_and(b""), 403, "not in the allow-list",
            settings={"POMELO_WEBHOOK_ALLOWED_IPS": ["34.226.254.178"]}),
    refused("GET", b"", 405, "GET is not allowed", method="GET"),
    refused("OPTIONS", b"", 405, "OPTIONS is not allowed", method="OPTIONS"),
    refused("PUT with a signed body", ids_and(b""), 405, "PUT is not allowed", method="PUT"),
    refused("body above the limit", b"{" + b" " * 70_000 + b"}", 413, "exceeds the limit",
            stored=b""),
    refused("chunked, stream not terminated", ids_and(b""), 411, "cannot read a chunked body",
            environ={"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked"}, stored=b""),
    refused("Content-Length not a number", ids_and(b""), 411, "Content-Length is not a number",
            environ={"CONTENT_LENGTH": "ten"}, stored=b""),
]


def test_the_table_is_large_enough():
    assert len(CASES) >= 40
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_hostile_request(client, settings, case: Case):
    for name, value in case.settings.items():
        setattr(settings, name, value)
    headers = signed_headers(case.body, case.path) if case.signed else {}
    headers.update(case.headers)
    environ = {"wsgi.input": io.BytesIO(case.body), **case.environ}
    response = client.generic(case.method, case.path, case.body, content_type="application/json",
                              headers=headers, **environ)

    assert response.status_code == case.status, response.content
    answer = response.json()
    delivery = Delivery.objects.get()
    assert answer["delivery_id"] == delivery.pk
    assert delivery.outcome == case.outcome and delivery.http_status == case.status
    assert bytes(delivery.body) == (case.body if case.stored is None else case.stored)
    if case.outcome == "flagged":
        # Kept and acknowledged; why it moved no money is the delivery's, for staff.
        assert answer == {"status": "received", "delivery_id": delivery.pk}, answer
        assert case.words in delivery.review
    else:
        assert answer["status"] == "rejected" and case.words in answer["message"], answer
        assert case.words in delivery.detail and delivery.review == ""
    # Whatever it held, the request moved no money and created nobody.
    assert not LedgerEntry.objects.exists() and not RewardEvent.objects.exists()
    assert not Member.objects.exists() and not Card.objects.exists()
    json.dumps(delivery.headers)  # the stored headers are plain JSON


def test_a_flagged_copy_is_a_duplicate_and_another_body_under_its_key_is_kept_too(webhook):
    first = webhook.post("pending", None, raw=with_amount(b'"1.234"'))
    again = webhook.post("pending", None, raw=with_amount(b'"1.234"'))
    other = webhook.post("pending", None, raw=with_amount(b'"1.235"'))
    assert [r.json()["status"] for r in (first, again, other)] == ["received", "duplicate", "flagged"]
    outcomes = list(Delivery.objects.order_by("pk").values_list("outcome", flat=True))
    assert outcomes == ["flagged", "duplicate", "key_reused"]


def test_signed_bodies_without_a_key_are_each_kept(webhook):
    for raw in (b"{oops", b"{oops", b"[]"):
        assert webhook.post("pending", None, raw=raw).status_code == 200
    assert list(Delivery.objects.values_list("outcome", flat=True)) == ["flagged"] * 3
