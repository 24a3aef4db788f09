"""Peewee migrations -- 004_sensors.py.

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
    class Device(pw.Model):
        id = pw.AutoField()
        farm = pw.ForeignKeyField(column_name='farm_id', field='id', model=migrator.orm['farm'])
        plot = pw.ForeignKeyField(column_name='plot_id', field='id', model=migrator.orm['plot'])
        uid = pw.CharField(max_length=64, unique=True)
        name = pw.CharField(max_length=80)
        metrics = pw.CharField(max_length=400)
        active = pw.BooleanField(default=True)
        last_seen_at = pw.DateTimeField(null=True)
        rejected_count = pw.IntegerField(default=0)
        last_rejection = pw.TextField(null=True)
        last_rejection_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            legacy_table_names = False
            table_name = "device"

    @migrator.create_model
    class DeviceCredential(pw.Model):
        id = pw.AutoField()
        device = pw.ForeignKeyField(column_name='device_id', field='id', model=migrator.orm['device'], on_delete='CASCADE')
        prefix = pw.CharField(max_length=12)
        token_hash = pw.CharField(max_length=64, unique=True)
        created_at = pw.DateTimeField()
        revoked_at = pw.DateTimeField(null=True)

        class Meta:
            legacy_table_names = False
            table_name = "device_credential"

    @migrator.create_model
    class Reading(pw.Model):
        id = pw.AutoField()
        device = pw.ForeignKeyField(column_name='device_id', field='id', model=migrator.orm['device'], on_delete='CASCADE')
        metric = pw.CharField(max_length=32)
        ts = pw.DateTimeField()
        value = pw.FloatField()
        credential = pw.ForeignKeyField(column_name='credential_id', field='id', model=migrator.orm['device_credential'], null=True)

        class Meta:
            legacy_table_names = False
            table_name = "reading"
            indexes = [(('device', 'metric', 'ts'), True)]

    @migrator.create_model
    class Rollup(pw.Model):
        id = pw.AutoField()
        device = pw.ForeignKeyField(column_name='device_id', field='id', model=migrator.orm['device'], on_delete='CASCADE')
        metric = pw.CharField(max_length=32)
        period = pw.CharField(max_length=4)
        start = pw.DateTimeField()
        count = pw.IntegerField()
        total = pw.FloatField()
        minimum = pw.FloatField()
        maximum = pw.FloatField()

        class Meta:
            legacy_table_names = False
            table_name = "rollup"
            indexes = [(('device', 'metric', 'period', 'start'), True)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    
    migrator.remove_model('rollup')

    migrator.remove_model('reading')

    migrator.remove_model('device_credential')

    migrator.remove_model('device')
