"""Resident reports (吹哨报到, 说议办评晒): the report, its history, supports, ratings, whistles, deliberations and
the frozen monthly board.

Invariants: a report is in exactly one state, changed only by a conditional UPDATE on (id, status, version) so
that of two racing transitions one wins; every transition writes one ``ReportEvent`` in the same transaction;
one support per user per report, one rating per report and resolution round, one vote per household per
deliberation, one department per whistle, one board per community and month (unique keys).

Model docstrings become table comments: keep semicolons out of them (SQLite's migration editor splits on them).
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models
from tortoise.migrations.constraints import CheckConstraint

APP = "reports"


class ReportStatus(StrEnum):
    SUBMITTED = "submitted"  # waiting for the handling unit to accept it
    ACCEPTED = "accepted"
    NEED_INFO = "need_info"  # the handler asked the reporter for more (clock paused)
    RESOLVED = "resolved"  # waiting for the reporter's rating
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    MERGED = "merged"  # a duplicate, merged into another report

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    ReportStatus.SUBMITTED: "待受理",
    ReportStatus.ACCEPTED: "办理中",
    ReportStatus.NEED_INFO: "待补充",
    ReportStatus.RESOLVED: "已办结",
    ReportStatus.CLOSED: "已结案",
    ReportStatus.WITHDRAWN: "已撤回",
    ReportStatus.MERGED: "已合并",
}
OPEN_STATUSES = (ReportStatus.SUBMITTED, ReportStatus.ACCEPTED, ReportStatus.NEED_INFO)


class Level(StrEnum):
    """Graded handling (分级办理): who owns the report now."""

    GRID = "grid"
    COMMUNITY = "community"
    STREET = "street"

    @property
    def label(self) -> str:
        return {"grid": "网格", "community": "社区", "street": "街道"}[self.value]

    @property
    def up(self) -> Level | None:
        return {Level.GRID: Level.COMMUNITY, Level.COMMUNITY: Level.STREET, Level.STREET: None}[self]


class Channel(StrEnum):
    APP = "app"
    PHONE = "phone"
    VISIT = "visit"
    WEATHER_STATION = "weather_station"
    HOTLINE = "hotline"

    @property
    def label(self) -> str:
        return {
            "app": "小程序",
            "phone": "电话",
            "visit": "入户走访",
            "weather_station": "民情气象站",
            "hotline": "热线",
        }[self.value]


class Clock(StrEnum):
    ACCEPT = "accept"  # accept within N hours (per level)
    RESOLVE = "resolve"  # resolve within N days of acceptance (per level)
    CLOSE = "close"  # a resolved report nobody rated closes by itself


class Report(models.Model):
    """One matter a resident reported. Carries the ancestor ids of the place it is about (scoping), the level
    that handles it now, and the one running clock (``clock`` + ``due_at``), if any."""

    id = fields.BigIntField(primary_key=True)
    # Ancestor ids of the place (no single-column indexes: the composite indexes below lead with them).
    street_id = fields.BigIntField(null=True)
    community_id = fields.BigIntField(null=True)
    grid_id = fields.BigIntField(null=True)
    compound_id = fields.BigIntField(null=True)
    building_id = fields.BigIntField(null=True)
    household_id = fields.BigIntField(null=True)
    reporter = fields.ForeignKeyField(
        "core.User", related_name=False, on_delete=fields.RESTRICT, db_index=False
    )
    filed_by_id = fields.BigIntField(null=True)  # staff who filed it on the reporter's behalf
    category = fields.CharField(max_length=40)
    category_top = fields.CharField(max_length=24)
    description = fields.TextField()
    channel = fields.CharEnumField(Channel, max_length=16)
    lat = fields.FloatField(null=True)  # GCJ-02, as wx.getLocation gives it
    lng = fields.FloatField(null=True)
    address = fields.CharField(max_length=200, null=True)
    photo_ids = fields.JSONField(default=list)
    status = fields.CharEnumField(ReportStatus, max_length=12, default=ReportStatus.SUBMITTED)
    level = fields.CharEnumField(Level, max_length=10)
    assignee_id = fields.BigIntField(null=True)
    version = fields.IntField(default=1, db_default=1)
    clock = fields.CharEnumField(Clock, max_length=8, null=True)
    due_at = fields.DatetimeField(null=True)
    paused_seconds = fields.IntField(null=True)  # what was left of the resolve clock when info was asked for
    was_overdue = fields.BooleanField(default=False, db_default=False)
    escalations = fields.IntField(default=0, db_default=0)
    round = fields.IntField(default=0, db_default=0)  # resolutions rated badly so far (a rating per round)
    support_count = fields.IntField(default=0, db_default=0)
    merged_into_id = fields.BigIntField(null=True)
    response_due_at = fields.DatetimeField()  # the first accept deadline (response rate)
    responded_at = fields.DatetimeField(null=True)
    resolved_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    resolution_note = fields.CharField(max_length=1000, null=True)
    public_note = fields.CharField(max_length=100, null=True)  # shown on the public monthly board
    rating = fields.IntField(null=True)  # the latest rating's score
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "report"
        indexes = (
            ("grid_id", "status", "id"),
            ("community_id", "status", "id"),
            ("street_id", "status", "id"),
            ("community_id", "created_at"),
            ("reporter_id", "id"),
            ("assignee_id", "status"),
            ("category", "created_at"),
        )


class ReportEvent(models.Model):
    """The timeline: one row per transition (and per notable event), written in the same transaction."""

    id = fields.BigIntField(primary_key=True)
    report = fields.ForeignKeyField(
        "reports.Report", related_name="events", on_delete=fields.CASCADE, db_index=False
    )
    action = fields.CharField(max_length=24)
    actor_id = fields.BigIntField(null=True)  # NULL: the system (a clock)
    on_behalf_of_id = fields.BigIntField(null=True)
    from_status = fields.CharField(max_length=12, null=True)
    to_status = fields.CharField(max_length=12, null=True)
    from_level = fields.CharField(max_length=10, null=True)
    to_level = fields.CharField(max_length=10, null=True)
    note = fields.CharField(max_length=1000, null=True)
    data = fields.JSONField(null=True)
    public = fields.BooleanField(default=True)  # shown to the reporter
    transition = fields.BooleanField(default=True)  # a state change (vs. a note on the timeline)
    created_at = fields.DatetimeField()

    class Meta:
        table = "report_event"
        indexes = (("report_id", "id"),)


class ReportSupport(models.Model):
    """我也遇到: one per user per report."""

    id = fields.BigIntField(primary_key=True)
    report = fields.ForeignKeyField(
        "reports.Report", related_name=False, on_delete=fields.CASCADE, db_index=False
    )
    user_id = fields.BigIntField(db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "report_support"
        unique_together = (("report_id", "user_id"),)


class RatingChannel(StrEnum):
    APP = "app"
    PHONE = "phone"  # staff recorded it from a phone call


class ReportRating(models.Model):
    """The reporter's rating of one resolution (one per report and round: a reopened report is rated again)."""

    id = fields.BigIntField(primary_key=True)
    report = fields.ForeignKeyField(
        "reports.Report", related_name="ratings", on_delete=fields.CASCADE, db_index=False
    )
    round = fields.IntField()
    score = fields.IntField()
    comment = fields.CharField(max_length=500, null=True)
    rated_by_id = fields.BigIntField()
    on_behalf_of_id = fields.BigIntField(null=True)
    channel = fields.CharEnumField(RatingChannel, max_length=8)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "report_rating"
        unique_together = (("report_id", "round"),)
        constraints = (CheckConstraint(check="score BETWEEN 1 AND 5", name="report_rating_score_range"),)


