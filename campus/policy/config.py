"""Which policy engine decides: the embedded one, or an OPA server.

Declared once, each setting from the environment as ``CAMPUS_<NAME>``:

>>> PolicyConfig().engine
'rego'
>>> PolicyConfig(opa_url="http://opa:8181").engine
'opa'
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..errors import ConfigError


class PolicyConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAMPUS_")

    policy_engine: Literal["rego", "opa"] | None = Field(
        None,
        description="rego: embedded rego-cpp (one machine); opa: the OPA server at opa_url. "
        "Default: opa when opa_url is set, else rego.",
    )
    opa_url: str | None = Field(None, description="An OPA server, e.g. http://127.0.0.1:8181 (env CAMPUS_OPA_URL).")
    opa_timeout: float = Field(2.0, gt=0, description="Seconds to wait for the OPA server per request.")
    policy_reload_interval: float = Field(
        1.0, ge=0, description="Seconds between looks at the policy files for changes (0: every decision)."
    )

    @property
    def engine(self) -> Literal["rego", "opa"]:
        """The engine in use."""
        if self.policy_engine == "opa" and not self.opa_url:
            raise ConfigError("CAMPUS_POLICY_ENGINE=opa needs CAMPUS_OPA_URL (e.g. http://127.0.0.1:8181)")
        return self.policy_engine or ("opa" if self.opa_url else "rego")
