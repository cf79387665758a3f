"""The resident ledger's sensitive fields at rest: the database holds ciphertext only (profile, members and
the change history), bound to their household and field; the API still masks them for party members, reveals
them to grid workers and staff with an audit row; the data migration seals rows written in clear by the old
code and a downgrade gives them back."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from tortoise import connections

from backend.models.audit import AuditLog
from backend.models.visits import HouseholdChange, HouseholdProfile
from backend.visits import sealing
from tests.conftest import TEST_SECRET, _create_pg_database, _drop_pg_database
from tests.visits.test_resident_ledger import FACTS, ID, ID_2, url

CLEAR = [ID, ID_2, "13912345678", "高血压", "肢体三级", "糖尿病", "13800001111"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def household(world):  # type: ignore[no-untyped-def]
    await world.assign("party", world.h(0, 0, 1))
    return world.h(0, 0, 1)


async def raw_rows(table: str) -> str:
    """Every value of the table as the database stores it, as one string."""
    rows = await connections.get("default").execute_query_dict(f"SELECT * FROM {table}")
    return json.dumps(rows, default=str, ensure_ascii=False)


async def fill(client, world, household) -> int:  # type: ignore[no-untyped-def]
    """Facts, a change of ID number, a member with phone and health: returns the member's id."""
    assert (await client.patch(url(household), json=FACTS, headers=world.headers["party"])).status_code == 200
    again = await client.patch(
        url(household), json={"version": 1, "head_id_number": ID_2}, headers=world.headers["party"]
    )
    assert again.status_code == 200
    member = await client.post(
        url(household, "members"),
        headers=world.headers["party"],
        json={"name": "王奶奶", "id_number": ID, "phone": "13800001111", "health_status": "糖尿病"},
    )
    assert member.status_code == 201
    mid = member.json()["id"]
    patch = await client.patch(
        url(household, f"members/{mid}"),
        headers=world.headers["party"],
        json={"version": 1, "disability_status": "肢体三级"},
    )
    assert patch.status_code == 200
    return mid


class TestAtRest:
    async def test_no_table_holds_a_sensitive_value_in_clear(self, client, world, household):
        await fill(client, world, household)
        for table in (sealing.PROFILE_TABLE, sealing.MEMBER_TABLE, sealing.CHANGE_TABLE):
            stored = await raw_rows(table)
            assert not [c for c in CLEAR if c in stored], table
        profile = await HouseholdProfile.get(household_id=household.id)
        assert all(getattr(profile, sealing.column(f)).startswith("v1.") for f in sealing.PROFILE_SEALED)
        sensitive = await HouseholdChange.filter(household_id=household.id, sensitive=True)
        assert len(sensitive) == 6  # 4 facts, the new ID number, the member's disability (adding: the name)
        assert all(r.old_value is None and r.new_value is None and r.new_enc for r in sensitive)
        plain = await HouseholdChange.get(household_id=household.id, field="people_living")
        assert (plain.new_value, plain.new_enc) == ("2", None)  # what is not sensitive stays readable

    async def test_a_ciphertext_moved_to_another_household_or_field_does_not_decrypt(
        self, client, world, household, settings
    ):
        await fill(client, world, household)
        token = (await HouseholdProfile.get(household_id=household.id)).health_status_enc
        binding = {"table": sealing.PROFILE_TABLE, "field": "health_status"}
        assert sealing.unseal(settings, token, household_id=household.id, **binding) == "高血压，需定期服药"
        with pytest.raises(InvalidTag):
            sealing.unseal(settings, token, household_id=household.id + 1, **binding)
        with pytest.raises(InvalidTag):
            sealing.unseal(
                settings,
                token,
                household_id=household.id,
                table=sealing.PROFILE_TABLE,
                field="disability_status",
            )


