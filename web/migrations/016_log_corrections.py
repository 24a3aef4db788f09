"""Peewee migrations -- 016_log_corrections.py.

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
    """A saved log is voided or corrected, never edited: the correction points at the log it
    corrects, the voided log at its correction, with when, who and why it was voided. Catalogue products name the crops they are registered for."""

    migrator.add_fields(
        'log',

        corrects=pw.ForeignKeyField(column_name='corrects_id', field='id', model='self', null=True, on_delete='SET NULL'),
        superseded_by=pw.ForeignKeyField(column_name='superseded_by_id', field='id', model='self', null=True, on_delete='SET NULL'),
        voided_at=pw.DateTimeField(null=True),
        voided_by=pw.ForeignKeyField(column_name='voided_by_id', field='id', model=migrator.orm['user'], null=True),
        void_reason=pw.CharField(default='', max_length=500))

    migrator.add_fields(
        'input_product',

        crops=pw.CharField(default='', max_length=255))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields('input_product', 'crops')
    migrator.remove_fields('log', 'corrects', 'superseded_by', 'voided_at', 'voided_by', 'void_reason')
