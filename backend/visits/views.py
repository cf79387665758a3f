"""Visits as the API shows them: names and labels loaded in bulk, flags explained with their numbers, positions
shown to the visitor themselves (or on an audited reveal), problems with their solved state."""

from __future__ import annotations

from backend.config import Settings
from backend.media import service as media
from backend.models.visits import ReviewStatus, Visit, VisitProblem
from backend.visits import checks, repository
from backend.visits.enums import FLAG_LABELS, TAGS
from backend.visits.schemas import FlagOut, ProblemOut, VisitOut

SOLVED_REPORT_STATUSES = ("resolved", "closed")


def flag_out(flag: dict) -> FlagOut:
    code = str(flag.get("code"))
    data = {k: v for k, v in flag.items() if k != "code"}
    return FlagOut(code=code, label=FLAG_LABELS.get(code, code), message=checks.describe(flag), data=data)


def problem_out(problem: VisitProblem, report_status: str | None) -> ProblemOut:
    solved_at = problem.solved_at
    return ProblemOut(
        id=problem.id, tag=problem.tag, tag_label=TAGS[problem.tag].label if problem.tag in TAGS else problem.tag,
        report_id=problem.report_id, solved=solved_at is not None or report_status in SOLVED_REPORT_STATUSES,
        solved_at=solved_at, solve_note=problem.solve_note,
    )


async def visits_out(visits: list[Visit], *, viewer_id: int, reveal: bool = False,
                     settings: Settings | None = None) -> list[VisitOut]:
    """Present visits; ``settings`` given: with signed photo URLs (detail views)."""
    if not visits:
        return []
    names = await repository.user_names(v.visitor_id for v in visits)
    labels = await repository.labels(v.household_id for v in visits)
    problems = await repository.problems_of(v.id for v in visits)
    statuses = await repository.report_statuses(p.report_id for ps in problems.values() for p in ps if p.report_id)
    urls: dict[int, str] = {}
    if settings is not None:
        urls = await media.urls(settings, [i for v in visits for i in v.photo_ids or []])
    out = []
    for v in visits:
        shown = reveal or v.visitor_id == viewer_id
        out.append(VisitOut(
            id=v.id, client_id=v.client_id, version=v.version, visitor_id=v.visitor_id,
            visitor_name=names.get(v.visitor_id, ""), household_id=v.household_id,
            household_label=labels.get(v.household_id, ""), visited_at=v.visited_at, effective_at=v.effective_at,
            received_at=v.received_at, skew_seconds=v.skew_seconds, at_home=v.at_home, notes=v.notes,
            tags=list(v.tags or []), photo_ids=list(v.photo_ids or []),
            photo_urls={i: urls[i] for i in v.photo_ids or [] if i in urls},
            lat=v.lat if shown else None, lng=v.lng if shown else None, position_masked=not shown,
            accuracy_m=v.accuracy_m, distance_m=None if v.distance_m is None else round(v.distance_m),
            fence_m=v.fence_m, out_of_fence=v.out_of_fence, flagged=v.flagged,
            flags=[flag_out(f) for f in v.flags or []], source=str(v.source), review_status=str(v.review_status),
            review_label=ReviewStatus(v.review_status).label, review_note=v.review_note,
            problems=[problem_out(p, statuses.get(p.report_id or 0)) for p in problems.get(v.id, [])],
            created_at=v.created_at, updated_at=v.updated_at,
        ))
    return out