class EvaluationKind(StrEnum):
    SPECIAL = "special"  # 专项评
    ORGANISATIONAL = "organisational"  # 组织评

    @property
    def label(self) -> str:
        return {"special": "专项评", "organisational": "组织评"}[self.value]


class ReportEvaluation(models.Model):
    """A community's evaluation of how a report was handled (one per kind and report)."""

    id = fields.BigIntField(primary_key=True)
    report = fields.ForeignKeyField(
        "reports.Report", related_name=False, on_delete=fields.CASCADE, db_index=False
    )
    kind = fields.CharEnumField(EvaluationKind, max_length=16)
    score = fields.IntField()
    comment = fields.CharField(max_length=500, null=True)
    subject_user_id = fields.BigIntField(null=True)  # the handler evaluated
    evaluator_id = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "report_evaluation"
        unique_together = (("report_id", "kind"),)
        constraints = (
            CheckConstraint(check="score BETWEEN 0 AND 100", name="report_evaluation_score_range"),
        )


class WhistleStatus(StrEnum):
    SUMMONED = "summoned"
    ACKNOWLEDGED = "acknowledged"  # 报到
    DONE = "done"

    @property
    def label(self) -> str:
        return {"summoned": "待报到", "acknowledged": "已报到", "done": "已完成"}[self.value]


