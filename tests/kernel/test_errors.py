"""Every error whose message staff read shares one base, so pages show it and nothing else."""

import pytest

from accounts.services import UnknownAccountType
from kernel.errors import BackofficeError
from rewards.services.adjustments import AdjustmentError
from staff.policies import UserManagementError


@pytest.mark.parametrize("error", [AdjustmentError, UserManagementError, UnknownAccountType])
def test_staff_readable_errors_are_backoffice_errors(error):
    assert issubclass(error, BackofficeError)
    assert not issubclass(error, ValueError)  # never caught by a parser's `except ValueError`
    assert error("Adjustment #3 is rejected.").message == "Adjustment #3 is rejected."
