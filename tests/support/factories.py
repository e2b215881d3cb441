"""factory-boy factories for the models tests build directly.

Balances are never set through a factory: money reaches an account only through the services
(a notification or an adjustment), so the ledger always matches. Use `.build()` for an unsaved
instance (the policy tests need no rows)."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth.models import User
from django.utils import timezone

from accounts.models import Card, Member
from rewards.models import Adjustment


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    pomelo_user_id = factory.Sequence(lambda n: f"usr-f{n}")
    name = factory.Sequence(lambda n: f"Member {n}")


class CardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Card

    pomelo_card_id = factory.Sequence(lambda n: f"crd-f{n}")
    member = factory.SubFactory(MemberFactory)
    last_four = factory.Sequence(lambda n: f"{n % 10000:04d}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.test")
    is_staff = True


class AdjustmentFactory(factory.django.DjangoModelFactory):
    """A credit request pending approval. Saved ones skip the services: only for reads."""

    class Meta:
        model = Adjustment

    card = factory.SubFactory(CardFactory)
    member = factory.SelfAttribute("card.member")
    maker = factory.SubFactory(UserFactory)
    account_type = "points"
    direction = Adjustment.Direction.CREDIT
    amount = Decimal("10.00")
    reason_code = "goodwill"
    reason_text = "late delivery"
    state = Adjustment.State.PENDING_APPROVAL
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
