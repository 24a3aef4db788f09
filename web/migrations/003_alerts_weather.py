"""Peewee migrations -- 003_alerts_weather.py.

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
    class AdviceRule(pw.Model):
        id = pw.AutoField()
        event_type = pw.CharField(max_length=16)
        level = pw.CharField(default='*', max_length=8)
        crop = pw.CharField(default='*', max_length=32)
        text_zh = pw.TextField()
        text_en = pw.TextField()
        position = pw.IntegerField(default=0)
        updated_at = pw.DateTimeField()

        class Meta:
            legacy_table_names = False
            table_name = "advice_rule"

    @migrator.create_model
    class Alert(pw.Model):
        id = pw.AutoField()
        source = pw.CharField(max_length=16)
        source_key = pw.CharField(max_length=200)
        severity = pw.CharField(max_length=8)
        farm = pw.ForeignKeyField(column_name='farm_id', field='id', model=migrator.orm['farm'])
        plot = pw.ForeignKeyField(column_name='plot_id', field='id', model=migrator.orm['plot'], null=True)
        content = pw.TextField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        acknowledged_at = pw.DateTimeField(null=True)
        acknowledged_by = pw.ForeignKeyField(column_name='acknowledged_by_id', field='id', model=migrator.orm['user'], null=True)
        cleared_at = pw.DateTimeField(null=True)

        class Meta:
            legacy_table_names = False
            table_name = "alert"
            indexes = [(('source', 'source_key', 'farm'), True), (('farm', 'cleared_at'), False)]

    @migrator.create_model
    class Delivery(pw.Model):
        id = pw.AutoField()
        alert = pw.ForeignKeyField(column_name='alert_id', field='id', model=migrator.orm['alert'], on_delete='CASCADE')
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE')
        channel = pw.CharField(max_length=16)
        round = pw.IntegerField(default=0)
        status = pw.CharField(default='pending', max_length=16)
        attempts = pw.IntegerField(default=0)
        next_attempt_at = pw.DateTimeField()
        last_error = pw.TextField(null=True)
        sent_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            legacy_table_names = False
            table_name = "delivery"
            indexes = [(('alert', 'user', 'channel', 'round'), True), (('status', 'next_attempt_at'), False)]

    @migrator.create_model
    class Feed(pw.Model):
        id = pw.AutoField()
        name = pw.CharField(max_length=120)
        url = pw.CharField(max_length=500, unique=True)
        format = pw.CharField(default='cap', max_length=16)
        interval_seconds = pw.IntegerField(default=300)
        enabled = pw.BooleanField(default=True)
        etag = pw.CharField(max_length=200, null=True)
        last_modified = pw.CharField(max_length=100, null=True)
        last_polled_at = pw.DateTimeField(null=True)
        last_success_at = pw.DateTimeField(null=True)
        last_error = pw.TextField(null=True)
        last_error_at = pw.DateTimeField(null=True)
        failures = pw.IntegerField(default=0)
        next_poll_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            legacy_table_names = False
            table_name = "feed"

    @migrator.create_model
    class NotificationPreference(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE', unique=True)
        channels = pw.CharField(default='in_app', max_length=100)
        min_level = pw.CharField(default='blue', max_length=8)
        quiet_start = pw.CharField(max_length=5, null=True)
        quiet_end = pw.CharField(max_length=5, null=True)
        webhook_url = pw.CharField(max_length=500, null=True)
        wecom_url = pw.CharField(max_length=500, null=True)
        dingtalk_url = pw.CharField(max_length=500, null=True)
        phone = pw.CharField(max_length=20, null=True)

        class Meta:
            legacy_table_names = False
            table_name = "notification_preference"

    @migrator.create_model
    class Warning(pw.Model):
        id = pw.AutoField()
        sender = pw.CharField(max_length=200)
        identifier = pw.CharField(max_length=200)
        sent = pw.DateTimeField()
        msg_type = pw.CharField(max_length=16)
        status = pw.CharField(max_length=16)
        scope = pw.CharField(default='Public', max_length=16)
        event_type = pw.CharField(max_length=16)
        level = pw.CharField(max_length=8)
        event = pw.CharField(default='', max_length=200)
        expires = pw.DateTimeField(null=True)
        onset = pw.DateTimeField(null=True)
        document = pw.TextField()
        state = pw.CharField(default='active', max_length=16)
        replaced_by = pw.CharField(max_length=420, null=True)
        feed = pw.ForeignKeyField(column_name='feed_id', field='id', model=migrator.orm['feed'], null=True)
        received_at = pw.DateTimeField()

        class Meta:
            legacy_table_names = False
            table_name = "warning"
            indexes = [(('sender', 'identifier'), True), (('state', 'expires'), False)]

    @migrator.create_model
    class WarningReference(pw.Model):
        id = pw.AutoField()
        warning = pw.ForeignKeyField(column_name='warning_id', field='id', model=migrator.orm['warning'], on_delete='CASCADE')
        sender = pw.CharField(max_length=200)
        identifier = pw.CharField(max_length=200)

        class Meta:
            legacy_table_names = False
            table_name = "warning_reference"
            indexes = [(('sender', 'identifier'), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    
    migrator.remove_model('warning_reference')

    migrator.remove_model('warning')

    migrator.remove_model('notification_preference')

    migrator.remove_model('feed')

    migrator.remove_model('delivery')

    migrator.remove_model('alert')

    migrator.remove_model('advice_rule')
