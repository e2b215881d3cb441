"""A stand-in for Pomelo's Loyalty API, for demos, development and tests: its routing and store.

Fault injection is in `sandbox/faults.py`, the HTTP server in `sandbox/server.py`.

It speaks the same HTTP as the real thing as far as we know it (the README's "Talking to Pomelo"
lists what Pomelo documents and what we assume): OAuth client-credentials tokens (one per client,
handed back on every request until it expires or is revoked, as Pomelo documents), token
revocation, the balance query, mint and burn with idempotency keys. Where Pomelo's behaviour is
unknown, it follows the most careful reading (e.g. same key + same body replays the first answer;
same key + another body is refused), so the back office is tested against the strictest
plausible Pomelo.

It is plain WSGI with its own in-memory store: no Django models, no database, so it can run in
a thread inside a test run (including tests that hold database transactions open) or as a
separate process (`manage.py run_sandbox_pomelo`).

NEVER run it in production: the control endpoints under /_sandbox/ need no credentials and
let anyone set balances, read every balance and inject failures. Bind it to loopback.

Control endpoints (no bearer token; fault injection never applies to them):
    POST   /_sandbox/members  {"user_id", "card_ids": [...], "balances"?: {type: amount}}
    POST   /_sandbox/rewards  {"user_id" | "card_id", "account_type", "amount"} (may be negative)
    GET    /_sandbox/faults   current fault configuration
    POST   /_sandbox/faults   {"fail_next", "fail_status", "drop_next", "drop_after_apply_next",
                               "delay_ms", "delay_next", "fail_percent", "seed"}
    DELETE /_sandbox/faults   clear all faults
    POST   /_sandbox/idempotency {"memory_seconds": N | null}  forget a key N seconds after its
                              first use (null: never), to show what a re-send after Pomelo's
                              memory ends does
    POST   /_sandbox/clock    {"advance_seconds": N}  move the stand-in's clock (key memory) on
    GET    /_sandbox/effects  [?idempotency_key=K] per key: effects applied, requests, replays
    GET    /_sandbox/state    members, cards, balances, tokens issued, revoked and rejected
    DELETE /_sandbox/tokens   revoke every issued token (the next loyalty call gets 401)
    POST   /_sandbox/tokens/reject  refuse the current token with 401 from now on, while
                              /oauth/token keeps handing it back until it is revoked or expires
    POST   /_sandbox/reset    forget everything (members, balances, keys, faults, tokens)
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from sandbox.faults import Faults
from sandbox.http_errors import BadRequest, DropConnection, SandboxHTTPError

logger = logging.getLogger("sandbox.pomelo")

DEFAULT_ACCOUNT_TYPES = ("points", "cashback", "miles")
DEFAULT_TOKEN_LIFETIME_SECONDS = 3600
MAX_BODY_BYTES = 1024 * 1024
CENT = Decimal("0.01")
# Large enough for any real balance, small enough to catch a unit mix-up (cents vs units).
MAX_AMOUNT = Decimal("1000000000000")
MOVEMENT_PREFIX = "/loyalty/v1/accounts/"

StartResponse = Callable[..., Any]


@dataclass
class Member:
    user_id: str
    card_ids: list[str]
    balances: dict[str, Decimal]


@dataclass
class KeyRecord:
    """What happened under one idempotency key."""

    fingerprint: str
    status: int
    body: bytes
    requests: int = 1  # requests that reached the handler with this key
    replays: int = 0  # of those, answered from the stored response
    conflicts: int = 0  # refused because the body differed
    effects: list[dict[str, str]] = field(default_factory=list)
    stored_at: float = 0.0  # the stand-in's clock when the key was (last) first used
    forgotten: int = 0  # times the key memory ran out and the key was treated as new


class PomeloSandboxApp:
    """The WSGI application and its thread-safe in-memory store."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        account_types: Iterable[str] = DEFAULT_ACCOUNT_TYPES,
        token_lifetime_seconds: int = DEFAULT_TOKEN_LIFETIME_SECONDS,
        faults: dict[str, Any] | None = None,
        state_path: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        key_memory_seconds: float | None = None,
    ) -> None:
        self.client_id = client_id
        # Token expiry reads this clock, so a test can move time instead of waiting.
        self.clock = clock
        self.client_secret = client_secret
        self.account_types = tuple(account_types)
        self.token_lifetime_seconds = token_lifetime_seconds
        # One lock for the whole store: requests are tiny, and it makes "look up the key,
        # validate, apply, store the answer" atomic, as Pomelo's idempotency must be.
        self.lock = threading.RLock()
        self._startup_key_memory = key_memory_seconds
        self._reset_locked()
        # Optional: members, balances and idempotency records survive a restart, so a demo's
        # back office and its stand-in keep agreeing from one `make run` to the next.
        self.state_path = state_path
        if state_path is not None and state_path.exists():
            self._load(state_path)
        # Startup faults let a demo or a separate-process test begin on a flaky Pomelo.
        self.faults = Faults.from_payload(faults or {})

    def _reset_locked(self) -> None:
        self.members: dict[str, Member] = {}
        self.card_owner: dict[str, str] = {}
        self.keys: dict[str, KeyRecord] = {}
        self.rewards: list[dict[str, str]] = []
        self.tokens: dict[str, float] = {}  # token -> expiry on self.clock
        self.current_token: str | None = None  # what /oauth/token hands back until expiry
        self.rejected_tokens: set[str] = set()
        self.tokens_issued = 0
        self.tokens_revoked = 0
        self.faults = Faults()
        # How long an idempotency key is remembered (Pomelo's is undocumented): None = forever.
        self.key_memory_seconds: float | None = self._startup_key_memory
        self.clock_offset = 0.0

    def now(self) -> float:
        """The stand-in's clock for key memory; tests move it on instead of waiting."""
        return time.time() + self.clock_offset

    # --- WSGI entry point -----------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "") or "/"
        drop_after = False
        if path.startswith(MOVEMENT_PREFIX):
            with self.lock:
                delay, action = self.faults.decide()
                fail_status = self.faults.fail_status
            if delay:
                time.sleep(delay)
            if action == "drop":
                logger.info("sandbox fault: dropping %s %s", method, path)
                raise DropConnection
            if action == "fail":
                logger.info("sandbox fault: answering %s to %s %s", fail_status, method, path)
                return self._respond(
                    start_response,
                    fail_status,
                    _error_body("SANDBOX_INJECTED_FAULT", "Injected failure."),
                )
            drop_after = action == "drop_after_apply"
        try:
            status, body = self._route(method, path, environ)
        except SandboxHTTPError as exc:
            status, body = exc.status, _error_body(exc.code, exc.message)
        if drop_after:
            logger.info("sandbox fault: applied %s %s, dropping the answer", method, path)
            raise DropConnection
        return self._respond(start_response, status, body)

    def _respond(self, start_response: StartResponse, status: int, body: bytes) -> list[bytes]:
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def _route(self, method: str, path: str, environ: dict[str, Any]) -> tuple[int, bytes]:
        if path == "/oauth/token":
            self._require_method(method, "POST")
            return self._token(environ)
        if path == "/oauth/token/revoke":
            self._require_method(method, "POST")
            return self._revoke(environ)
        if path == "/loyalty/v1/accounts/balance":
            self._require_method(method, "GET")
            return self._balance(environ)
        if path.startswith(MOVEMENT_PREFIX):
            parts = path[len(MOVEMENT_PREFIX) :].split("/")
            if len(parts) == 2 and parts[1] in ("mint", "burn"):
                self._require_method(method, "POST")
                return self._movement(environ, account_type=parts[0], operation=parts[1])
        if path.startswith("/_sandbox/"):
            return self._control(method, path, environ)
        raise SandboxHTTPError(404, "NOT_FOUND", f"No endpoint at {path}.")

    @staticmethod
    def _require_method(method: str, allowed: str) -> None:
        if method != allowed:
            raise SandboxHTTPError(405, "METHOD_NOT_ALLOWED", f"Use {allowed}.")

    # --- OAuth ------------------------------------------------------------------------------

    def _token(self, environ: dict[str, Any]) -> tuple[int, bytes]:
        payload = self._oauth_payload(environ)
        if payload.get("grant_type") != "client_credentials":
            raise BadRequest("grant_type must be client_credentials.", "UNSUPPORTED_GRANT_TYPE")
        self._require_client(payload)
        with self.lock:
            now = self.clock()
            token = self.current_token
            if token is None or self.tokens.get(token, now) <= now:
                # Like Pomelo: a new token only when there is none or it expired; until then
                # every request gets the same one back, refused or not.
                self._forget_locked(token)
                token = "sbx_" + secrets.token_urlsafe(32)
                self.tokens[token] = now + self.token_lifetime_seconds
                self.current_token = token
                self.tokens_issued += 1
            remaining = math.ceil(self.tokens[token] - now)  # float noise may round up past it
            expires_in = max(1, min(self.token_lifetime_seconds, remaining))
        return 200, _json({"access_token": token, "token_type": "Bearer", "expires_in": expires_in})

    def _revoke(self, environ: dict[str, Any]) -> tuple[int, bytes]:
        """Drop a token. Pomelo documents the endpoint but not its body: we require the client
        credentials, and take the token from the body's `token` or the bearer header; without
        either, the client's current token goes."""
        payload = self._oauth_payload(environ)
        self._require_client(payload)
        token = payload.get("token")
        if not isinstance(token, str) or not token:
            scheme, _, bearer = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
            token = bearer.strip() if scheme.lower() == "bearer" and bearer.strip() else None
        with self.lock:
            token = token or self.current_token
            # An unknown or already revoked token is not an error (as in OAuth's revocation
            # standard): the caller wanted it gone, and it is.
            revoked = token is not None and token in self.tokens
            if revoked:
                self._forget_locked(token)
                self.tokens_revoked += 1
        return 200, _json({"data": {"revoked": revoked}})

    def _oauth_payload(self, environ: dict[str, Any]) -> dict[str, Any]:
        raw = _read_body(environ)
        content_type = environ.get("CONTENT_TYPE", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = parse_qs(raw.decode("utf-8", errors="replace"))
            payload: Any = {k: v[0] for k, v in form.items()}
        else:
            payload = _parse_json(raw)
        if not isinstance(payload, dict):
            raise BadRequest("The request must be a JSON object or a form.")
        return payload

    def _require_client(self, payload: dict[str, Any]) -> None:
        client_id = str(payload.get("client_id") or "")
        client_secret = str(payload.get("client_secret") or "")
        id_ok = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        secret_ok = hmac.compare_digest(client_secret.encode(), self.client_secret.encode())
        if not (id_ok and secret_ok):
            raise SandboxHTTPError(401, "INVALID_CLIENT", "Unknown client_id or wrong client_secret.")

    def _forget_locked(self, token: str | None) -> None:
        if token is None:
            return
        self.tokens.pop(token, None)
        self.rejected_tokens.discard(token)
        if self.current_token == token:
            self.current_token = None

    def _require_bearer(self, environ: dict[str, Any]) -> None:
        header = environ.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        with self.lock:
            expires_at = self.tokens.get(token) if scheme.lower() == "bearer" else None
            rejected = token in self.rejected_tokens
            now = self.clock()
        if expires_at is None or expires_at <= now:
            raise SandboxHTTPError(401, "UNAUTHORIZED", "Missing, unknown or expired bearer token.")
        if rejected:
            raise SandboxHTTPError(401, "UNAUTHORIZED", "This token is no longer accepted.")

    # --- loyalty API ------------------------------------------------------------------------

    def _balance(self, environ: dict[str, Any]) -> tuple[int, bytes]:
        self._require_bearer(environ)
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        given = {k: v for k, v in query.items() if k in ("card_id", "user_id")}
        if len(given) != 1 or any(len(v) != 1 or not v[0] for v in given.values()):
            raise BadRequest("Exactly one of card_id or user_id must be provided.")
        ((name, (value,)),) = given.items()
        with self.lock:
            if name == "card_id":
                user_id = self.card_owner.get(value)
                if user_id is None:
                    raise SandboxHTTPError(404, "CARD_NOT_FOUND", f"Card {value} not found.")
            else:
                user_id = value
            member = self.members.get(user_id)
            if member is None:
                raise SandboxHTTPError(404, "USER_NOT_FOUND", f"User {value} not found.")
            data: dict[str, Any] = {"user_id": member.user_id}
            if name == "card_id":
                data["card_id"] = value
            data["balances"] = {t: _money(member.balances[t]) for t in self.account_types}
        return 200, _json({"data": data})

    def _movement(self, environ: dict[str, Any], *, account_type: str, operation: str) -> tuple[int, bytes]:
        self._require_bearer(environ)
        key = environ.get("HTTP_X_IDEMPOTENCY_KEY", "").strip()
        if not key:
            raise BadRequest("The x-idempotency-key header is required.", "MISSING_IDEMPOTENCY_KEY")
        payload = _parse_json(_read_body(environ))
        if not isinstance(payload, dict):
            raise BadRequest("The body must be a JSON object.")
        fingerprint = _fingerprint(operation, account_type, payload)
        with self.lock:
            record = self.keys.get(key)
            previous = None
            memory = self.key_memory_seconds
            if record is not None and memory is not None and self.now() - record.stored_at > memory:
                # Forgotten: the key is new again, so a second send applies a second time. The
                # counters carry over, so the effect count shows it.
                previous, record = record, None
            if record is not None:
                record.requests += 1
                if not hmac.compare_digest(record.fingerprint, fingerprint):
                    record.conflicts += 1
                    raise SandboxHTTPError(
                        409,
                        "IDEMPOTENCY_KEY_REUSED",
                        "This idempotency key was already used with a different request.",
                    )
                record.replays += 1
                return record.status, record.body
            status, body, effect = self._apply_movement(account_type, operation, payload)
            record = KeyRecord(fingerprint=fingerprint, status=status, body=body, stored_at=self.now())
            if previous is not None:
                record.requests += previous.requests
                record.replays, record.conflicts = previous.replays, previous.conflicts
                record.effects = list(previous.effects)
                record.forgotten = previous.forgotten + 1
            if effect is not None:
                record.effects.append(effect)
            # Only executed requests (applied, or refused for the balance) are remembered:
            # a request that failed validation changed nothing and may be corrected and
            # sent again under the same key.
            self.keys[key] = record
            self._save_locked()
            return status, body

    def _apply_movement(
        self, account_type: str, operation: str, payload: dict[str, Any]
    ) -> tuple[int, bytes, dict[str, str] | None]:
        if account_type not in self.account_types:
            raise BadRequest(f"Unknown account type {account_type}.", "INVALID_ACCOUNT_TYPE")
        amount = _amount(payload.get("amount"), positive_only=True)
        card_id = payload.get("card_id")
        if not isinstance(card_id, str) or not card_id:
            raise BadRequest("card_id is required.")
        reason = payload.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise BadRequest("reason is required.")
        user_id = self.card_owner.get(card_id)
        if user_id is None:
            raise BadRequest(f"Card {card_id} not found.", "CARD_NOT_FOUND")
        member = self.members[user_id]
        current = member.balances[account_type]
        if operation == "burn" and amount > current:
            return (
                422,
                _error_body(
                    "INSUFFICIENT_BALANCE",
                    f"The {account_type} balance ({_money(current)}) is lower than the amount "
                    f"to debit ({_money(amount)}).",
                ),
                None,
            )
        new_balance = current + amount if operation == "mint" else current - amount
        member.balances[account_type] = new_balance
        effect = {
            "transaction_id": "ltx-" + secrets.token_hex(8),
            "operation": operation,
            "account_type": account_type,
            "user_id": user_id,
            "card_id": card_id,
            "amount": _money(amount),
            "reason": reason,
            "balance": _money(new_balance),
        }
        logger.info("sandbox %s %s %s on %s", operation, _money(amount), account_type, card_id)
        return 200, _json({"data": effect}), effect

    # --- control endpoints -------------------------------------------------------------------

    def _control(self, method: str, path: str, environ: dict[str, Any]) -> tuple[int, bytes]:
        route = (method, path.rstrip("/"))
        if route == ("POST", "/_sandbox/members"):
            return self._upsert_member(_parse_json(_read_body(environ)))
        if route == ("POST", "/_sandbox/rewards"):
            return self._reward(_parse_json(_read_body(environ)))
        if route == ("POST", "/_sandbox/faults"):
            faults = Faults.from_payload(_parse_json(_read_body(environ)))
            with self.lock:
                self.faults = faults
            return 200, _json({"data": faults.as_dict()})
        if route == ("DELETE", "/_sandbox/faults"):
            with self.lock:
                self.faults = Faults()
            return 200, _json({"data": self.faults.as_dict()})
        if route == ("GET", "/_sandbox/faults"):
            with self.lock:
                return 200, _json({"data": self.faults.as_dict()})
        if route == ("GET", "/_sandbox/effects"):
            query = parse_qs(environ.get("QUERY_STRING", ""))
            return 200, _json({"data": self.effects(query.get("idempotency_key", [None])[0])})
        if route == ("GET", "/_sandbox/state"):
            return 200, _json({"data": self.state()})
        if route == ("POST", "/_sandbox/idempotency"):
            payload = _parse_json(_read_body(environ)) or {}
            memory = payload.get("memory_seconds") if isinstance(payload, dict) else None
            if memory is not None and (isinstance(memory, bool) or not isinstance(memory, int | Decimal)
                                       or memory < 0):
                raise BadRequest("memory_seconds must be a non-negative number or null.")
            with self.lock:
                self.key_memory_seconds = None if memory is None else float(memory)
            return 200, _json({"data": {"memory_seconds": self.key_memory_seconds}})
        if route == ("POST", "/_sandbox/clock"):
            payload = _parse_json(_read_body(environ)) or {}
            seconds = payload.get("advance_seconds") if isinstance(payload, dict) else None
            if isinstance(seconds, bool) or not isinstance(seconds, int | Decimal) or seconds < 0:
                raise BadRequest("advance_seconds must be a non-negative number.")
            with self.lock:
                self.clock_offset += float(seconds)
            return 200, _json({"data": {"clock_offset_seconds": self.clock_offset}})
        if route == ("DELETE", "/_sandbox/tokens"):
            with self.lock:
                revoked = len(self.tokens)
                self.tokens.clear()
                self.rejected_tokens.clear()
                self.current_token = None
            return 200, _json({"data": {"revoked": revoked}})
        if route == ("POST", "/_sandbox/tokens/reject"):
            # What makes "fetch again after a 401" fail against Pomelo: the token is refused,
            # yet the token endpoint keeps handing it back until someone revokes it.
            with self.lock:
                now = self.clock()
                live = [t for t, expires_at in self.tokens.items() if expires_at > now]
                self.rejected_tokens.update(live)
            return 200, _json({"data": {"rejected": len(live)}})
        if route == ("POST", "/_sandbox/reset"):
            with self.lock:
                self._reset_locked()
            return 200, _json({"data": self.state()})
        raise SandboxHTTPError(404, "NOT_FOUND", f"No control endpoint {method} {path}.")

    def _upsert_member(self, payload: Any) -> tuple[int, bytes]:
        if not isinstance(payload, dict):
            raise BadRequest("The body must be a JSON object.")
        user_id = payload.get("user_id")
        if not isinstance(user_id, str) or not user_id:
            raise BadRequest("user_id is required.")
        card_ids = payload.get("card_ids", [])
        if not isinstance(card_ids, list) or not all(isinstance(c, str) and c for c in card_ids):
            raise BadRequest("card_ids must be a list of card ids.")
        balances = payload.get("balances") or {}
        if not isinstance(balances, dict):
            raise BadRequest("balances must be an object {account_type: amount}.")
        parsed_balances = {}
        for account_type, value in balances.items():
            if account_type not in self.account_types:
                raise BadRequest(f"Unknown account type {account_type}.", "INVALID_ACCOUNT_TYPE")
            parsed_balances[account_type] = _amount(value, positive_only=False)
        with self.lock:
            for card_id in card_ids:
                owner = self.card_owner.get(card_id)
                if owner is not None and owner != user_id:
                    raise SandboxHTTPError(409, "CARD_TAKEN", f"Card {card_id} belongs to {owner}.")
            member = self.members.get(user_id)
            if member is None:
                member = Member(
                    user_id=user_id,
                    card_ids=[],
                    balances={t: Decimal("0.00") for t in self.account_types},
                )
                self.members[user_id] = member
            for card_id in card_ids:
                if card_id not in member.card_ids:
                    member.card_ids.append(card_id)
                self.card_owner[card_id] = user_id
            member.balances.update(parsed_balances)
            self._save_locked()
            return 200, _json({"data": self._member_dict(member)})

    def _reward(self, payload: Any) -> tuple[int, bytes]:
        """Apply the effect of simulated card traffic (a reward, or its reversal)."""
        if not isinstance(payload, dict):
            raise BadRequest("The body must be a JSON object.")
        account_type = payload.get("account_type")
        if account_type not in self.account_types:
            raise BadRequest(f"Unknown account type {account_type}.", "INVALID_ACCOUNT_TYPE")
        amount = _amount(payload.get("amount"), positive_only=False)
        with self.lock:
            user_id = payload.get("user_id")
            if not user_id and payload.get("card_id"):
                user_id = self.card_owner.get(payload["card_id"])
            member = self.members.get(user_id) if isinstance(user_id, str) else None
            if member is None:
                raise SandboxHTTPError(404, "USER_NOT_FOUND", "Unknown user_id or card_id.")
            # Card traffic may push a balance below zero (a reversal after a burn): Pomelo is
            # the source of truth and the back office must cope with what it reports.
            member.balances[account_type] += amount
            self.rewards.append(
                {
                    "user_id": member.user_id,
                    "account_type": account_type,
                    "amount": _money(amount),
                    "balance": _money(member.balances[account_type]),
                }
            )
            self._save_locked()
            return 200, _json({"data": self._member_dict(member)})

    # --- persistence (optional) -------------------------------------------------------------

    def _save_locked(self) -> None:
        if self.state_path is None:
            return
        snapshot = {
            "members": {
                uid: {"card_ids": m.card_ids, "balances": {t: str(v) for t, v in m.balances.items()}}
                for uid, m in self.members.items()
            },
            "keys": {
                key: {"fingerprint": r.fingerprint, "status": r.status, "body": r.body.decode(),
                      "requests": r.requests, "replays": r.replays, "conflicts": r.conflicts,
                      "effects": r.effects, "stored_at": r.stored_at, "forgotten": r.forgotten}
                for key, r in self.keys.items()
            },
        }
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(snapshot))
        temporary.replace(self.state_path)

    def _load(self, path: Path) -> None:
        snapshot = json.loads(path.read_text())
        for uid, data in snapshot.get("members", {}).items():
            balances = {t: Decimal("0.00") for t in self.account_types}
            balances.update({t: Decimal(v) for t, v in data["balances"].items()})
            self.members[uid] = Member(user_id=uid, card_ids=list(data["card_ids"]), balances=balances)
            for card_id in data["card_ids"]:
                self.card_owner[card_id] = uid
        for key, data in snapshot.get("keys", {}).items():
            self.keys[key] = KeyRecord(
                fingerprint=data["fingerprint"], status=data["status"], body=data["body"].encode(),
                requests=data["requests"], replays=data["replays"], conflicts=data["conflicts"],
                effects=data["effects"], stored_at=data.get("stored_at", 0.0),
                forgotten=data.get("forgotten", 0),
            )

    # --- introspection (also used directly by tests holding the app object) ------------------

    def effects(self, idempotency_key: str | None = None) -> dict[str, Any]:
        with self.lock:
            if idempotency_key is not None:
                record = self.keys.get(idempotency_key)
                return {idempotency_key: _record_dict(record)}
            return {key: _record_dict(record) for key, record in self.keys.items()}

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "members": {uid: self._member_dict(m) for uid, m in self.members.items()},
                "account_types": list(self.account_types),
                "tokens_issued": self.tokens_issued,
                "tokens_active": len(self.tokens),
                "tokens_revoked": self.tokens_revoked,
                "tokens_rejected": len(self.rejected_tokens),
                "rewards": list(self.rewards),
                "faults": self.faults.as_dict(),
                "key_memory_seconds": self.key_memory_seconds,
                "clock_offset_seconds": self.clock_offset,
            }

    def _member_dict(self, member: Member) -> dict[str, Any]:
        return {
            "user_id": member.user_id,
            "card_ids": list(member.card_ids),
            "balances": {t: _money(member.balances[t]) for t in self.account_types},
        }


