"""Who is on the campus: the admins' provisioning file, ``hub/users.yaml``.

Admins list the users (with their groups) and the projects (with their members and
the day they expire). The policy reads group membership and projects from here; the
admin command line builds on the same model.

>>> users = Provisioning.model_validate({
...     "users": {"alice": {"groups": ["researchers"]}},
...     "projects": {"gangnam-retail": {"members": ["alice"], "expires": "2027-06-30"}},
... })
>>> users.groups_of("alice"), users.groups_of("mallory")
(['researchers'], [])
>>> users.projects["gangnam-retail"].expires
datetime.date(2027, 6, 30)
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ByteSize, ConfigDict, Field, ValidationInfo, field_validator

from . import yamlfile

NAME = re.compile(r"^[a-z][a-z0-9_.-]*$")


def _is_name(name: str) -> str:
    if not NAME.match(name):
        raise ValueError(f"{name!r} is not a name: use lower-case letters, digits, '.', '_' or '-'")
    return name


Name = Annotated[str, AfterValidator(_is_name)]


class User(BaseModel):
    """A campus user: the name they sign in with, and their groups."""

    model_config = ConfigDict(extra="forbid")

    full_name: str | None = None
    email: str | None = None
    groups: list[str] = Field(
        default_factory=list, description="Groups the user belongs to (researchers, stewards, admins, ...)."
    )


class Limits(BaseModel):
    """What a group's or a project's sealed sessions may use; unset: the hub's default."""

    model_config = ConfigDict(extra="forbid")

    memory: ByteSize | None = Field(None, description="Memory of the whole session: server, kernels and what they "
                                                      "start (e.g. 8G, 8GiB).")
    cpus: float | None = Field(None, gt=0, le=256, description="CPU cores the session may use at once (e.g. 1.5).")
    processes: int | None = Field(None, ge=32, description="Processes and threads the session may run at once.")
    home: ByteSize | None = Field(None, description="Size of the researcher's home (e.g. 20G).")

    @field_validator("memory", "home")
    @classmethod
    def _at_least_64m(cls, size: ByteSize | None) -> ByteSize | None:
        if size is not None and size < 64 * 2**20:
            raise ValueError(f"{size.human_readable()} is too small for a notebook session: give at least 64MiB")
        return size


class Project(BaseModel):
    """A project: who works in it, and the last day it runs."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    members: list[str] = Field(description="User names of the project's members.")
    expires: datetime.date = Field(description="The last day the project's grants apply (inclusive).")
    limits: Limits | None = Field(None, description="What its members' sessions may use (the largest of their "
                                                    "groups' and projects' limits applies).")


class Provisioning(BaseModel):
    """The whole provisioning file: users by name, projects by name."""

    model_config = ConfigDict(extra="forbid")

    users: dict[Name, User] = Field(default_factory=dict)
    projects: dict[Name, Project] = Field(default_factory=dict)
    limits: dict[Name, Limits] = Field(default_factory=dict, description="Group name -> what its members' sessions "
                                                                         "may use (the hub's defaults otherwise).")

    @field_validator("projects")
    @classmethod
    def _members_are_users(cls, projects: dict[str, Project], info: ValidationInfo) -> dict[str, Project]:
        users = info.data.get("users", {})
        for name, project in projects.items():
            strangers = [m for m in project.members if m not in users]
            if strangers:
                raise ValueError(
                    f"project {name} lists members who are not users: {', '.join(strangers)}; add them under users"
                )
        return projects

    def groups_of(self, user: str) -> list[str]:
        """The groups `user` belongs to; none for a user the file does not list."""
        found = self.users.get(user)
        return list(found.groups) if found else []

    def members_of(self, group: str) -> list[str]:
        """The users in `group`, in file order."""
        return [name for name, user in self.users.items() if group in user.groups]


def load(path: Path) -> Provisioning:
    """Read and validate a provisioning file (``hub/users.yaml``)."""
    return yamlfile.load(path, Provisioning)
