"""Rows written by COPY are the rows bulk_create would write (SQLite, for `make run`, uses it)."""

import pytest
from django.forms.models import model_to_dict

from notifications import bulk_insert
from notifications.models import BulkSend, SMSLog
from notifications.status import SMSStatus

pytestmark = pytest.mark.django_db

VARYING = ("to", "bulk_index", "status", "error_message")
SKIP = ("id", "created_at", "updated_at", "next_attempt_at")


def written(bulk, index) -> dict:
    row = model_to_dict(SMSLog.objects.get(bulk=bulk, bulk_index=index))
    return {name: value for name, value in row.items() if name not in SKIP}


def test_copy_writes_what_bulk_create_writes():
    bulk = BulkSend.objects.create(body="hi", total=4)
    template = SMSLog(body="hi", sender="+15005550006", bulk=bulk, reference="ref-1")
    rows = [
        ("+919812345610", 0, SMSStatus.PENDING, ""),
        ("+919812345611", 1, SMSStatus.SKIPPED, "opted out"),
    ]
    assert bulk_insert.insert_rows(template, VARYING, rows) == 2  # COPY on PostgreSQL
    assert bulk_insert._bulk_create(template, VARYING, [(to, i + 2, s, e) for to, i, s, e in rows])
    for index in (0, 1):
        copied, created = written(bulk, index), written(bulk, index + 2)
        assert {**copied, "bulk_index": None} == {**created, "bulk_index": None}
    ids = list(SMSLog.objects.values_list("id", flat=True))
    assert len(set(ids)) == 4
    assert written(bulk, 1)["status"] == SMSStatus.SKIPPED
    assert SMSLog.objects.get(bulk=bulk, bulk_index=0).created_at is not None
