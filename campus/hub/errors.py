"""The hub's errors: each says what was refused and what to do next."""

from __future__ import annotations

from ..errors import CampusError


class HubRefused(CampusError):
    """The hub answered, and said no."""

    code = "hub_refused"


class SandboxUnavailable(CampusError):
    """The sandbox cannot be set up safely, so the server does not start."""

    code = "sandbox_unavailable"
