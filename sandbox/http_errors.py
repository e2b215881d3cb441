"""The stand-in's error answers, and the connection it drops on purpose."""


class DropConnection(Exception):
    """Raised by the app to close the connection without writing any response."""


class SandboxHTTPError(Exception):
    """An error answer from the stand-in: HTTP status, error_code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class BadRequest(SandboxHTTPError):
    def __init__(self, message: str, code: str = "INVALID_REQUEST") -> None:
        super().__init__(400, code, message)
