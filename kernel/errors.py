"""The base of every error whose message staff may read.

A service raises a subclass of `BackofficeError` when a request breaks a rule (an adjustment
that may not be approved, a staff account that may not be changed...). Its message is written
for the person who asked and the admin pages show it as it is; anything else that escapes a
service is a bug and gets the server's error page.
"""


class BackofficeError(Exception):
    """A refusal to show to staff as it is: the message says what was wrong and what to do."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""
