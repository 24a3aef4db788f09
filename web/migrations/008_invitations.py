"""Peewee migrations -- 008_invitations.py.

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
    
    migrator.add_fields(
        'user',

        organisation_role=pw.CharField(default='member', max_length=8))

    # Everyone placed in an organisation before invitations existed was put there by an
    # administrator: they keep managing it (inviting is the one thing a manager adds).
    migrator.sql("UPDATE \"user\" SET organisation_role = 'manager' WHERE organisation_id IS NOT NULL")

    @migrator.create_model
    class FarmInvitation(pw.Model):
        id = pw.AutoField()
        farm = pw.ForeignKeyField(column_name='farm_id', field='id', model=migrator.orm['farm'], on_delete='CASCADE')
        invitee = pw.ForeignKeyField(column_name='invitee_id', field='id', model=migrator.orm['user'], on_delete='CASCADE')
        role = pw.CharField(max_length=8)
        invited_by = pw.ForeignKeyField(column_name='invited_by_id', field='id', model=migrator.orm['user'], null=True, on_delete='SET NULL')
        state = pw.CharField(default='pending', max_length=10)
        created_at = pw.DateTimeField()
        expires_at = pw.DateTimeField()
        answered_at = pw.DateTimeField(null=True)

        class Meta:
            legacy_table_names = False
            table_name = "farm_invitation"

    @migrator.create_model
    class Invitation(pw.Model):
        id = pw.AutoField()
        organisation = pw.ForeignKeyField(column_name='organisation_id', field='id', model=migrator.orm['organisation'], on_delete='CASCADE')
        invitee = pw.ForeignKeyField(column_name='invitee_id', field='id', model=migrator.orm['user'], on_delete='CASCADE')
        role = pw.CharField(max_length=8)
        invited_by = pw.ForeignKeyField(column_name='invited_by_id', field='id', model=migrator.orm['user'], null=True, on_delete='SET NULL')
        state = pw.CharField(default='pending', max_length=10)
        created_at = pw.DateTimeField()
        expires_at = pw.DateTimeField()
        answered_at = pw.DateTimeField(null=True)

        class Meta:
            legacy_table_names = False
            table_name = "invitation"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    
    migrator.remove_fields('user', 'organisation_role')

    migrator.remove_model('invitation')

    migrator.remove_model('farm_invitation')
