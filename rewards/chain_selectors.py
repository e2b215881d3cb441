"""Reads about the hash chains, for the admin: the last verification and the recent anchors."""

from rewards.models import ChainAnchor, ChainVerification


def chain_verification_latest() -> ChainVerification | None:
    """The last finished run of `verify_audit`."""
    return ChainVerification.objects.exclude(finished_at=None).order_by("-finished_at",
                                                                        "-id").first()


def chain_anchors_recent(*, limit: int = 5) -> list[ChainAnchor]:
    return list(ChainAnchor.objects.order_by("-created_at", "-id")[:limit])
