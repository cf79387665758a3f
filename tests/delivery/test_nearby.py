"""``volunteers.repository.nearby`` against a brute force over every profile: widening over fine and then
coarse geohash cells finds exactly the volunteers within the radius, and a small pool still gets the true
nearest.

Volunteers are scattered around the centre: a third packed within ~300 m of it, a third within ~1.3 km, the
rest over ~20 km; with every service radius, availability pattern and load, a few suspended or full; the
query points, wave radii, hours and exclusions are random too (seeded)."""

from __future__ import annotations

import random

from backend.models.volunteers import VolunteerProfile, VolunteerStatus
from backend.volunteers import geohash
from backend.volunteers.repository import nearby
from tests.builders import make_org_tree
from tests.delivery.conftest import CENTER, volunteer

RADII = (500, 1500, 3000, 5000, 8000, 12000)


async def _scatter(settings, rng: random.Random, n: int) -> None:  # type: ignore[no-untyped-def]
    tree = await make_org_tree(communities=1, grids=1, households=1)
    community = tree.community(0)
    for i in range(n):
        spread = ((0.003, 0.0035), (0.012, 0.014), (0.1, 0.12))[i % 3]
        at = (CENTER[0] + rng.uniform(-spread[0], spread[0]), CENTER[1] + rng.uniform(-spread[1], spread[1]))
        user = await volunteer(settings, f"志愿者{i}", at, community=community, radius_m=rng.choice(RADII))
        busy = rng.random() < 0.6
        await VolunteerProfile.filter(user_id=user.id).update(
            availability="".join("1" if not busy or rng.random() < 0.5 else "0" for _ in range(168)),
            active_tasks=rng.choice([0, 0, 1, 3]),
            status=VolunteerStatus.SUSPENDED if rng.random() < 0.05 else VolunteerStatus.ACTIVE,
        )


async def _brute_force(
    lat: float, lng: float, radius_m: float, hour: int | None, exclude: set[int]
) -> list[tuple[int, float]]:
    out = []
    for p in await VolunteerProfile.all().select_related("user"):
        if p.status != VolunteerStatus.ACTIVE or p.active_tasks >= p.max_active or not p.user.is_active:
            continue
        if p.user_id in exclude:
            continue
        if hour is not None and p.availability[hour] != "1":
            continue
        d = geohash.distance_m(lat, lng, p.lat, p.lng)
        if d <= radius_m and d <= p.service_radius_m:
            out.append((p.user_id, d))
    return sorted(out, key=lambda x: (x[1], x[0]))


async def test_nearby_finds_exactly_whom_a_brute_force_finds(settings) -> None:
    rng = random.Random(20261207)
    await _scatter(settings, rng, 150)
    checked = 0
    ids = [p.user_id for p in await VolunteerProfile.all()]
    for n in range(40):
        near_centre = n % 2 == 0
        d_lat, d_lng = (0.004, 0.005) if near_centre else (0.08, 0.1)
        lat, lng = CENTER[0] + rng.uniform(-d_lat, d_lat), CENTER[1] + rng.uniform(-d_lng, d_lng)
        for radius in (1500, 3000, 6000, 10000):
            hour = rng.choice([None, rng.randrange(168)])
            exclude = set(rng.sample(ids, rng.choice([0, 3, 20])))
            expected = await _brute_force(lat, lng, radius, hour, exclude)
            everyone = await nearby(lat, lng, radius, pool=10**6, hour=hour, exclude=exclude)
            assert [(c.user_id, round(c.distance_m, 6)) for c in everyone] == [
                (u, round(d, 6)) for u, d in expected
            ], (lat, lng, radius, hour)
            # a small pool stops widening early, but its nearest are still the true nearest
            for pool in (3, 12):
                few = await nearby(lat, lng, radius, pool=pool, hour=hour, exclude=exclude)
                nearest = [u for u, _ in expected[:pool]]
                assert [c.user_id for c in few[:pool]] == nearest, (lat, lng, radius, pool)
            checked += len(expected)
    assert checked > 500  # the points do reach volunteers: the comparison is not between empty lists
