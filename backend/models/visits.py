"""入户走访 and 党员联户: who visits which household, the visits themselves, what they found, the resident ledger
they keep, and the monthly 走访台账 each visitor submits.

Invariants: a household has at most one current visitor (unique ``household_id`` on the assignment), and every
change of visitor closes one span and opens another in the same transaction, so the spans are the history. A
visit is stored once per client id (a unique key, so five concurrent syncs of one offline visit leave one row)
and changes only by a conditional UPDATE on (id, version), each change writing a ``VisitEvent``. One 台账 per
visitor and month (unique), moved between states by conditional UPDATEs, each move writing a ``VisitMonthEvent``.

Model docstrings become table comments: keep semicolons out of them (SQLite's migration editor splits on them).
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models

APP = "visits"


class Place:
    """Ancestor ids of the household a row is about (the org scoping columns). No single-column indexes: the
    composite indexes of each table lead with the column they need."""

    street_id = fields.BigIntField(null=True)
    community_id = fields.BigIntField(null=True)
    grid_id = fields.BigIntField(null=True)
    compound_id = fields.BigIntField(null=True)
    building_id = fields.BigIntField(null=True)


class VisitPolicy(models.Model):
    """A community's visit policy as data: which households are visited how often, and the geofence radius."""

    id = fields.BigIntField(primary_key=True)
    unit = fields.OneToOneField("core.OrgUnit", related_name=False, on_delete=fields.CASCADE)  # the community
    rules = fields.JSONField()  # [{"name", "flags": [...], "per": "week"|"month", "times": n}]
    fence_m = fields.IntField()
    version = fields.IntField(default=1, db_default=1)
    updated_by_id = fields.BigIntField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "visit_policy"


class Assignment(models.Model, Place):
    """The current visitor of a household (党员联户). At most one per household."""

    id = fields.BigIntField(primary_key=True)
    household = fields.OneToOneField("core.Household", related_name=False, on_delete=fields.CASCADE)
    visitor = fields.ForeignKeyField("core.User", related_name=False, on_delete=fields.CASCADE, db_index=False)
    assigned_by_id = fields.BigIntField(null=True)
    assigned_at = fields.DatetimeField()
    reason = fields.CharField(max_length=200, null=True)

    class Meta:
        table = "visit_assignment"
        indexes = (("visitor_id", "household_id"), ("grid_id", "visitor_id"), ("community_id", "visitor_id"))


class AssignmentSpan(models.Model, Place):
    """One period during which one visitor held one household (``ended_at`` NULL: still holds it)."""

    id = fields.BigIntField(primary_key=True)
    household_id = fields.BigIntField()
    visitor_id = fields.BigIntField()
    started_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True)
    assigned_by_id = fields.BigIntField(null=True)
    reason = fields.CharField(max_length=200, null=True)
    ended_by_id = fields.BigIntField(null=True)
    end_reason = fields.CharField(max_length=200, null=True)

    class Meta:
        table = "visit_assignment_span"
        indexes = (("household_id", "id"), ("visitor_id", "started_at"), ("community_id", "started_at"),
                   ("grid_id", "started_at"))


class VisitSource(StrEnum):
    ONLINE = "online"  # POST /visits
    OFFLINE = "offline"  # POST /visits/sync


class ReviewStatus(StrEnum):
    NONE = "none"
    ACCEPTED = "accepted"  # a flagged visit the grid leader looked at and accepted
    REJECTED = "rejected"  # not counted in plans and 台账

    @property
    def label(self) -> str:
        return {"none": "未审核", "accepted": "已确认", "rejected": "不予认可"}[self.value]


