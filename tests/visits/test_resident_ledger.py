"""The resident ledger (住户台账): visitors keep household facts with a change history; ID numbers, phones,
health and disability status are masked unless the role needs them, and every unmasked read is logged."""

from __future__ import annotations

import pytest

from backend.models.audit import AuditLog
from backend.models.visits import HouseholdChange, HouseholdMember, HouseholdProfile
from tests.visits.conftest import V

ID = "62010319900101000X"  # valid check digit
ID_2 = "620103198505050019"


@pytest.fixture
async def household(world):  # type: ignore[no-untyped-def]
    await world.assign("party", world.h(0, 0, 1))
    return world.h(0, 0, 1)


def url(h, tail: str = "ledger") -> str:  # type: ignore[no-untyped-def]
    return f"{V}/households/{h.id}/{tail}"


FACTS = {"version": 0, "people_living": 2, "head_name": "王建国", "head_id_number": ID, "contact_name": "王小明",
         "contact_phone": "13912345678", "health_status": "高血压，需定期服药", "disability_status": "肢体三级",
         "special_situation": "子女在外地"}


class TestKeepingFacts:
    async def test_the_assigned_party_member_records_facts_and_sees_them_masked(self, client, world, household):
        resp = await client.patch(url(household), json=FACTS, headers=world.headers["party"])
        assert resp.status_code == 200, resp.text
        out = resp.json()
        assert out["version"] == 1 and out["masked"] and out["people_living"] == 2
        assert out["head_id_number"] == "620***********000X" and out["contact_phone"] == "139****5678"
        assert out["health_status"] == "******" and out["disability_status"] == "******"
        assert out["special_situation"] == "子女在外地" and out["registered_members"] == 1
        assert "高血压" not in resp.text and ID not in resp.text
        assert await HouseholdChange.filter(household_id=household.id).count() == 8

    async def test_a_party_member_may_not_unmask(self, client, world, household):
        await client.patch(url(household), json=FACTS, headers=world.headers["party"])
        resp = await client.get(url(household) + "?reveal=true", headers=world.headers["party"])
        assert resp.status_code == 403 and await AuditLog.filter(action__startswith="reveal").count() == 0

    async def test_a_grid_worker_unmasks_and_the_read_is_logged(self, client, world, household):
        await client.patch(url(household), json=FACTS, headers=world.headers["party"])
        masked = await client.get(url(household), headers=world.headers["grid_worker"])
        assert masked.json()["head_id_number"] != ID
        assert await AuditLog.filter(action__startswith="reveal").count() == 0
        resp = await client.get(url(household) + "?reveal=true", headers=world.headers["grid_worker"])
        assert resp.json()["head_id_number"] == ID and resp.json()["health_status"] == "高血压，需定期服药"
        log = await AuditLog.get(action__startswith="reveal")
        assert (log.actor_id, log.object_type, log.object_id) == (
            world["grid_worker"].id, "household_ledger", str(household.id))

    async def test_a_stale_edit_is_refused_and_changes_nothing(self, client, world, household):
        await client.patch(url(household), json=FACTS, headers=world.headers["party"])
        resp = await client.patch(url(household), json={"version": 0, "people_living": 5},
                                  headers=world.headers["grid_worker"])
        assert resp.status_code == 409 and resp.json()["error"] == "LedgerChanged"
        assert (await HouseholdProfile.get(household_id=household.id)).people_living == 2

    async def test_only_what_is_sent_changes_and_null_clears(self, client, world, household):
        await client.patch(url(household), json=FACTS, headers=world.headers["party"])
        resp = await client.patch(url(household), json={"version": 1, "disability_status": None, "people_living": 3},
                                  headers=world.headers["party"])
        row = await HouseholdProfile.get(household_id=household.id)
        assert resp.json()["version"] == 2 and row.disability_status_enc is None and row.people_living == 3
        assert row.head_id_number_enc is not None and ID not in row.head_id_number_enc

    @pytest.mark.parametrize("bad", [
        {"version": 0, "head_id_number": "620103199001010021"},  # wrong check digit
        {"version": 0, "head_id_number": "620***********000X"},  # the masked value sent back
        {"version": 0, "health_status": "******"},
        {"version": 0, "contact_phone": "139****5678"},
        {"version": 0, "people_living": 99},
        {"people_living": 2},
    ])
    async def test_bad_facts_are_refused_and_nothing_written(self, client, world, household, bad):
        resp = await client.patch(url(household), json=bad, headers=world.headers["party"])
        assert resp.status_code == 422 and set(resp.json()) == {"error", "message", "detail"}
        assert await HouseholdProfile.all().count() == 0 and await HouseholdChange.all().count() == 0

    async def test_someone_elses_household_is_not_found(self, client, world, household):
        for who in ("party_2", "grid_worker_other", "party_other"):
            resp = await client.get(url(household), headers=world.headers[who])
            assert resp.status_code == 404


class TestHistory:
    async def test_history_is_masked_unless_revealed(self, client, world, household):
        await client.patch(url(household), json=FACTS, headers=world.headers["party"])
        await client.patch(url(household), json={"version": 1, "head_id_number": ID_2}, headers=world.headers["party"])
        items = (await client.get(url(household, "ledger/history"), headers=world.headers["party"])).json()["items"]
        latest = items[0]
        assert (latest["field"], latest["field_label"], latest["masked"]) == ("head_id_number", "户主身份证号", True)
        assert latest["old_value"] == "620***********000X" and latest["new_value"] == "620***********0019"
        assert latest["actor_name"] == "党员老张"
        shown = (await client.get(url(household, "ledger/history?reveal=true"),
                                  headers=world.headers["leader"])).json()["items"][0]
        assert (shown["old_value"], shown["new_value"]) == (ID, ID_2)
        assert await AuditLog.filter(action__startswith="reveal", actor_id=world["leader"].id).count() == 1


class TestMembers:
    async def test_add_change_and_move_out(self, client, world, household):
        add = await client.post(url(household, "members"), headers=world.headers["party"], json={
            "name": "王奶奶", "relation": "母亲", "birth_year": 1940, "id_number": ID, "health_status": "糖尿病"})
        assert add.status_code == 201 and add.json()["id_number"] == "620***********000X"
        mid = add.json()["id"]
        patch = await client.patch(url(household, f"members/{mid}"), headers=world.headers["party"],
                                   json={"version": 1, "living_here": False})
        assert patch.status_code == 200 and patch.json()["version"] == 2
        stale = await client.patch(url(household, f"members/{mid}"), headers=world.headers["party"],
                                   json={"version": 1, "relation": "奶奶"})
        assert stale.status_code == 409
        nameless = await client.patch(url(household, f"members/{mid}"), headers=world.headers["party"],
                                      json={"version": 2, "name": None})
        assert nameless.status_code == 422
        gone = await client.delete(url(household, f"members/{mid}"), headers=world.headers["party"])
        assert gone.status_code == 204
        ledger = (await client.get(url(household), headers=world.headers["party"])).json()
        assert ledger["members"] == []
        assert (await HouseholdMember.get(id=mid)).removed_at is not None
        fields = await HouseholdChange.filter(member_id=mid).order_by("id").values_list("field", flat=True)
        assert fields == ["added", "living_here", "removed"]
        again = await client.delete(url(household, f"members/{mid}"), headers=world.headers["party"])
        assert again.status_code == 404
