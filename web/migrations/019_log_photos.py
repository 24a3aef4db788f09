"""Peewee migrations -- 019_log_photos.py: photos on observation and input logs, kept once by SHA-256.

Some examples (model - class or model name)::

    > Model = migrator.orm['table_name']            # Return model in current state by name
    > Model = migrator.ModelClass                   # Return model in current state by name

    > migrator.sql(sql)                             # Run custom SQL
    > migrator.run(func, *args, **kwargs)           # Run python function with the given args
    > migrator.create_model(Model)                  # Create a model (could be used as decorator)
    > migrator.remove_model(model, cascade=True)    # Remove a model
    > migrator.add_fields(model, **fields)          # Add fields (allow_not_null=True skips default)
    > migrator.change_fields(model, **fields)       # Change fields
    > migrator.remove_fields(model, *field_names, cascade=True)
    > migrator.rename_field(model, old_field_name, new_field_name)
    > migrator.rename_table(model, new_table_name)
    > migrator.add_index(model, *col_names, unique=False)
    > migrator.add_not_null(model, *field_names)
    > migrator.add_default(model, field_name, default)
    > migrator.add_constraint(model, name, sql)
    > migrator.drop_index(model, *col_names)
    > migrator.drop_not_null(model, *field_names)
    > migrator.drop_constraints(model, *constraints)

"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""

    @migrator.create_model
    class Photo(pw.Model):
        id = pw.AutoField()
        sha256 = pw.CharField(max_length=64, unique=True)
        media_type = pw.CharField(max_length=32)
        size = pw.IntegerField()
        width = pw.IntegerField()
        height = pw.IntegerField()
        data = pw.BlobField()
        thumbnail = pw.BlobField()
        organisation = pw.ForeignKeyField(column_name='organisation_id', field='id', model=migrator.orm['organisation'], null=True, on_delete='SET NULL')
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "photo"
            legacy_table_names = False

    @migrator.create_model
    class LogPhoto(pw.Model):
        id = pw.AutoField()
        log = pw.ForeignKeyField(column_name='log_id', field='id', model=migrator.orm['log'], on_delete='CASCADE')
        photo = pw.ForeignKeyField(column_name='photo_id', field='id', model=migrator.orm['photo'])
        position = pw.IntegerField(default=0)
        latitude = pw.DoubleField(null=True)
        longitude = pw.DoubleField(null=True)

        class Meta:
            table_name = "log_photo"
            legacy_table_names = False
            indexes = [(('log', 'photo'), True), (('photo',), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""

    migrator.remove_model('log_photo')

    migrator.remove_model('photo')