class Visit(models.Model, Place):
    """One check-in at a household. Times: ``visited_at`` as the phone said, ``effective_at`` corrected for a
    skewed phone clock (what plans and the 台账 count by), ``received_at`` when the server first got it."""

    id = fields.BigIntField(primary_key=True)
    client_id = fields.UUIDField(unique=True)
    visitor = fields.ForeignKeyField("core.User", related_name=False, on_delete=fields.RESTRICT, db_index=False)
    household = fields.ForeignKeyField("core.Household", related_name=False, on_delete=fields.RESTRICT,
                                       db_index=False)
    visited_at = fields.DatetimeField()
    effective_at = fields.DatetimeField()
    client_sent_at = fields.DatetimeField(null=True)
    received_at = fields.DatetimeField()
    skew_seconds = fields.IntField(null=True)  # phone clock minus server clock when the visit arrived
    lat = fields.FloatField(null=True)  # GCJ-02
    lng = fields.FloatField(null=True)
    accuracy_m = fields.FloatField(null=True)
    distance_m = fields.FloatField(null=True)  # to the household's building
    fence_m = fields.IntField()
    out_of_fence = fields.BooleanField(default=False)
    flagged = fields.BooleanField(default=False)
    flags = fields.JSONField(default=list)  # [{"code": ..., numbers...}]
    at_home = fields.BooleanField()
    notes = fields.CharField(max_length=1000, null=True)
    tags = fields.JSONField(default=list)
    photo_ids = fields.JSONField(default=list)
    source = fields.CharEnumField(VisitSource, max_length=8)
    review_status = fields.CharEnumField(ReviewStatus, max_length=8, default=ReviewStatus.NONE)
    reviewed_by_id = fields.BigIntField(null=True)
    reviewed_at = fields.DatetimeField(null=True)
    review_note = fields.CharField(max_length=200, null=True)
    version = fields.IntField(default=1, db_default=1)
    content_hash = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "visit"
        indexes = (("household_id", "effective_at"), ("visitor_id", "effective_at"),
                   ("community_id", "effective_at"), ("grid_id", "effective_at"), ("street_id", "effective_at"))


class VisitEvent(models.Model):
    """The history of a visit: created, edited (with the previous content), reviewed, problem reported, solved."""

    id = fields.BigIntField(primary_key=True)
    visit = fields.ForeignKeyField("visits.Visit", related_name=False, on_delete=fields.CASCADE, db_index=False)
    action = fields.CharField(max_length=24)
    actor_id = fields.BigIntField(null=True)
    from_version = fields.IntField(null=True)
    to_version = fields.IntField(null=True)
    data = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "visit_event"
        indexes = (("visit_id", "id"),)


class VisitProblem(models.Model, Place):
    """One problem a visit found (one per tag), open until solved on the spot or through a linked report."""

    id = fields.BigIntField(primary_key=True)
    visit = fields.ForeignKeyField("visits.Visit", related_name=False, on_delete=fields.CASCADE, db_index=False)
    household_id = fields.BigIntField()
    visitor_id = fields.BigIntField()
    tag = fields.CharField(max_length=16)
    found_at = fields.DatetimeField()  # the visit's effective time (the month it counts in)
    report_id = fields.BigIntField(null=True, unique=True)
    solved_at = fields.DatetimeField(null=True)
    solved_by_id = fields.BigIntField(null=True)
    solve_note = fields.CharField(max_length=500, null=True)

    class Meta:
        table = "visit_problem"
        unique_together = (("visit_id", "tag"),)
        indexes = (("community_id", "found_at"), ("grid_id", "found_at"), ("street_id", "found_at"),
                   ("visitor_id", "found_at"))


class HouseholdProfile(models.Model, Place):
    """The resident ledger (台账) of a household as visitors keep it.

    ID number, phone, health and disability status are sensitive: stored only encrypted (``*_enc``,
    backend/visits/sealing.py), masked in responses unless the role needs them, and the read is logged."""

    id = fields.BigIntField(primary_key=True)
    household = fields.OneToOneField("core.Household", related_name=False, on_delete=fields.CASCADE)
    people_living = fields.IntField(null=True)  # people actually living there now
    head_name = fields.CharField(max_length=32, null=True)
    head_id_number_enc = fields.TextField(null=True)
    contact_name = fields.CharField(max_length=32, null=True)
    contact_phone_enc = fields.TextField(null=True)
    health_status_enc = fields.TextField(null=True)
    disability_status_enc = fields.TextField(null=True)
    special_situation = fields.CharField(max_length=500, null=True)
    version = fields.IntField(default=1, db_default=1)
    updated_by_id = fields.BigIntField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "visit_household_profile"


