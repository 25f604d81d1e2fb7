"""The campus's errors: each says what went wrong and what to do next."""


class CampusError(Exception):
    """Base of every error the campus raises on purpose.

    `reason` is the sentence a researcher, steward or admin reads; it says what to
    do next. `code` names the error for programs, and `http_status` is its status
    wherever it crosses HTTP (the data service, the airlock).
    """

    code = "campus_error"
    http_status = 500

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ConfigError(CampusError):
    """A steward- or admin-written file (catalog, grants, users) is invalid."""

    code = "invalid_config"


class DataMissing(CampusError):
    """A dataset's files are not where the catalog says."""

    code = "data_missing"
    http_status = 503


class Denied(CampusError):
    """The policy said no."""

    code = "denied"
    http_status = 403


class QueryRejected(CampusError):
    """The SQL is unsafe or not supported by the gateway."""

    code = "query_rejected"
    http_status = 400


class QueryTimeout(CampusError):
    """The query ran past the time limit and was cancelled."""

    code = "query_timeout"
    http_status = 504


class GatewayFailure(CampusError):
    """Something inside the campus failed; the query was refused rather than risked."""

    code = "gateway_failure"


class BuildError(CampusError):
    """The demo data cannot be built as asked; the reason says what to change."""

    code = "build_failed"
