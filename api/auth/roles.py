"""Who may do what: the five roles and the permission sets routes declare."""
from __future__ import annotations

from vigil.db.models import ROLES

OPERATOR, REVIEWER, OFFICER, DATA_STAFF, ADMIN = ROLES

# admin is added to every set by `Allow`; these name the other roles that may use an area.
WALL = frozenset({OPERATOR, REVIEWER, OFFICER})      # live wall, cameras, alerts (read), evidence
REVIEW = frozenset({REVIEWER})                        # confirm / reject / correct, labels
LEADS = frozenset({OFFICER})                          # leads, status, notes, packages
LEAD_WORKFLOW = frozenset({OFFICER, REVIEWER})        # a lead's page and workflow steps (the table limits each step)
MODELS = frozenset({DATA_STAFF})                      # datasets, training, model registry
ADMIN_ONLY = frozenset()                              # users, tokens of others, config
EVERYONE = frozenset(ROLES)                           # own account, sites and grades, live events


def check_role(role: str) -> str:
    """The role if known; a clear error otherwise."""
    if role not in ROLES:
        raise ValueError(f"expected a role among {', '.join(ROLES)}, found {role!r}")
    return role
