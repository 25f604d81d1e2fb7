"""Who may do what to an export request, whatever its state (the state is `policies`).

The rules, as a steward would say them:

* a request is seen by its requester and by export reviewers; to anyone else it does
  not exist (they get "not found", so ids reveal nothing);
* only export reviewers (``roles: export_reviewers`` in the policies) review and
  release, and never their own requests; in one round of review each reviewer decides
  once, so two-reviewer mode needs two different people;
* only the requester resubmits or withdraws a returned request, and only the
  requester downloads a released one;
* the content itself (the checked table, the file) is shown to export reviewers, to
  review it, and to its requester once it is released: until then it has not left the
  campus, and a page outside the notebook is outside the campus;
* an export made within a project is made by one of its members.

Each ``check_user_…`` raises `NotPermitted` (or `RequestNotFound`) with a reason that
says who may; each ``can_…`` answers the same question as a bool, for pages.
"""

from __future__ import annotations

from campus.policy import Policy

from .errors import NotPermitted, RequestNotFound, question
from .request import ExportRequest, User

REFUSED = (NotPermitted, RequestNotFound)  # what a `can_…` answers with False
REVIEWERS = "only export reviewers (the policies' roles: export_reviewers)"


def is_reviewer(user: User, policy: Policy) -> bool:
    return policy.may_review_exports(user.name, list(user.groups))


def check_user_can_see(user: User, request: ExportRequest, policy: Policy) -> None:
    if user.name != request.requester and not is_reviewer(user, policy):
        raise RequestNotFound(f"there is no export request {request.id} that you can see")


def visible_requester(user: User, policy: Policy) -> str | None:
    """Whose requests `user` may see: everyone's (None) for a reviewer, else their own. A
    request is looked up with it, so another's request and no request answer alike."""
    return None if is_reviewer(user, policy) else user.name


def check_user_can_see_queue(user: User, policy: Policy) -> None:
    if not is_reviewer(user, policy):
        raise NotPermitted(f"{REVIEWERS} see the review queue; your own requests are under view=mine")


def check_user_can_review(user: User, request: ExportRequest, policy: Policy) -> None:
    check_user_can_see(user, request, policy)
    if user.name == request.requester:
        raise NotPermitted(f"you made export request {request.id}, so you cannot review it; another reviewer must")
    if not is_reviewer(user, policy):
        raise NotPermitted(f"{REVIEWERS} review export requests")
    if user.name in request.approvals:
        raise NotPermitted(f"you have already approved export request {request.id}; a second reviewer must approve it")


def check_user_can_release(user: User, request: ExportRequest, policy: Policy) -> None:
    check_user_can_see(user, request, policy)
    if user.name == request.requester:
        raise NotPermitted(f"you made export request {request.id}, so you cannot release it; a reviewer must")
    if not is_reviewer(user, policy):
        raise NotPermitted(f"{REVIEWERS} release export requests")


def check_user_can_resubmit(user: User, request: ExportRequest, policy: Policy) -> None:
    check_user_can_see(user, request, policy)
    if user.name != request.requester:
        raise NotPermitted(
            f"only {request.requester}, who made export request {request.id}, can resubmit or withdraw it"
        )


check_user_can_withdraw = check_user_can_resubmit


def check_user_can_download(user: User, request: ExportRequest, policy: Policy) -> None:
    check_user_can_see(user, request, policy)
    if user.name != request.requester:
        raise NotPermitted(f"only {request.requester}, who made export request {request.id}, can download it")


def check_user_can_look_at(user: User, request: ExportRequest, policy: Policy) -> None:
    """May `user` see the content (the review page's table, a file's preview)?"""
    check_user_can_see(user, request, policy)
    if user.name != request.requester and is_reviewer(user, policy):
        return
    if user.name == request.requester and str(request.status) == "released":
        return
    raise NotPermitted(
        f"the content of export request {request.id} is shown to reviewers, and to {request.requester} once it "
        "is released; until then it stays in the campus (your notebook has the result)"
    )


def check_user_in_project(user: User, project: str | None, policy: Policy) -> None:
    if project is None:
        return
    source = policy.store.source
    known = source.users.projects if source else {}
    if project not in known:
        raise NotPermitted(f"there is no project {project!r}; export without a project or name one of yours")
    if user.name not in known[project].members:
        raise NotPermitted(f"you are not a member of project {project}; ask a campus admin to add you")


can_see = question(check_user_can_see, *REFUSED)
can_see_queue = question(check_user_can_see_queue, *REFUSED)
can_review = question(check_user_can_review, *REFUSED)
can_release = question(check_user_can_release, *REFUSED)
can_resubmit = question(check_user_can_resubmit, *REFUSED)
can_withdraw = question(check_user_can_withdraw, *REFUSED)
can_download = question(check_user_can_download, *REFUSED)
can_look_at = question(check_user_can_look_at, *REFUSED)
