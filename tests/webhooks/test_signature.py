import base64

import pytest

from tests.support.webhooks import TEST_API_KEY, TEST_API_SECRET
from webhooks.signature import SignatureError, signature_compute, signature_verify

KEY = base64.b64decode(TEST_API_SECRET)
ENDPOINT = "/webhooks/pomelo/loyalty/pending"
BODY = (
    b'{"event_id":"loyalty-pending",'
    b'"idempotency_key":"ctx-38Wig8u500urqNCgMAy1vE4voXl-pending"}'
)
EXPECTED = "hmac-sha256 Kbxr0ZB4LKkNNguxzn6ni7ofwJ6Mf4EwqmMFBbTBd+Y="


def test_published_test_vector():
    assert signature_compute(key=KEY, timestamp="1700000000", endpoint=ENDPOINT, body=BODY) == (
        EXPECTED
    )


def test_published_test_vector_empty_body():
    assert signature_compute(key=KEY, timestamp="1700000000", endpoint=ENDPOINT, body=b"") == (
        "hmac-sha256 oW/u+IN327BVdbpVTsJ+kRpnnUAYAR5y/igV+1rWn84="
    )


def _headers(**overrides):
    headers = {
        "x-api-key": TEST_API_KEY,
        "x-signature": EXPECTED,
        "x-timestamp": "1700000000",
        "x-endpoint": ENDPOINT,
    }
    headers.update(overrides)
    return {k: v for k, v in headers.items() if v is not None}


def _verify(headers, body=BODY, path=ENDPOINT, now=1700000010, keys=None):
    return signature_verify(
        headers=headers, body=body, endpoints=(path,), keys=keys or {TEST_API_KEY: KEY},
        tolerance_seconds=300, now=now,
    )


def test_vector_verifies_and_names_its_key():
    assert _verify(_headers()) == TEST_API_KEY


def test_any_configured_key_pair_is_accepted_during_rotation():
    other_secret = base64.b64encode(b"k" * 32)
    keys = {"new-key": base64.b64decode(other_secret), TEST_API_KEY: KEY}
    assert _verify(_headers(), keys=keys) == TEST_API_KEY
    signature = signature_compute(key=keys["new-key"], timestamp="1700000000", endpoint=ENDPOINT,
                                  body=BODY)
    assert _verify(_headers(**{"x-api-key": "new-key", "x-signature": signature}),
                   keys=keys) == "new-key"


@pytest.mark.parametrize(
    ("headers", "body", "path", "now", "message"),
    [
        (_headers(), BODY[:-2] + b"X}", ENDPOINT, 1700000010, "does not match the body"),
        (_headers(**{"x-signature": None}), BODY, ENDPOINT, 1700000010, "missing header"),
        (_headers(**{"x-timestamp": None}), BODY, ENDPOINT, 1700000010, "x-timestamp"),
        (_headers(**{"x-endpoint": None}), BODY, ENDPOINT, 1700000010, "x-endpoint"),
        (_headers(**{"x-api-key": "nope"}), BODY, ENDPOINT, 1700000010, "unknown x-api-key"),
        (_headers(**{"x-signature": EXPECTED.replace("hmac-sha256", "hmac-sha1")}), BODY,
         ENDPOINT, 1700000010, "unsupported signature algorithm"),
        (_headers(**{"x-signature": EXPECTED.replace("hmac-sha256 ", "")}), BODY, ENDPOINT,
         1700000010, "unsupported signature algorithm"),
        (_headers(), BODY, ENDPOINT, 1700000000 + 301, "old"),
        (_headers(), BODY, ENDPOINT, 1700000000 - 301, "in the future"),
        (_headers(**{"x-timestamp": "17e8"}), BODY, ENDPOINT, 1700000010, "Unix seconds"),
        (_headers(), BODY, "/webhooks/pomelo/loyalty/confirmation", 1700000010,
         "does not match the path"),
    ],
)
def test_refusals_name_the_failed_check(headers, body, path, now, message):
    with pytest.raises(SignatureError, match=message):
        _verify(headers, body=body, path=path, now=now)


def test_every_single_byte_change_is_refused():
    for i in range(len(BODY)):
        tampered = BODY[:i] + bytes([BODY[i] ^ 0x01]) + BODY[i + 1:]
        with pytest.raises(SignatureError):
            _verify(_headers(), body=tampered)


def test_timestamp_within_tolerance_is_accepted():
    assert _verify(_headers(), now=1700000000 + 300) == TEST_API_KEY
    assert _verify(_headers(), now=1700000000 - 300) == TEST_API_KEY
