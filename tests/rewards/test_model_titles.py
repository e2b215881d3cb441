"""The titles and breadcrumbs of the records: whole messages with the choices' labels, in the
language active when they are shown (a language without a catalogue reads the English)."""

import pytest
from django.utils import translation

from accounts.models import Member
from kernel.account_types import account_type_name
from kernel.roles import role_label
from tests.support.adjustments import approve, request

pytestmark = pytest.mark.django_db


def test_an_adjustment_reads_its_direction_account_and_state_labels_not_codes(people, member):
    adjustment = request(people, member, direction="debit", amount="30.00")
    with translation.override("de"):
        assert str(adjustment) == f"#{adjustment.pk} Debit (burn) 30.00 Points · Pending approval"
    approval = approve(adjustment, people["approver"]).approvals.get()
    with translation.override("de"):
        assert str(approval) == f"approver approved #{adjustment.pk}"


def test_a_member_without_a_name_is_named_so():
    member = Member.objects.create(pomelo_user_id="usr-9", name="")
    with translation.override("de"):
        assert str(member) == "(no name) · usr-9"


def test_known_account_types_and_roles_have_labels_others_show_as_stored():
    with translation.override("de"):
        assert [account_type_name(t) for t in ("points", "cashback", "miles", "stars")] == [
            "Points", "Cashback", "Miles", "stars"]
        assert [role_label(r) for r in ("Finance auditor", "Operators")] == [
            "Finance auditor", "Operators"]
