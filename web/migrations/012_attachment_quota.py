"""Peewee migrations -- 012_attachment_quota.py.

Attachments count against their organisation's storage (ATTACHMENT_QUOTA_BYTES): each file records
the organisation that uploaded it. Files stored earlier belong to none and count for nobody.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        'attachment',

        organisation=pw.ForeignKeyField(column_name='organisation_id', field='id', model=migrator.orm['organisation'],
                                        null=True, on_delete='SET NULL'))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields('attachment', 'organisation')
