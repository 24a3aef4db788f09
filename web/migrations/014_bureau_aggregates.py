"""Peewee migrations -- 014_bureau_aggregates.py.

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
    """The bureau's per-county tallies, its snapshot days and refresh mark; refused batches (pre-harvest intervals)."""
    @migrator.create_model
    class PhiRefusal(pw.Model):
        id = pw.AutoField()
        harvest_log = pw.ForeignKeyField(column_name='harvest_log_id', field='id', model=migrator.orm['log'], on_delete='CASCADE')
        farm = pw.ForeignKeyField(column_name='farm_id', field='id', model=migrator.orm['farm'])
        refused_at = pw.DateTimeField()

        class Meta:
            legacy_table_names = False
            table_name = "phi_refusal"
            indexes = [(('refused_at',), False)]

    @migrator.create_model
    class RefreshMark(pw.Model):
        name = pw.CharField(max_length=16, primary_key=True)
        refreshed_at = pw.DateTimeField()

        class Meta:
            legacy_table_names = False
            table_name = "bureau_refresh"

    @migrator.create_model
    class Snapshot(pw.Model):
        day = pw.DateField(primary_key=True)
        taken_at = pw.DateTimeField()

        class Meta:
            legacy_table_names = False
            table_name = "bureau_snapshot"

    @migrator.create_model
    class Tally(pw.Model):
        id = pw.AutoField()
        period = pw.CharField(max_length=5)
        start = pw.DateField()
        county_code = pw.CharField(max_length=6)
        metric = pw.CharField(max_length=32)
        key = pw.CharField(default='', max_length=120)
        value = pw.FloatField()

        class Meta:
            legacy_table_names = False
            table_name = "bureau_tally"
            indexes = [(('period', 'start', 'county_code', 'metric', 'key'), True), (('county_code', 'period', 'start'), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model('bureau_tally')

    migrator.remove_model('bureau_snapshot')

    migrator.remove_model('bureau_refresh')

    migrator.remove_model('phi_refusal')
