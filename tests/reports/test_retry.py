"""Deadlock victims: a write whose transaction PostgreSQL aborted is run again from the stored state."""

from __future__ import annotations

from backend.models.outbox import OutboxEvent
from backend.models.reports import Report, ReportEvent


class TestDeadlockVictims:
    """PostgreSQL may abort a transaction to break a deadlock (it did, in the benchmark, inside notify() when
    many first notices went out at once). The write is run again; after the last attempt the client gets 409."""

    @staticmethod
    def _failing(times: int, real):  # type: ignore[no-untyped-def]
        from asyncpg.exceptions import DeadlockDetectedError

        calls = {"n": 0}

        async def created(*args, **kwargs):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] <= times:
                raise DeadlockDetectedError("deadlock detected")
            return await real(*args, **kwargs)

        return created, calls

    @staticmethod
    def _filing():  # type: ignore[no-untyped-def]
        """What writes a new report: one statement on PostgreSQL, the notice step on SQLite."""
        from backend.core import sql
        from backend.reports import notices, submission

        return (notices, "created") if sql.is_sqlite() else (submission, "submit")

    async def test_a_deadlock_victim_is_run_again_and_writes_once(self, world, monkeypatch):
        module, name = self._filing()
        created, calls = self._failing(2, getattr(module, name))
        monkeypatch.setattr(module, name, created)
        body = await world.report("resident")
        assert calls["n"] == 3
        assert await Report.all().count() == 1
        assert await ReportEvent.filter(report_id=body["id"]).count() == 1
        assert await OutboxEvent.filter(kind="reports.clock").count() == 1

    async def test_a_transition_is_run_again_from_the_stored_state(self, world, monkeypatch):
        from backend.reports import notices

        rid = (await world.report("resident"))["id"]
        created, calls = self._failing(1, notices.status_changed)
        monkeypatch.setattr(notices, "status_changed", created)
        await world.act("grid_worker", rid, "accept")
        row = await Report.get(id=rid)
        assert (row.status, row.version) == ("accepted", 2)
        assert await ReportEvent.filter(report_id=rid, action="accept").count() == 1

    async def test_when_it_keeps_failing_the_client_is_told_to_try_again(self, world, monkeypatch):
        module, name = self._filing()
        created, _ = self._failing(99, getattr(module, name))
        monkeypatch.setattr(module, name, created)
        body = await world.report("resident", expect=409)
        assert body["error"] == "TryAgain"
        assert await Report.all().count() == 0
