"""Peewee migrations -- 017_contacts.py.

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


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Contacts for the certificate of conformity (a farm's phone, an organisation's address), and who
    entered a trading partner in the organisation directory."""

    migrator.add_fields(
        'farm',

        contact_phone=pw.CharField(default='', max_length=32))

    migrator.add_fields(
        'organisation',

        address=pw.CharField(default='', max_length=255),
        added_by=pw.ForeignKeyField(column_name='added_by_id', field='id', model=migrator.orm['organisation'],
                                    null=True, on_delete='SET NULL'))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):

    migrator.remove_fields('organisation', 'address', 'added_by')

    migrator.remove_fields('farm', 'contact_phone')
