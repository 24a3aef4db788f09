"""Peewee migrations -- 002_trace.py.

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
    class Attachment(pw.Model):
        id = pw.AutoField()
        sha256 = pw.CharField(max_length=64, unique=True)
        filename = pw.CharField(max_length=200)
        media_type = pw.CharField(max_length=100)
        size = pw.IntegerField()
        data = pw.BlobField()
        created_at = pw.DateTimeField()

        class Meta:
            legacy_table_names = False
            table_name = "attachment"

    @migrator.create_model
    class Batch(pw.Model):
        id = pw.AutoField()
        code = pw.CharField(max_length=32, unique=True)
        organisation = pw.ForeignKeyField(column_name='organisation_id', field='id', model=migrator.orm['organisation'])
        holder = pw.ForeignKeyField(column_name='holder_id', field='id', model=migrator.orm['organisation'])
        destination = pw.ForeignKeyField(column_name='destination_id', field='id', model=migrator.orm['organisation'], null=True)
        lot_number = pw.CharField(max_length=20)
        gtin = pw.CharField(max_length=14, null=True)
        product_name = pw.CharField(max_length=120)
        product_name_en = pw.CharField(default='', max_length=120)
        crop_code = pw.CharField(default='', max_length=32)
        variety = pw.CharField(default='', max_length=80)
        farm = pw.ForeignKeyField(column_name='farm_id', field='id', model=migrator.orm['farm'], null=True)
        plot = pw.ForeignKeyField(column_name='plot_id', field='id', model=migrator.orm['plot'], null=True)
        harvest_log = pw.ForeignKeyField(column_name='harvest_log_id', field='id', model=migrator.orm['log'], null=True)
        harvest_date = pw.DateField(null=True)
        quantity = pw.FloatField()
        remaining = pw.FloatField()
        unit = pw.CharField(max_length=16)
        status = pw.CharField(default='active', max_length=16)
        created_by = pw.ForeignKeyField(column_name='created_by_id', field='id', model=migrator.orm['user'], null=True)
        created_at = pw.DateTimeField()

        class Meta:
            legacy_table_names = False
            table_name = "batch"
            indexes = [(('organisation', 'lot_number'), True)]

    @migrator.create_model
    class BatchLink(pw.Model):
        id = pw.AutoField()
        parent = pw.ForeignKeyField(column_name='parent_id', field='id', model=migrator.orm['batch'])
        child = pw.ForeignKeyField(column_name='child_id', field='id', model=migrator.orm['batch'])
        kind = pw.CharField(max_length=16)
        quantity = pw.FloatField()

        class Meta:
            legacy_table_names = False
            table_name = "batch_link"
            indexes = [(('parent', 'child'), True), (('child', 'parent'), False)]

    @migrator.create_model
    class Event(pw.Model):
        id = pw.AutoField()
        event_id = pw.CharField(max_length=64)
        kind = pw.CharField(default='event', max_length=20)
        batch = pw.ForeignKeyField(column_name='batch_id', field='id', model=migrator.orm['batch'])
        biz_step = pw.CharField(max_length=32)
        event_time = pw.DateTimeField()
        organisation = pw.ForeignKeyField(column_name='organisation_id', field='id', model=migrator.orm['organisation'])
        recorded_by = pw.ForeignKeyField(column_name='recorded_by_id', field='id', model=migrator.orm['user'], null=True)
        corrects = pw.CharField(max_length=64, null=True)
        document = pw.TextField()
        hash = pw.CharField(max_length=64)
        recorded_at = pw.DateTimeField()

        class Meta:
            legacy_table_names = False
            table_name = "event"
            indexes = [(('batch', 'event_time'), False), (('event_id', 'kind'), True)]

    @migrator.create_model
    class Inspection(pw.Model):
        id = pw.AutoField()
        lab = pw.ForeignKeyField(column_name='lab_id', field='id', model=migrator.orm['organisation'])
        inspector = pw.ForeignKeyField(column_name='inspector_id', field='id', model=migrator.orm['user'], null=True)
        batch = pw.ForeignKeyField(column_name='batch_id', field='id', model=migrator.orm['batch'], null=True)
        plot = pw.ForeignKeyField(column_name='plot_id', field='id', model=migrator.orm['plot'], null=True)
        sampled_at = pw.DateTimeField()
        passed = pw.BooleanField()
        items = pw.TextField()
        report_sha256 = pw.CharField(max_length=64, null=True)
        created_at = pw.DateTimeField()

        class Meta:
            legacy_table_names = False
            table_name = "inspection"

    @migrator.create_model
    class Scan(pw.Model):
        id = pw.AutoField()
        batch = pw.ForeignKeyField(column_name='batch_id', field='id', model=migrator.orm['batch'])
        serial = pw.CharField(max_length=20, null=True)
        scanned_at = pw.DateTimeField()
        place = pw.CharField(max_length=16)

        class Meta:
            legacy_table_names = False
            table_name = "scan"
            indexes = [(('batch', 'scanned_at'), False)]

    # Journey events are append-only in the database too, not only in the code.
    if isinstance(database, pw.PostgresqlDatabase):
        migrator.sql("""
            CREATE FUNCTION event_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'journey events are append-only'; END;
            $$ LANGUAGE plpgsql""")
        migrator.sql("""
            CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE ON "event"
            FOR EACH ROW EXECUTE FUNCTION event_append_only()""")
    else:
        migrator.sql("""
            CREATE TRIGGER event_no_update BEFORE UPDATE ON "event"
            BEGIN SELECT RAISE(ABORT, 'journey events are append-only'); END""")
        migrator.sql("""
            CREATE TRIGGER event_no_delete BEFORE DELETE ON "event"
            BEGIN SELECT RAISE(ABORT, 'journey events are append-only'); END""")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    
    migrator.remove_model('scan')

    migrator.remove_model('inspection')

    if isinstance(database, pw.PostgresqlDatabase):
        migrator.sql('DROP TRIGGER IF EXISTS event_append_only ON "event"')
        migrator.sql("DROP FUNCTION IF EXISTS event_append_only()")
    migrator.remove_model('event')

    migrator.remove_model('batch_link')

    migrator.remove_model('batch')

    migrator.remove_model('attachment')
