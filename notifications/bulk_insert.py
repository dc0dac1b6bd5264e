"""Many rows of one model written fast: PostgreSQL's COPY, else Django's bulk_create.

A bulk's 10,000 SMSLog rows cost seconds through INSERT (bulk_create builds a model instance
and a parameter list per row); COPY streams them in a fraction of that. Only the columns that
differ from row to row are computed per row; every other value comes from one template.
"""

from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import CharField, IntegerField, Model, TextField


def insert_rows(template: Model, varying: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert one row per item of `rows`: the values of the `varying` fields in that order, the
    other fields as on `template` (an unsaved instance; its defaults and auto_now values
    apply), each with a new primary key. Returns how many rows were written."""
    model = type(template)
    if connection.vendor != "postgresql":
        return _bulk_create(template, varying, rows)
    for field in model._meta.concrete_fields:
        field.pre_save(template, add=True)  # auto_now_add and auto_now, as save() would
    pk = model._meta.pk
    # Columns left out are NULL: those whose value is NULL on every row are not sent at all.
    fields = [
        field
        for field in model._meta.concrete_fields
        if field is pk or field.name in varying or getattr(template, field.attname) is not None
    ]
    common = [
        field.get_db_prep_save(getattr(template, field.attname), connection) for field in fields
    ]
    pk_slot = fields.index(pk)
    slots = [fields.index(model._meta.get_field(name)) for name in varying]
    preps = [_prep(model._meta.get_field(name)) for name in varying]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    written = 0
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copier:
            for row in rows:
                values = list(common)
                values[pk_slot] = pk.get_db_prep_save(pk.get_default(), connection)
                for slot, prep, value in zip(slots, preps, row, strict=True):
                    values[slot] = prep(value)
                copier.write_row(values)
                written += 1
    return written


def _prep(field):
    """How a value of `field` goes to the database: as it is for text and whole numbers."""
    if isinstance(field, CharField | TextField | IntegerField):
        return lambda value: value
    return lambda value: field.get_db_prep_save(value, connection)


def _bulk_create(template: Model, varying: Sequence[str], rows: Iterable[Sequence]) -> int:
    model = type(template)
    common = {
        field.attname: getattr(template, field.attname)
        for field in model._meta.concrete_fields
        if not field.primary_key
    }
    objects = [model(**{**common, **dict(zip(varying, row, strict=True))}) for row in rows]
    model.objects.bulk_create(objects, batch_size=2000)
    return len(objects)