class TestReadingBack:
    async def test_a_party_member_sees_it_masked_and_may_not_reveal(self, client, world, household):
        await fill(client, world, household)
        ledger = await client.get(url(household), headers=world.headers["party"])
        body = ledger.json()
        assert body["head_id_number"] == "620***********0019" and body["contact_phone"] == "139****5678"
        assert body["health_status"] == "******" and body["members"][0]["phone"] == "138****1111"
        assert not [c for c in CLEAR if c in ledger.text]
        history = await client.get(url(household, "ledger/history"), headers=world.headers["party"])
        assert not [c for c in CLEAR if c in history.text]
        for tail in ("ledger", "ledger/history"):
            refused = await client.get(url(household, tail) + "?reveal=true", headers=world.headers["party"])
            assert refused.status_code == 403
        assert await AuditLog.filter(action__startswith="reveal").count() == 0

    async def test_a_grid_worker_reveals_the_ledger_and_its_history_and_each_read_is_logged(
        self, client, world, household
    ):
        mid = await fill(client, world, household)
        worker = world.headers["grid_worker"]
        ledger = (await client.get(url(household) + "?reveal=true", headers=worker)).json()
        assert (ledger["head_id_number"], ledger["contact_phone"]) == (ID_2, "13912345678")
        assert (ledger["health_status"], ledger["disability_status"]) == ("高血压，需定期服药", "肢体三级")
        [member] = ledger["members"]
        assert (member["id"], member["id_number"], member["phone"]) == (mid, ID, "13800001111")
        assert (member["health_status"], member["disability_status"]) == ("糖尿病", "肢体三级")
        history = await client.get(url(household, "ledger/history?reveal=true"), headers=worker)
        changes = {(i["member_id"], i["field"]): i for i in history.json()["items"]}
        latest_id = history.json()["items"][0]
        assert (latest_id["field"], latest_id["masked"]) == ("disability_status", False)
        id_change = next(
            i for i in history.json()["items"] if i["field"] == "head_id_number" and i["old_value"]
        )

        assert (id_change["old_value"], id_change["new_value"]) == (ID, ID_2)
        assert changes[(mid, "disability_status")]["new_value"] == "肢体三级"
        logs = await AuditLog.filter(action__startswith="reveal", actor_id=world["grid_worker"].id).count()
        assert logs == 2

    async def test_an_edit_compares_with_the_clear_value(self, client, world, household):
        await fill(client, world, household)
        before = await HouseholdChange.all().count()
        same = await client.patch(
            url(household), json={"version": 2, "head_id_number": ID_2}, headers=world.headers["party"]
        )
        assert same.status_code == 200 and same.json()["version"] == 2
        assert await HouseholdChange.all().count() == before  # nothing changed, nothing recorded


class TestMigration:
    async def test_rows_written_in_clear_are_sealed_and_a_downgrade_gives_them_back(self, tmp_path, database):
        """Run in a process of its own, on a fresh database of the suite's kind."""
        pg_name = None
        if database.kind == "postgres":
            url, pg_name = await _create_pg_database()
        else:
            url = f"sqlite://{tmp_path / 'sealed.sqlite3'}"
        try:
            done = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "tests.visits.sealed_migration", url, TEST_SECRET],
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=240,
            )
        finally:
            if pg_name:
                await _drop_pg_database(pg_name)
        assert done.returncode == 0, done.stderr[-3000:]
        out = json.loads(done.stdout.strip().splitlines()[-1])
        sealed = json.dumps([out["profile"], out["member"], out["changes"]], ensure_ascii=False)
        assert not [c for c in CLEAR if c in sealed]
        assert "head_id_number" not in out["profile"] and out["profile"]["head_id_number_enc"].startswith(
            "v1."
        )
        assert out["unsealed_profile"]["health_status"] == "高血压，需定期服药"
        health, people = out["changes"]
        assert (health["old_value"], health["new_value"]) == (None, None) and health["new_enc"].startswith(
            "v1."
        )
        assert (people["old_value"], people["new_value"], people["new_enc"]) == ("1", "2", None)
        assert (
            out["back_profile"]["head_id_number"] == ID
            and out["back_profile"]["contact_phone"] == "13912345678"
        )
        assert "head_id_number_enc" not in out["back_profile"]
        back_health = out["back_changes"][0]
        assert (back_health["old_value"], back_health["new_value"]) == ("健康", "高血压，需定期服药")