class Whistle(models.Model):
    """吹哨: community or street staff summon departments to a report, with a deadline."""

    id = fields.BigIntField(primary_key=True)
    report = fields.ForeignKeyField("reports.Report", related_name="whistles", on_delete=fields.CASCADE)
    blown_by_id = fields.BigIntField()
    note = fields.CharField(max_length=500)
    deadline = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "report_whistle"


class WhistleTarget(models.Model):
    """One summoned department: it must acknowledge (报到) by ``ack_due_at`` and finish by the deadline."""

    id = fields.BigIntField(primary_key=True)
    whistle = fields.ForeignKeyField(
        "reports.Whistle", related_name="targets", on_delete=fields.CASCADE, db_index=False
    )
    report_id = fields.BigIntField(db_index=True)
    department_id = fields.BigIntField()
    status = fields.CharEnumField(WhistleStatus, max_length=12, default=WhistleStatus.SUMMONED)
    ack_due_at = fields.DatetimeField()
    deadline = fields.DatetimeField()
    acknowledged_at = fields.DatetimeField(null=True)
    acknowledged_by_id = fields.BigIntField(null=True)
    done_at = fields.DatetimeField(null=True)
    late_ack = fields.BooleanField(default=False, db_default=False)
    late = fields.BooleanField(default=False, db_default=False)
    last_progress_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "report_whistle_target"
        unique_together = (("whistle_id", "department_id"),)
        indexes = (("department_id", "status", "id"),)


class DeliberationKind(StrEnum):
    RESIDENTS_COUNCIL = "residents_council"  # 居民议事会
    TWO_COMMITTEES = "two_committees"  # 社区两委
    STREET_COMMUNITY = "street_community"  # 街社联合

    @property
    def label(self) -> str:
        return {
            "residents_council": "居民议事会",
            "two_committees": "社区两委",
            "street_community": "街社联合",
        }[self.value]


class DeliberationStatus(StrEnum):
    OPEN = "open"
    DECIDED = "decided"


class Deliberation(models.Model):
    """议: a deliberation on a report, with minutes, a decision and optionally a vote of households."""

    id = fields.BigIntField(primary_key=True)
    report = fields.ForeignKeyField("reports.Report", related_name="deliberations", on_delete=fields.CASCADE)
    kind = fields.CharEnumField(DeliberationKind, max_length=20)
    topic = fields.CharField(max_length=200)
    status = fields.CharEnumField(DeliberationStatus, max_length=10, default=DeliberationStatus.OPEN)
    participants = fields.JSONField(default=list)
    opened_by_id = fields.BigIntField()
    vote_options = fields.JSONField(null=True)
    vote_closes_at = fields.DatetimeField(null=True)
    minutes = fields.TextField(null=True)
    decision = fields.CharField(max_length=1000, null=True)
    decided_by_id = fields.BigIntField(null=True)
    decided_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "report_deliberation"


class DeliberationVote(models.Model):
    """One vote per household per deliberation."""

    id = fields.BigIntField(primary_key=True)
    deliberation = fields.ForeignKeyField(
        "reports.Deliberation", related_name="votes", on_delete=fields.CASCADE, db_index=False
    )
    household_id = fields.BigIntField()
    user_id = fields.BigIntField()
    option = fields.CharField(max_length=40)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "report_deliberation_vote"
        unique_together = (("deliberation_id", "household_id"),)


class BoardSnapshot(models.Model):
    """晒: a community's frozen monthly board (rates per grid and department), published once."""

    id = fields.BigIntField(primary_key=True)
    unit_id = fields.BigIntField()  # the community
    month = fields.CharField(max_length=7)  # YYYY-MM, Beijing time
    summary = fields.JSONField()
    rows = fields.IntField()
    published_at = fields.DatetimeField()

    class Meta:
        table = "report_board"
        unique_together = (("unit_id", "month"),)


class BoardEntry(models.Model):
    """One anonymised report line of a frozen board (no names, phones or exact addresses)."""

    id = fields.BigIntField(primary_key=True)
    board = fields.ForeignKeyField(
        "reports.BoardSnapshot", related_name=False, on_delete=fields.CASCADE, db_index=False
    )
    report_id = fields.BigIntField()
    row = fields.JSONField()

    class Meta:
        table = "report_board_entry"
        indexes = (("board_id", "report_id"),)
