"""Peewee migrations -- 009_chain.py.

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
    class OrgKey(pw.Model):
        id = pw.AutoField()
        organisation = pw.ForeignKeyField(column_name='organisation_id', field='id', model=migrator.orm['organisation'])
        address = pw.CharField(max_length=42, unique=True)
        keystore = pw.TextField()
        created_at = pw.DateTimeField()
        retired_at = pw.DateTimeField(null=True)

        class Meta:
            legacy_table_names = False
            table_name = "org_key"

    @migrator.create_model
    class Root(pw.Model):
        id = pw.AutoField()
        root = pw.CharField(max_length=66, unique=True)
        organisation = pw.ForeignKeyField(column_name='organisation_id', field='id', model=migrator.orm['organisation'])
        count = pw.IntegerField()
        state = pw.CharField(default='ready', index=True, max_length=10)
        tx_hash = pw.CharField(max_length=66, null=True)
        block_number = pw.BigIntegerField(null=True)
        anchored_at = pw.DateTimeField(null=True)
        submitter = pw.CharField(max_length=42, null=True)
        gas_used = pw.BigIntegerField(null=True)
        attempts = pw.IntegerField(default=0)
        last_error = pw.TextField(default='')
        next_try_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()
        confirmed_at = pw.DateTimeField(null=True)

        class Meta:
            legacy_table_names = False
            table_name = "root"

    @migrator.create_model
    class Seal(pw.Model):
        id = pw.AutoField()
        event_pk = pw.IntegerField(unique=True)
        event_uuid = pw.CharField(max_length=64)
        batch_id = pw.IntegerField()
        seq = pw.IntegerField()
        organisation = pw.ForeignKeyField(column_name='organisation_id', field='id', model=migrator.orm['organisation'])
        leaf = pw.CharField(max_length=66)
        prev = pw.CharField(max_length=66, null=True)
        signer = pw.CharField(max_length=42)
        signature = pw.CharField(max_length=132)
        root = pw.ForeignKeyField(column_name='root_id', field='id', model=migrator.orm['root'], null=True)
        proof = pw.TextField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            legacy_table_names = False
            table_name = "seal"
            indexes = [(('batch_id', 'seq'), True), (('organisation', 'root'), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    
    migrator.remove_model('seal')

    migrator.remove_model('root')

    migrator.remove_model('org_key')
