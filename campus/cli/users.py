"""`campus users`, `campus groups`, `campus projects`: the admins' provisioning commands.

    campus users add alice -g researchers     add a user (or groups to one)
    campus users password alice [--generate]  set their password (campus accounts)
    campus users remove alice                 remove a user (from every group and project)
    campus users list                         who is on the campus, and whether the hub agrees
    campus users sync [hub/users.yaml]        make the hub match the file
    campus groups add analysts -m alice       put users in a group
    campus groups remove analysts [-m alice]  take users (or everyone) out of a group
    campus groups list | members analysts
    campus projects add jongno-air -m alice --expires 2027-06-30
    campus projects members jongno-air [--add bob] [--remove alice]
    campus projects expire jongno-air [--on 2027-01-31]    (without --on: ended yesterday)
    campus projects remove jongno-air | list

Every change is written to ``hub/users.yaml`` first (comments kept, validated, and
checked against the grants that name projects) — the file is what the policy reads —
then applied to the running hub through its REST API (``CAMPUS_HUB_API_URL`` and the
admin token, see `campus.settings.HubSettings`). ``--file-only`` skips the hub; if the
hub does not answer, the file is still changed and the error says to run
``campus users sync`` once it is up.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import typer
from rich.console import Console

from ..errors import CampusError, ConfigError
from . import audited
from .tables import whole
from ..hub import project_group
from ..hub.api import HubAdmin, plan
from ..hub.passwords import Passwords
from ..hub.users import UsersFile, desired
from ..settings import HubSettings

users_app = typer.Typer(help="Campus users: add, remove, list, and sync hub/users.yaml to the hub.",
                        no_args_is_help=True)
groups_app = typer.Typer(help="Groups (the policy grants to groups): membership.", no_args_is_help=True)
projects_app = typer.Typer(help="Projects: members and expiry (a project's grants end with it).", no_args_is_help=True)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

FILE_ONLY = typer.Option(False, "--file-only",
                         help="Change hub/users.yaml only; apply it later with campus users sync.")


def mount(app: typer.Typer) -> None:
    """Attach `users`, `groups` and `projects` to the campus command line."""
    app.add_typer(users_app, name="users")
    app.add_typer(groups_app, name="groups")
    app.add_typer(projects_app, name="projects")


# --------------------------------------------------------------------------- helpers


def _settings() -> HubSettings:
    return HubSettings()


def _open(path: Path | None = None) -> UsersFile:
    return UsersFile(path or _settings().users_path)


def _save(users: UsersFile) -> None:
    """Check the grants still hold with the new file, then write it."""
    model = users.model_now()
    problems = _grant_problems(users.path, model)
    if problems:
        raise ConfigError("hub/users.yaml was not changed: the grants would no longer be valid:\n"
                          + "\n".join(problems) + "\nchange or remove those grants first (policies/*.yaml)")
    users.save()


def _grant_problems(path: Path, model) -> list[str]:
    """The grant files' errors against `model` (grants name projects), if the policy is next to the file."""
    from ..policy import files
    from ..settings import Settings

    settings = Settings()
    paths = files.PolicyPaths.of(settings)
    if path.resolve() != paths.users.resolve() or not paths.policies.is_dir() or not paths.catalog.exists():
        return []
    from ..catalog import load as load_catalog

    return files.read_grant_files(paths, load_catalog(paths.catalog), model).problems


def _apply(users: UsersFile, *, remove_users: tuple[str, ...] = (), remove_groups: tuple[str, ...] = (),
           file_only: bool = False) -> None:
    """Bring the hub in line with the (saved) file: add and update what it lists, remove what the command removed."""
    if remove_users and _passwords().path.exists():
        _passwords().remove(*remove_users)
    if file_only:
        err.print(f"{users.path} is changed; the hub is not (--file-only): run campus users sync to apply it")
        return
    try:
        with HubAdmin.from_settings(_settings()) as hub:
            for name in remove_users:
                hub.remove_user(name)
            for group in remove_groups:
                hub.remove_group(group)
            state = hub.state()
            steps = plan(desired(users.model), state, keep_others=True)
            hub.apply(steps, state)
    except CampusError as e:  # the hub is down, or refused a step
        raise type(e)(f"{users.path} is changed, but the hub is not (or only in part): {e.reason}; "
                      "then run campus users sync") from None
    for step in steps:
        err.print(f"hub: {step}")


def _passwords() -> Passwords:
    return Passwords(_settings().password_file)


