"""PII policies: for each PII type, what ingest does with a column that holds it.

The workspace has one policy; a dataset may override it for the types it names. A type
that neither names is restricted: the data lands as it is, readable only with the `pii`
permission. Policies apply when a version is published (seedbed.privacy.protect), so a
change applies to the versions published after it, never to the stored ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from seedbed.auth import audit
from seedbed.data import datasets
from seedbed.db import now_ms, upsert
from seedbed.errors import Invalid
from seedbed.privacy.detection import TYPES
from seedbed.privacy.tables import pii_policies
from seedbed.workspace import Workspace

# What each action does to a column that holds the type:
ACTIONS = {
    "block": "refuse the whole version: nothing is published",
    "drop": "leave the column out",
    "mask": "keep a masked form (the last digits, the e-mail domain, initials, the year)",
    "hash": "replace each value by a keyed hash: equal values stay equal, so joins still work",
    "tokenize": "replace each value by a token that users with the pii permission can reverse",
    "restrict": "keep the values; only users with the pii permission can read the column",
    "allow": "keep the values, readable by everyone who can read the dataset",
}
DEFAULT_ACTION = "restrict"
WORKSPACE = ""  # the dataset under which the workspace's own policy is stored


@dataclass(frozen=True)
class Rule:
    """The action for one PII type and where it comes from: dataset, workspace or default."""

    pii_type: str
    action: str
    origin: str


def check_rule(pii_type: str, action: str) -> None:
    if pii_type not in TYPES:
        raise Invalid(f"Unknown PII type {pii_type!r}; the types are: {', '.join(TYPES)}.")
    if action not in ACTIONS:
        raise Invalid(f"Unknown action {action!r}; use one of: {', '.join(ACTIONS)}.")


def _scope(dataset: str | None) -> str:
    if dataset is None:
        return WORKSPACE
    datasets.check_name(dataset)  # a dataset may have a policy before its first version
    return dataset


def _stored(workspace: Workspace, scope: str) -> dict[str, str]:
    with workspace.engine.connect() as connection:
        rows = connection.execute(
            select(pii_policies.c.pii_type, pii_policies.c.action).where(
                pii_policies.c.dataset == scope
            )
        ).all()
    return {pii_type: action for pii_type, action in rows}


def effective(workspace: Workspace, dataset: str | None = None) -> dict[str, Rule]:
    """The rule for every PII type: the dataset's own, else the workspace's, else restrict.

    A dataset's rules may be set before its first version, so they apply to that one too.
    """
    own = _stored(workspace, _scope(dataset)) if dataset is not None else {}
    shared = _stored(workspace, WORKSPACE)
    rules = {}
    for pii_type in TYPES:
        if pii_type in own:
            rules[pii_type] = Rule(pii_type, own[pii_type], "dataset")
        elif pii_type in shared:
            rules[pii_type] = Rule(pii_type, shared[pii_type], "workspace")
        else:
            rules[pii_type] = Rule(pii_type, DEFAULT_ACTION, "default")
    return rules


def set_rules(
    workspace: Workspace, rules: dict[str, str | None], dataset: str | None = None, user: str = ""
) -> dict[str, Rule]:
    """Set (or, with None, remove) the action of some types, for the workspace or a dataset.

    All the rules are checked before any is stored: a bad one changes nothing.
    """
    for pii_type, action in rules.items():
        check_rule(pii_type, action if action is not None else DEFAULT_ACTION)
    scope = _scope(dataset)
    now = now_ms()
    with workspace.engine.begin() as connection:
        for pii_type, action in sorted(rules.items()):
            if action is None:
                connection.execute(
                    pii_policies.delete().where(
                        pii_policies.c.dataset == scope, pii_policies.c.pii_type == pii_type
                    )
                )
                continue
            row = {
                "dataset": scope,
                "pii_type": pii_type,
                "action": action,
                "updated_by": user,
                "updated_at": now,
            }
            keys = ("dataset", "pii_type")
            upsert(connection, pii_policies, [row], keys, ("action", "updated_by", "updated_at"))
        audit.append(
            connection,
            user or None,
            "privacy.policy",
            dataset or "workspace",
            rules={k: v for k, v in sorted(rules.items())},
        )
    return effective(workspace, dataset)