class HouseholdMember(models.Model):
    """A person living in (or registered to) a household, as recorded by visitors. Removal is a mark.

    ID number, phone, health and disability are stored only encrypted (``*_enc``)."""

    id = fields.BigIntField(primary_key=True)
    household_id = fields.BigIntField()
    name = fields.CharField(max_length=32)
    relation = fields.CharField(max_length=16, null=True)  # 户主, 配偶, 子女…
    birth_year = fields.IntField(null=True)
    id_number_enc = fields.TextField(null=True)
    phone_enc = fields.TextField(null=True)
    health_status_enc = fields.TextField(null=True)
    disability_status_enc = fields.TextField(null=True)
    living_here = fields.BooleanField(default=True)
    removed_at = fields.DatetimeField(null=True)
    version = fields.IntField(default=1, db_default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "visit_household_member"
        indexes = (("household_id", "id"),)


class HouseholdChange(models.Model):
    """The change history of a resident ledger: one row per changed field (old and new value).

    A sensitive field's values are kept only encrypted (``old_enc``/``new_enc``), its clear columns empty."""

    id = fields.BigIntField(primary_key=True)
    household_id = fields.BigIntField()
    member_id = fields.BigIntField(null=True)
    field = fields.CharField(max_length=32)
    old_value = fields.CharField(max_length=500, null=True)
    new_value = fields.CharField(max_length=500, null=True)
    old_enc = fields.TextField(null=True)
    new_enc = fields.TextField(null=True)
    sensitive = fields.BooleanField(default=False)
    actor_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "visit_household_change"
        indexes = (("household_id", "id"),)


class MonthStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"

    @property
    def label(self) -> str:
        return {"draft": "未提交", "submitted": "待审核", "approved": "已通过", "returned": "已退回"}[self.value]


class VisitMonth(models.Model, Place):
    """One visitor's 走访台账 for one month. Placed in the grid holding most of the visitor's households, whose
    grid leader reviews it. ``stats`` is the snapshot taken when it was submitted."""

    id = fields.BigIntField(primary_key=True)
    visitor = fields.ForeignKeyField("core.User", related_name=False, on_delete=fields.CASCADE, db_index=False)
    month = fields.CharField(max_length=7)  # 2026-11, Beijing time
    status = fields.CharEnumField(MonthStatus, max_length=10, default=MonthStatus.DRAFT)
    stats = fields.JSONField(null=True)
    submitted_at = fields.DatetimeField(null=True)
    reviewed_by_id = fields.BigIntField(null=True)
    reviewed_at = fields.DatetimeField(null=True)
    return_reason = fields.CharField(max_length=500, null=True)
    version = fields.IntField(default=1, db_default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "visit_month"
        unique_together = (("visitor_id", "month"),)
        indexes = (("grid_id", "month"), ("community_id", "month"), ("street_id", "month"))


class VisitMonthEvent(models.Model):
    """The history of a 台账: submitted, approved, returned (with the reason)."""

    id = fields.BigIntField(primary_key=True)
    visit_month = fields.ForeignKeyField("visits.VisitMonth", related_name=False, on_delete=fields.CASCADE,
                                         db_index=False)
    action = fields.CharField(max_length=16)
    from_status = fields.CharField(max_length=10)
    to_status = fields.CharField(max_length=10)
    actor_id = fields.BigIntField(null=True)
    reason = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "visit_month_event"
        indexes = (("visit_month_id", "id"),)