def _date(text: str, option: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date: write it as YYYY-MM-DD", param_hint=option) from None


def _names(values: list[str] | None) -> list[str]:
    """Repeated options, each possibly comma-separated."""
    return [n.strip() for value in values or [] for n in value.split(",") if n.strip()]


def _hub_state():
    """The hub's users and groups, or None (with a note) if it does not answer."""
    try:
        with HubAdmin.from_settings(_settings()) as hub:
            return hub.state()
    except CampusError as e:
        err.print(f"[yellow]note[/yellow]: not comparing with the hub: {e.reason}")
        return None


# --------------------------------------------------------------------------- users


@users_app.command("add")
def add_user(
    name: str = typer.Argument(..., help="The name they sign in with (lower-case letters, digits, . _ -)."),
    groups: list[str] = typer.Option(None, "--group", "-g", help="A group to put them in (repeat, or a,b)."),
    full_name: str = typer.Option(None, "--full-name", help="Their full name."),
    email: str = typer.Option(None, "--email", help="Their e-mail address."),
    file_only: bool = FILE_ONLY,
) -> None:
    """Add a user (or add groups to an existing one) to users.yaml and the hub."""
    users = _open()
    new = users.add_user(name, _names(groups), full_name=full_name, email=email)
    _save(users)
    audited("user_added" if new else "user_changed", user=name, groups=users.model.groups_of(name))
    out.print(f"{'added' if new else 'updated'} {name}: groups {', '.join(users.model.groups_of(name)) or '(none)'}")
    _apply(users, file_only=file_only)
    if not users.model.groups_of(name):
        err.print(f"[yellow]note[/yellow]: {name} is in no group, so no grant applies to them: "
                  f"campus groups add GROUP -m {name}")
    if _settings().auth == "native" and name not in _passwords().names():
        err.print(f"[yellow]note[/yellow]: {name} has no password yet: campus users password {name} [--generate]")


@users_app.command("password")
def set_password(
    name: str = typer.Argument(..., help="The user."),
    generate: bool = typer.Option(False, "--generate", help="Make a strong password and print it once."),
) -> None:
    """Set a campus account's password (CAMPUS_HUB_AUTH=native); asks for it unless --generate."""
    if name not in _open().model.users:
        raise ConfigError(f"{name} is not a user in users.yaml; add them first: campus users add {name} -g GROUP")
    if generate:
        password = _passwords().generate(name)
    else:
        password = typer.prompt(f"new password for {name}", hide_input=True, confirmation_prompt=True)
        _passwords().set(name, password)
    audited("password_set", user=name, generated=generate)
    if generate:
        out.print(password, markup=False)
        err.print(f"the password of {name} is set; it is shown only this once: give it to them in person")
    else:
        err.print(f"the password of {name} is set")


@users_app.command("remove")
def remove_user(name: str = typer.Argument(..., help="The user to remove."), file_only: bool = FILE_ONLY) -> None:
    """Remove a user from users.yaml (groups and projects too) and from the hub (their server is stopped)."""
    users = _open()
    projects = users.remove_user(name)
    _save(users)
    audited("user_removed", user=name, projects=projects)
    left = f" and from projects {', '.join(projects)}" if projects else ""
    out.print(f"removed {name}{left}")
    _apply(users, remove_users=(name,), file_only=file_only)


@users_app.command("list")
def list_users() -> None:
    """Every user in users.yaml: groups, projects, and what the hub holds (if it answers)."""
    model = _open().model
    hub = _hub_state()
    today = datetime.date.today()
    table = whole("user", "full name", "groups", "projects", *(["hub"] if hub else []), keep=("user",))
    for name, user in model.users.items():
        projects = [p + ("" if proj.expires >= today else " (expired)")
                    for p, proj in model.projects.items() if name in proj.members]
        row = [name, user.full_name or "", ", ".join(user.groups), ", ".join(projects)]
        if hub:
            row.append(("admin" if hub.users[name] else "yes") if name in hub.users else "[red]missing[/red]")
        table.add_row(*row)
    for name in sorted(set(hub.users) - set(model.users)) if hub else []:
        table.add_row(name, "", "", "", "[yellow]not in users.yaml[/yellow]")
    out.print(table)
    if hub and set(hub.users) ^ set(model.users):
        err.print("the hub and users.yaml differ: campus users sync makes the hub match the file")


@users_app.command("sync")
def sync(
    path: Path = typer.Argument(None, help="The provisioning file [default: hub/users.yaml of the campus]."),
    keep_others: bool = typer.Option(None, "--keep-others/--remove-others", show_default=False,
                                     help="Keep or remove hub users and groups the file does not list [default: "
                                          "remove with campus accounts, keep with campus SSO, whose provider owns "
                                          "groups]; the project: groups always follow the file."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the changes, make none."),
) -> None:
    """Make the hub's users, admins and groups match users.yaml; expired projects lose their hub group."""
    if keep_others is None:
        keep_others = _settings().auth == "oidc"
    users = _open(path)
    with HubAdmin.from_settings(_settings()) as hub:
        steps = hub.sync(users.model, keep_others=keep_others, dry_run=dry_run)
    passwords = _passwords()
    if not keep_others and passwords.path.exists():  # accounts of users no longer in the file
        stale = sorted(passwords.names() - set(users.model.users))
        if stale and not dry_run:
            passwords.remove(*stale)
        for name in stale:
            out.print(("would " if dry_run else "") + f"remove the password of {name}")
    for step in steps:
        out.print(("would " if dry_run else "") + str(step))
    if steps and not dry_run:
        audited("users_synced", changes=[str(step) for step in steps])
    out.print(f"the hub {'would need' if dry_run else 'needed'} {len(steps)} change(s) to match {users.path}"
              if steps else f"the hub matches {users.path}")


@users_app.command("limits")
def session_limits(
    name: str = typer.Argument(None, help="Show this user's limits [default: everyone's]."),
    group: str = typer.Option(None, "--group", help="Set the limits of this group's members."),
    project: str = typer.Option(None, "--project", help="Set the limits of this project's members."),
    memory: str = typer.Option(None, "--memory", help="Memory of a session, e.g. 8G ('default': the hub's)."),
    cpus: str = typer.Option(None, "--cpus", help="CPU cores of a session, e.g. 1.5 ('default': the hub's)."),
    processes: str = typer.Option(None, "--processes", help="Processes of a session ('default': the hub's)."),
    home: str = typer.Option(None, "--home", help="Size of a home, e.g. 20G ('default': the hub's)."),
) -> None:
    """What each user's sessions may use; with --group or --project, set those members' limits.

    A user gets, per resource, the largest their groups and running projects give, else
    the hub's default (CAMPUS_SANDBOX_*). A change applies from their next server start."""
    users = _open()
    if group or project:
        given = {"memory": memory, "cpus": _number(cpus, float, "--cpus"),
                 "processes": _number(processes, int, "--processes"), "home": home}
        users.set_limits(group=group, project=project, **given)
        _save(users)
        audited("limits_set", group=group, project=project,
                limits={k: v for k, v in given.items() if v is not None})
        err.print("set; it applies from each member's next server start (campus users limits shows the result)")
    elif any(v is not None for v in (memory, cpus, processes, home)):
        raise typer.BadParameter("say whose limits to set: --group GROUP or --project PROJECT")
    table = whole("user", "memory", "cpus", "processes", "home", right=("memory", "cpus", "processes", "home"),
                  keep=("user",))
    for user, limits in _limits(users.model, [name] if name else list(users.model.users)):
        table.add_row(user, _size(limits.memory), f"{limits.cpus:g}", str(limits.processes), _size(limits.home))
    out.print(table)


def _limits(model, names: list[str]):
    """(user, their `SessionLimits`) for each of `names`."""
    from ..hub.limits import SessionLimits, limits_of

    defaults = SessionLimits.defaults()
    for name in names:
        if name not in model.users:
            raise ConfigError(f"{name} is not a user in users.yaml: campus users list shows who is")
        yield name, limits_of(name, model, defaults)


def _size(n: int) -> str:
    from ..hub.kernel import size
    return size(n)


def _number(text: str | None, kind: type, option: str):
    """`text` as a number of `kind`; None and "default" pass through."""
    if text is None or text == "default":
        return text
    try:
        return kind(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a number", param_hint=option) from None


# --------------------------------------------------------------------------- groups


@groups_app.command("add")
def add_group(
    group: str = typer.Argument(..., help="The group (created if new)."),
    members: list[str] = typer.Option(..., "--member", "-m", help="A user to put in it (repeat, or a,b)."),
    file_only: bool = FILE_ONLY,
) -> None:
    """Put users in a group (a group exists in users.yaml through its members)."""
    users = _open()
    new = group not in users.groups()
    users.add_to_group(group, _names(members))
    _save(users)
    audited("group_joined", group=group, users=_names(members))
    out.print(f"group {group}: {', '.join(users.model.members_of(group))}")
    _apply(users, file_only=file_only)
    if new:
        err.print(f"[yellow]note[/yellow]: {group} is a new group: restart the hub so its members get the role that "
                  "lets notebooks use the data service (members of other campus groups have it already), and add "
                  "grants for it in policies/")


@groups_app.command("remove")
def remove_group(
    group: str = typer.Argument(..., help="The group."),
    members: list[str] = typer.Option(None, "--member", "-m", help="Only take these users out (repeat, or a,b) "
                                      "[default: everyone: the group is removed]."),
    file_only: bool = FILE_ONLY,
) -> None:
    """Take users (or everyone) out of a group."""
    users = _open()
    removed = users.remove_from_group(group, _names(members) or None)
    _save(users)
    audited("group_left", group=group, users=removed)
    gone = group not in users.groups()
    out.print(f"took {', '.join(removed)} out of {group}" + ("; the group is gone" if gone else ""))
    _apply(users, remove_groups=(group,) if gone else (), file_only=file_only)


@groups_app.command("list")
def list_groups() -> None:
    """Every group in users.yaml with its members, and the projects' hub groups."""
    users = _open()
    table = whole("group", "members", keep=("group",))
    for group, members in users.groups().items():
        table.add_row(group, ", ".join(members))
    for name, members in desired(users.model).groups.items():
        if name.startswith("project:"):
            table.add_row(name, ", ".join(sorted(members)))
    out.print(table)


@groups_app.command("members")
def group_members(group: str = typer.Argument(..., help="The group.")) -> None:
    """The members of a group, one a line."""
    members = _open().groups().get(group)
    if members is None:
        raise ConfigError(f"no user is in group {group!r}: campus groups list shows the groups")
    for member in members:
        out.print(member)


# --------------------------------------------------------------------------- projects


@projects_app.command("add")
def add_project(
    name: str = typer.Argument(..., help="The project."),
    members: list[str] = typer.Option(..., "--member", "-m", help="A member (repeat, or a,b)."),
    expires: str = typer.Option(..., "--expires", help="The last day the project runs (YYYY-MM-DD, inclusive)."),
    description: str = typer.Option(None, "--description", help="What the project is for."),
    file_only: bool = FILE_ONLY,
) -> None:
    """Create a project; its members get the hub group project:<name> until it expires."""
    users = _open()
    users.add_project(name, _names(members), _date(expires, "--expires"), description)
    _save(users)
    audited("project_added", project=name, members=_names(members), expires=expires)
    out.print(f"project {name}: {', '.join(users.model.projects[name].members)} until {expires}")
    _apply(users, file_only=file_only)


@projects_app.command("remove")
def remove_project(name: str = typer.Argument(..., help="The project."), file_only: bool = FILE_ONLY) -> None:
    """Remove a project (its grants must go first: they name it)."""
    users = _open()
    users.remove_project(name)
    _save(users)
    audited("project_removed", project=name)
    out.print(f"removed project {name}")
    _apply(users, remove_groups=(project_group(name),), file_only=file_only)


@projects_app.command("list")
def list_projects() -> None:
    """Every project: members, last day, and whether it still runs."""
    model = _open().model
    today = datetime.date.today()
    table = whole("project", "members", "expires", "status", keep=("project",))
    for name, project in model.projects.items():
        days = (project.expires - today).days
        status = f"[red]expired {-days} day(s) ago[/red]" if days < 0 else f"runs {days + 1} more day(s)"
        table.add_row(name, ", ".join(project.members), project.expires.isoformat(), status)
    out.print(table)


@projects_app.command("members")
def project_members(
    name: str = typer.Argument(..., help="The project."),
    add: list[str] = typer.Option(None, "--add", help="Add a member (repeat, or a,b)."),
    remove: list[str] = typer.Option(None, "--remove", help="Take a member out (repeat, or a,b)."),
    file_only: bool = FILE_ONLY,
) -> None:
    """The members of a project, one a line; --add / --remove change them."""
    users = _open()
    if add or remove:
        users.change_members(name, _names(add), _names(remove))
        _save(users)
        audited("project_members", project=name, added=_names(add), removed=_names(remove))
        _apply(users, file_only=file_only)
    else:
        users.require_project(name)
    for member in users.model_now().projects[name].members:
        out.print(member)


@projects_app.command("expire")
def expire_project(
    name: str = typer.Argument(..., help="The project."),
    on: str = typer.Option(None, "--on", help="Its new last day (YYYY-MM-DD) [default: yesterday: it ends now]."),
    file_only: bool = FILE_ONLY,
) -> None:
    """Set a project's last day; without --on it ends now: its members lose its grants at once."""
    users = _open()
    last = _date(on, "--on") if on else datetime.date.today() - datetime.timedelta(days=1)
    users.set_expiry(name, last)
    _save(users)
    audited("project_expiry", project=name, expires=last.isoformat())
    ended = last < datetime.date.today()
    out.print(f"project {name} {'ended' if ended else 'runs until'} {last.isoformat()}"
              + (": its grants no longer apply" if ended else ""))
    _apply(users, file_only=file_only)
