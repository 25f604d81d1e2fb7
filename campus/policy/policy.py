"""The policy in force, as the gateway and the CLI use it: `Policy`, `load_policy`."""

from __future__ import annotations

from collections.abc import Iterable

from extractguard import Disclosure

from ..settings import Settings
from .decision import Decision, PolicyRequest, engine_failed
from .engines import Engine, OpaEngine, RegoEngine
from .files import PolicyPaths
from .store import PolicyStore


class Policy:
    """The policy in force, as the gateway and the CLI use it."""

    def __init__(self, store: PolicyStore):
        self.store = store

    def decide(self, **asked) -> Decision:
        """`ask` with the request's fields as keywords (user, groups, project, dataset,
        columns, shape, action, now, sealed: see `PolicyRequest`)."""
        try:
            request = PolicyRequest(**{k: list(v) if k in ("groups", "columns") else v for k, v in asked.items()})
        except Exception as e:
            return engine_failed(f"the request could not be written down ({e})")
        return self.ask(request)

    def ask(self, request: PolicyRequest) -> Decision:
        """May the user run this query (or export) on the dataset? Never raises: any failure
        is a deny whose reason says so (``decision.failed``).

        The Rego decides (policies/campus/decision.rego), in this order:

        1. a malformed request is denied;
        2. a request in a project that is unknown, expired, or not the user's is denied;
        3. of the grants for the dataset that name the requester and are in force today,
           a deny grant beats every allow; otherwise the most specific decides: a grant
           naming the user beats a project grant, which beats a group grant; ties go to
           aggregates before rows, then to the first name. Only that grant's terms apply;
        4. no grant: denied (implicit deny), quoting grants that expired or start later;
        5. the deciding allow grant denies rows on an aggregates grant, identifier columns
           in aggregates mode, columns it does not show, exports it marks never, and
           anything under a rows grant on a dataset with identifiers unless the session
           is sealed;
        6. otherwise allowed, with its terms.
        """
        try:
            document = request.document()
        except Exception as e:
            return engine_failed(f"the request could not be written down ({e})")
        return self.store.decide(document)

    def decide_document(self, document: dict) -> Decision:
        """Decide on a raw input document (as the Rego sees it)."""
        return self.store.decide(document)

    def groups_of(self, user: str) -> list[str]:
        """`user`'s groups per hub/users.yaml; none for a user it does not list."""
        source = self.store.source
        return source.users.groups_of(user) if source else []

    def is_user(self, user: str) -> bool:
        """Whether hub/users.yaml lists `user` (`campus users remove` takes them out)."""
        source = self.store.source
        return bool(source) and user in source.users.users

    def may_review_exports(self, user: str, groups: Iterable[str]) -> bool:
        """Whether `user` is an export reviewer (policies' `roles:`)."""
        source = self.store.source
        return bool(source) and source.roles.export_reviewers.includes(user, list(groups))

    def member_of(self, user: str, project: str | None) -> bool:
        """Whether `user` is a member of `project` per hub/users.yaml."""
        source = self.store.source
        return bool(source and project in source.users.projects and user in source.users.projects[project].members)

    def budgets(self, dataset: str) -> list:
        """The disclosure budgets (`grants.Budget`) the policies set on `dataset`."""
        source = self.store.source
        return [b for b in source.budgets if b.dataset == dataset] if source else []

    def noise(self, dataset: str) -> tuple[float, float]:
        """The noise bounds of `dataset`'s sums: the widest that its catalog entry, any grant
        on it or any terms on it ask for. An entity's noise factor is drawn once for the
        dataset, so it is infused at one width whatever grant or terms bind a query: two
        widths of one draw would give its value and sign away."""
        source = self.store.source
        asked = [Disclosure()]
        if source is not None:
            if dataset in source.catalog:
                asked.append(source.catalog[dataset].disclosure)
            asked += [g.disclosure for g in source.grants if g.dataset == dataset and g.disclosure]
            asked += [t.disclosure for t in source.terms if t.dataset == dataset and t.disclosure]
        at_least = max(d.noise_at_least for d in asked if d.noise_at_least is not None)
        return at_least, max([at_least] + [d.noise_at_most for d in asked if d.noise_at_most is not None])

    def reload(self) -> bool:
        """Reload now, whatever the interval; True if a new policy is in force."""
        return self.store.refresh(force=True)

    @property
    def engine(self) -> str:
        return self.store.engine.name

    @property
    def last_error(self) -> str | None:
        """Why the last reload failed (None after a good one)."""
        return self.store.last_error


def make_engine(settings: Settings | None = None) -> Engine:
    """The engine the settings select (`Settings.policy_engine_in_use`; nothing loaded into it yet)."""
    settings = settings or Settings()
    if settings.policy_engine_in_use == "opa":
        return OpaEngine(settings.opa_url, timeout=settings.opa_timeout)
    return RegoEngine()


def load_policy(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    interval: float | None = None,
) -> Policy:
    """The campus's policy, loaded into the engine the settings select (embedded rego by default).

    Never raises for a bad policy: `policy.last_error` says what is wrong and every
    decision is a deny until the files are fixed.
    """
    settings = settings or Settings()
    store = PolicyStore(
        PolicyPaths.of(settings),
        engine or make_engine(settings),
        interval=settings.policy_reload_interval if interval is None else interval,
    )
    return Policy(store)
