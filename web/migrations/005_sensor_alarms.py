"""Peewee migrations -- 005_sensor_alarms.py.

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
    class AlarmRule(pw.Model):
        id = pw.AutoField()
        plot = pw.ForeignKeyField(column_name='plot_id', field='id', model=migrator.orm['plot'], on_delete='CASCADE')
        metric = pw.CharField(max_length=32)
        comparison = pw.CharField(max_length=8)
        threshold = pw.FloatField(null=True)
        low = pw.FloatField(null=True)
        high = pw.FloatField(null=True)
        duration_seconds = pw.IntegerField(default=0)
        hysteresis = pw.FloatField(default=0.0)
        severity = pw.CharField(default='yellow', max_length=8)
        enabled = pw.BooleanField(default=True)
        advice_zh = pw.TextField(default='')
        advice_en = pw.TextField(default='')
        origin = pw.CharField(max_length=80, null=True)
        created_at = pw.DateTimeField()

        class Meta:
            legacy_table_names = False
            table_name = "alarm_rule"
            indexes = [(('plot', 'origin'), True)]

    @migrator.create_model
    class AlarmState(pw.Model):
        id = pw.AutoField()
        rule = pw.ForeignKeyField(column_name='rule_id', field='id', model=migrator.orm['alarm_rule'], on_delete='CASCADE')
        device = pw.ForeignKeyField(column_name='device_id', field='id', model=migrator.orm['device'], on_delete='CASCADE')
        breach_started_at = pw.DateTimeField(null=True)
        active = pw.BooleanField(default=False)
        last_value = pw.FloatField(null=True)
        last_ts = pw.DateTimeField(null=True)
        updated_at = pw.DateTimeField()

        class Meta:
            legacy_table_names = False
            table_name = "alarm_state"
            indexes = [(('rule', 'device'), True)]

    @migrator.create_model
    class DailyRecord(pw.Model):
        id = pw.AutoField()
        plot = pw.ForeignKeyField(column_name='plot_id', field='id', model=migrator.orm['plot'], on_delete='CASCADE')
        day = pw.DateField()
        log = pw.ForeignKeyField(column_name='log_id', field='id', model=migrator.orm['log'], null=True, on_delete='SET NULL')
        created_at = pw.DateTimeField()

        class Meta:
            legacy_table_names = False
            table_name = "daily_record"
            indexes = [(('plot', 'day'), True)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    
    migrator.remove_model('daily_record')

    migrator.remove_model('alarm_state')

    migrator.remove_model('alarm_rule')
