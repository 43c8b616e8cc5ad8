"""PII policies applied at ingest: block, drop, mask, hash, tokenize, restrict and allow,
per workspace and per dataset; restricted columns withheld from readers without `pii`,
reads by those with it audited (SQLite and PostgreSQL for the services)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from tests.auth_sessions import token_for

from seedbed.auth import audit
from seedbed.auth.users import create_user
from seedbed.data import datasets
from seedbed.data.tables import dataset_versions
from seedbed.errors import Invalid
from seedbed.privacy import policies, scans, vault
from seedbed.privacy.tables import pii_tokens
from seedbed.workspace import Workspace

ROWS = 40
PEOPLE = {
    "id": list(range(ROWS)),
    "email": [f"User{i}@Example.org" for i in range(ROWS)],
    "card": ["4111 1111 1111 1111" if i % 2 else "5500 0000 0000 0004" for i in range(ROWS)],
    "ip": [f"10.1.{i}.7" for i in range(ROWS)],
    "amount": [i * 1.5 for i in range(ROWS)],
}


def write(tmp_path: Path, columns: dict[str, list[object]], name: str = "in") -> Path:
    path = tmp_path / f"{name}.parquet"
    pq.write_table(pa.table(columns), path)
    return path


def publish(
    workspace: Workspace,
    tmp_path: Path,
    name: str,
    columns: dict[str, list[object]] | None = None,
    **options: object,
) -> datasets.DatasetVersion:
    path = write(tmp_path, columns or PEOPLE, name)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    version, _ = datasets.publish_parquet(
        workspace,
        name,
        path,
        digest,
        "upload",
        **options,  # type: ignore[arg-type]
    )
    return version


def stored_rows(workspace: Workspace, version: datasets.DatasetVersion) -> dict[str, list[object]]:
    with datasets.local_parquet(workspace, version) as path:
        return pq.read_table(path).to_pydict()


def test_by_default_pii_columns_land_as_they_are_but_restricted(
    workspace: Workspace, tmp_path: Path
) -> None:
    version = publish(workspace, tmp_path, "people")
    assert [c.name for c in version.columns] == list(PEOPLE)
    assert stored_rows(workspace, version)["email"] == PEOPLE["email"]
    scan = scans.get_scan(workspace, version)
    assert scan.actions == {"email": "restrict", "card": "restrict", "ip": "restrict"}
    assert scan.restricted_columns == ["email", "card", "ip"]
    rules = policies.effective(workspace, "people")
    assert rules["email"].action == "restrict" and rules["email"].origin == "default"


def test_mask_hash_tokenize_and_drop_change_the_data_before_it_lands(
    workspace: Workspace, tmp_path: Path
) -> None:
    policies.set_rules(
        workspace, {"email": "hash", "payment_card": "mask", "ip_address": "drop"}, user="ada"
    )
    version = publish(workspace, tmp_path, "people")
    assert [c.name for c in version.columns] == ["id", "email", "card", "amount"]
    rows = stored_rows(workspace, version)
    assert rows["card"][:2] == [
        "5500 0000 0000 0004".replace("5500 0000 0000", "**** **** ****"),
        "**** **** **** 1111",
    ]
    assert all(h.startswith("h_") and len(h) == 34 for h in rows["email"])
    assert len(set(rows["email"])) == ROWS  # distinct values stay distinct
    raw = Path(workspace.artifacts.local_path(version.path) or "").read_bytes()
    assert b"Example.org" not in raw and b"4111" not in raw[:0] + raw.replace(b"1111", b"")
    scan = scans.get_scan(workspace, version)
    assert scan.actions == {"email": "hash", "card": "mask", "ip": "drop"}
    assert scan.dropped_columns == ["ip"] and scan.restricted_columns == []
    # keyed: equal values hash equal in another dataset (case and spaces aside), so they join
    other = publish(
        workspace, tmp_path, "orders", {"buyer": [" user3@example.ORG", "user5@example.org"]}
    )
    assert stored_rows(workspace, other)["buyer"] == [rows["email"][3], rows["email"][5]]
    # ...and not the bare SHA-256 of the value, which anyone could compute
    assert rows["email"][3][2:] != hashlib.sha256(b"user3@example.org").hexdigest()[:32]


def test_tokens_turn_back_into_values_only_for_pii_users(
    workspace: Workspace, tmp_path: Path
) -> None:
    policies.set_rules(workspace, {"email": "tokenize"})
    version = publish(workspace, tmp_path, "people")
    tokens = stored_rows(workspace, version)["email"]
    assert all(t.startswith("tok_") for t in tokens) and len(set(tokens)) == ROWS
    with workspace.engine.connect() as connection:
        assert len(connection.execute(select(pii_tokens)).all()) == ROWS
    owner = create_user(workspace, "olga", role="viewer", pii=True)
    found = vault.detokenize(workspace, owner, [tokens[7], "tok_unknown"])
    assert found == {tokens[7]: PEOPLE["email"][7], "tok_unknown": None}
    plain = create_user(workspace, "pete", role="editor")
    with pytest.raises(Exception, match="pii permission"):
        vault.detokenize(workspace, plain, [tokens[7]])
    assert [e.action for e in audit.recent(workspace, 1000)].count("privacy.detokenize") == 1


def test_block_refuses_the_version_and_leaves_nothing(workspace: Workspace, tmp_path: Path) -> None:
    publish(workspace, tmp_path, "people")  # v1 under the default policy
    policies.set_rules(workspace, {"payment_card": "block"}, dataset="people")
    with pytest.raises(Invalid, match="column 'card' holds payment_card"):
        publish(workspace, tmp_path, "people", {**PEOPLE, "amount": [0.0] * ROWS})
    assert [v.version for v in datasets.get_dataset(workspace, "people").versions] == [1]
    # the dataset's rule wins only for that dataset
    assert policies.effective(workspace)["payment_card"].action == "restrict"
    assert policies.effective(workspace, "people")["payment_card"].origin == "dataset"
    policies.set_rules(workspace, {"payment_card": None}, dataset="people")
    assert policies.effective(workspace, "people")["payment_card"].origin == "default"


def test_a_policy_that_drops_every_column_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    policies.set_rules(workspace, {"email": "drop"})
    with pytest.raises(Invalid, match="drops every column"):
        publish(workspace, tmp_path, "only", {"email": PEOPLE["email"]})
    with workspace.engine.connect() as connection:
        assert connection.execute(select(dataset_versions)).all() == []


def test_bad_rules_change_nothing(workspace: Workspace) -> None:
    with pytest.raises(Invalid, match="Unknown action 'shred'"):
        policies.set_rules(workspace, {"email": "mask", "phone": "shred"})
    with pytest.raises(Invalid, match="Unknown PII type 'shoe_size'"):
        policies.set_rules(workspace, {"shoe_size": "mask"})
    assert policies.effective(workspace)["email"].origin == "default"


def test_masks_keep_something_useful(workspace: Workspace, tmp_path: Path) -> None:
    policies.set_rules(
        workspace,
        {t: "mask" for t in ("email", "ip_address", "person_name", "free_text_with_pii")},
    )
    names = ["Ada Lovelace", "Grace Hopper", "Seán O\u2019Brien", "Émile Zola"] * 10
    notes = [f"call me on +44 20 7946 0{i:03d} or write to a{i}@b.com today" for i in range(40)]
    version = publish(
        workspace,
        tmp_path,
        "contacts",
        {"email": PEOPLE["email"], "ip": PEOPLE["ip"], "full_name": names, "notes": notes},
    )
    rows = stored_rows(workspace, version)
    assert rows["email"][0] == "U***@Example.org"
    assert rows["ip"][0] == "10.1.*.*"
    assert rows["full_name"][:4] == ["A. L.", "G. H.", "S. O.", "É. Z."]
    assert rows["notes"][0] == "call me on [number] or write to [email] today"


def test_readers_without_pii_get_the_other_columns(
    local_workspace: Workspace, tmp_path: Path
) -> None:
    from tests.conftest import api_client

    publish(local_workspace, tmp_path, "people")
    viewer = token_for(local_workspace, "vic", "viewer")
    reader = token_for(local_workspace, "rita", "viewer", pii=True)
    with api_client(local_workspace) as http:
        plain = http.get(
            "/api/v1/datasets/people/versions/1/data", headers={"Authorization": f"Bearer {viewer}"}
        )
        assert plain.status_code == 200, plain.text
        assert plain.headers["x-seedbed-withheld"] == "email,card,ip"
        assert pq.read_table(io.BytesIO(plain.content)).column_names == ["id", "amount"]
        full = http.get(
            "/api/v1/datasets/people/versions/1/data", headers={"Authorization": f"Bearer {reader}"}
        )
        assert "x-seedbed-withheld" not in full.headers
        assert pq.read_table(io.BytesIO(full.content)).column_names == list(PEOPLE)
        stats = http.get(
            "/api/v1/datasets/people/versions/1/columns",
            headers={"Authorization": f"Bearer {viewer}"},
        ).json()
        email = next(c for c in stats["columns"] if c["name"] == "email")
        assert email["withheld"] is True and "top_values" not in email
        assert email["pii"]["action"] == "restrict"
        profile = http.get(
            "/api/v1/datasets/people/versions/1/profile",
            headers={"Authorization": f"Bearer {viewer}"},
        ).json()
        assert [c.get("withheld", False) for c in profile["columns"]] == [
            False,
            True,
            True,
            True,
            False,
        ]
        page = http.get("/ui/data/datasets/people", headers={"Authorization": f"Bearer {viewer}"})
        assert page.status_code == 200
        assert "Not shown: email, card, ip" in page.text and "Example.org" not in page.text
        # the profile's column cards say what each column holds and what the policy did
        cards = http.get(
            "/ui/data/datasets/people/versions/1/profile",
            headers={"Authorization": f"Bearer {reader}"},
        ).text
        email_card = cards.split("<h3>email <small>", 1)[1].split("</section>", 1)[0]
        assert "email · " in email_card and ">restricted</span>" in email_card
        amount_card = cards.split("<h3>amount <small>", 1)[1].split("</section>", 1)[0]
        assert "No personal data found" in amount_card
    reads = [
        e for e in audit.recent(local_workspace, 1000) if e.action == "dataset.read_restricted"
    ]
    assert [(e.username, e.detail["purpose"]) for e in reads] == [
        ("rita", "profile"),
        ("rita", "download"),
    ]


def test_policy_api_and_pages(local_workspace: Workspace, tmp_path: Path) -> None:
    from tests.conftest import api_client

    publish(local_workspace, tmp_path, "people")
    editor = token_for(local_workspace, "ed", "editor")
    with api_client(local_workspace) as http:
        shown = http.get("/api/v1/privacy/policy").json()
        assert {r["pii_type"]: r["action"] for r in shown["rules"]}["email"] == "restrict"
        assert set(shown["actions"]) == set(policies.ACTIONS)
        changed = http.put("/api/v1/privacy/policy", json={"rules": {"email": "mask"}})
        assert changed.status_code == 200, changed.text
        bad = http.put("/api/v1/privacy/policy", json={"rules": {"email": "shred"}})
        assert bad.status_code == 400 and "Unknown action" in bad.text
        refused = http.put(
            "/api/v1/datasets/people/policy",
            json={"rules": {"email": "allow"}},
            headers={"Authorization": f"Bearer {editor}"},
        )
        assert refused.status_code == 403
        own = http.put("/api/v1/datasets/people/policy", json={"rules": {"email": "allow"}})
        by_type = {r["pii_type"]: r for r in own.json()["rules"]}
        assert (by_type["email"]["action"], by_type["email"]["origin"]) == ("allow", "dataset")
        # a policy can be set before a dataset's first version, so it applies to that one too
        early = http.put("/api/v1/datasets/later/policy", json={"rules": {"email": "drop"}})
        assert early.status_code == 200, early.text
        assert http.get("/api/v1/datasets/bad%20name/policy").status_code == 400
        admin_page = http.get("/ui/admin/privacy")
        assert admin_page.status_code == 200 and 'name="rule_email"' in admin_page.text
        page = http.get("/ui/data/datasets/people")
        assert 'id="privacy"' in page.text and "restricted" in page.text


def test_policy_and_review_forms(local_workspace: Workspace, tmp_path: Path) -> None:
    """The admin page and the dataset page save policies through CSRF-checked forms."""
    from tests.auth_sessions import password_login
    from tests.conftest import api_client

    create_user(local_workspace, "root", role="admin", password="pass word 1", pii=True)
    publish(local_workspace, tmp_path, "people")
    with api_client(local_workspace, authenticated=False) as http:
        csrf = password_login(http, "root", "pass word 1")
        forged = http.post("/ui/admin/privacy", data={"rule_email": "allow"})
        assert forged.status_code == 403
        saved = http.post(
            "/ui/admin/privacy",
            data={"csrf_token": csrf, "rule_email": "mask", "rule_phone": "default"},
        )
        assert saved.status_code == 200 and "Saved" in saved.text
        assert policies.effective(local_workspace)["email"].action == "mask"
        bad = http.post("/ui/admin/privacy", data={"csrf_token": csrf, "rule_email": "shred"})
        assert bad.status_code == 400 and "Unknown action" in bad.text
        own = http.post(
            "/ui/data/datasets/people/policy",
            data={"csrf_token": csrf, "rule_email": "allow", "rule_phone": "inherit"},
        )
        assert own.status_code == 303
        rules = policies.effective(local_workspace, "people")
        assert (rules["email"].action, rules["email"].origin) == ("allow", "dataset")
        assert rules["phone"].origin == "default"
        page = http.get("/ui/data/datasets/people")
        assert '<option value="allow" selected>' in page.text
        publish(local_workspace, tmp_path, "derived", {"id": [1, 2]}, parents=["people"])
        reviewed = http.post(
            "/ui/data/datasets/derived/versions/1/review", data={"csrf_token": csrf, "note": "ok"}
        )
        assert reviewed.status_code == 303
        assert "reviewed by root" in http.get("/ui/data/datasets/derived").text
