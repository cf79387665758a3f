"""API keys: issued by ``jinlin open311 issue-key`` (printed once, only the hash stored), listed without the
key, rotated, revoked; and the coordinate transform the endpoints use both ways."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from backend.models.audit import AuditLog
from backend.models.open311 import Open311Client
from backend.models.user import User
from backend.open311 import service
from backend.open311.exceptions import ClientExists, CommunityNotFound
from backend.open311.geo import gcj02_to_wgs84, wgs84_to_gcj02
from tests.open311.test_post import spec_example


def jinlin(database, *args: str) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "JINLIN_DATABASE_URL": database.url,
        "JINLIN_ENV": "test",
        "JINLIN_SECRET_KEY": "x" * 40,
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", "open311", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


class TestCli:
    async def test_issue_list_use_and_revoke(self, world, database, open311):
        community = world.tree.community(0).id
        issued = jinlin(
            database,
            "issue-key",
            "--name",
            "12345热线",
            "--community",
            str(community),
            "--channel",
            "hotline",
        )
        assert issued.returncode == 0, issued.stderr
        key = issued.stdout.strip().splitlines()[-1]
        assert key.startswith("o311_") and len(key) > 40
        client = await Open311Client.get(name="12345热线")
        assert client.key_hash == service.key_hash(key) and key not in str(client.__dict__)
        assert (await User.get(id=client.user_id)).phone is None  # the service account cannot log in
        assert await AuditLog.exists(action="open311:issue_key", object_id=str(client.id))

        listed = jinlin(database, "list")
        assert listed.returncode == 0 and "12345热线" in listed.stdout and key not in listed.stdout
        assert key[:12] in listed.stdout

        [created] = (await open311.post(**spec_example(key))).json()
        assert created["service_request_id"]

        assert jinlin(database, "revoke", "--name", "12345热线").returncode == 0
        await open311.post(expect=403, **spec_example(key))

    async def test_refusals(self, world, database):
        community = str(world.tree.community(0).id)
        grid = str(world.grid(0, 0).id)
        not_a_community = jinlin(database, "issue-key", "--name", "甲", "--community", grid)
        assert not_a_community.returncode == 1
        phone = jinlin(database, "issue-key", "--name", "甲", "--community", community, "--channel", "phone")
        assert phone.returncode == 2
        assert jinlin(database, "issue-key", "--name", "甲", "--community", community).returncode == 0
        again = jinlin(database, "issue-key", "--name", "甲", "--community", community)
        assert again.returncode == 1 and "--rotate" in again.stderr
        assert jinlin(database, "revoke", "--name", "乙").returncode == 1
        assert await Open311Client.all().count() == 1


class TestService:
    async def test_names_are_unique_unless_rotated_and_communities_must_exist(self, world):
        community = world.tree.community(0).id
        first, key = await service.issue_key("随手拍", community)
        with pytest.raises(ClientExists):
            await service.issue_key("随手拍", community)
        with pytest.raises(CommunityNotFound):
            await service.issue_key("别的", world.grid(0, 0).id)
        rotated, new_key = await service.issue_key("随手拍", world.tree.community(1).id, rotate=True)
        assert rotated.id == first.id and rotated.user_id == first.user_id and new_key != key
        assert rotated.community_id == world.tree.community(1).id
        assert (await service.authenticate(new_key)).id == first.id


class TestCoordinates:
    def test_a_lanzhou_fix_moves_a_few_hundred_metres_and_back(self):
        # The mini-program's own test vector (miniapp/src/domain/__tests__/domain.test.ts).
        lat, lng = wgs84_to_gcj02(36.0659257, 103.7231704)
        assert abs(lat - 36.06569) < 1e-4 and abs(lng - 103.72566) < 1e-4
        back = gcj02_to_wgs84(lat, lng)
        assert abs(back[0] - 36.0659257) < 1e-7 and abs(back[1] - 103.7231704) < 1e-7

    def test_outside_china_nothing_moves(self):
        assert wgs84_to_gcj02(48.8566, 2.3522) == (48.8566, 2.3522)
        assert gcj02_to_wgs84(48.8566, 2.3522) == (48.8566, 2.3522)