# --- helpers ---------------------------------------------------------------------------------


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise BadRequest("Invalid Content-Length.") from exc
    if length > MAX_BODY_BYTES:
        raise SandboxHTTPError(413, "PAYLOAD_TOO_LARGE", "The body is too large.")
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("The body is not valid JSON.") from exc


def _amount(value: Any, *, positive_only: bool) -> Decimal:
    """A money amount from a JSON number or string: finite, at most 2 decimals."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise BadRequest("amount must be a decimal number.", "INVALID_AMOUNT")
    try:
        amount = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation as exc:
        raise BadRequest("amount must be a decimal number.", "INVALID_AMOUNT") from exc
    if not amount.is_finite() or abs(amount) > MAX_AMOUNT:
        raise BadRequest("amount is out of range.", "INVALID_AMOUNT")
    if amount != amount.quantize(CENT):
        raise BadRequest("amount has more than 2 decimal places.", "INVALID_AMOUNT")
    if positive_only and amount <= 0:
        raise BadRequest("amount must be positive.", "INVALID_AMOUNT")
    return amount.quantize(CENT)


def _fingerprint(operation: str, account_type: str, payload: dict[str, Any]) -> str:
    # "Same body" means the same request, not the same bytes: 10.5 and 10.50 (or "10.50") are
    # one amount, and key order or spacing must not matter.
    canonical = dict(payload)
    raw_amount = canonical.get("amount")
    if not isinstance(raw_amount, bool) and isinstance(raw_amount, int | Decimal | str):
        try:
            canonical["amount"] = format(Decimal(str(raw_amount).strip()).normalize(), "f")
        except InvalidOperation:
            pass
    return json.dumps([operation, account_type, canonical], sort_keys=True, default=str)


def _money(amount: Decimal) -> str:
    return format(amount.quantize(CENT), "f")


def _json(payload: Any) -> bytes:
    return json.dumps(payload, default=str).encode("utf-8")


def _error_body(code: str, message: str) -> bytes:
    return _json({"error": {"error_code": code, "message": message}})


def _record_dict(record: KeyRecord | None) -> dict[str, Any]:
    if record is None:
        return {"count": 0, "requests": 0, "replays": 0, "conflicts": 0, "effects": []}
    return {
        "count": len(record.effects),
        "requests": record.requests,
        "replays": record.replays,
        "conflicts": record.conflicts,
        "status": record.status,
        "forgotten": record.forgotten,
        "effects": list(record.effects),
    }
