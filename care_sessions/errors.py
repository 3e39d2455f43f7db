"""The domain's exception tree; the edges translate these to HTTP statuses and error codes."""


class CareSessionError(Exception):
    """Root of every error the domain raises on purpose."""

    code = "invalid_state"


class NotFound(CareSessionError):
    code = "not_found"


class Forbidden(CareSessionError):
    code = "forbidden"


class InvalidState(CareSessionError):
    code = "invalid_state"


class Busy(CareSessionError):
    code = "busy"


class Offline(CareSessionError):
    code = "offline"


class AuthenticationFailed(CareSessionError):
    code = "not_authenticated"


class PairingFailed(CareSessionError):
    code = "pairing_failed"


class InvalidInput(CareSessionError):
    code = "bad_message"
