"""Peewee migrations -- 001_initial.py.

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
    class Division(pw.Model):
        code = pw.CharField(max_length=6, primary_key=True)
        name = pw.CharField(max_length=64)
        parent_code = pw.CharField(index=True, max_length=6, null=True)
        level = pw.CharField(max_length=16)

        class Meta:
            legacy_table_names = False
            table_name = "division"

    @migrator.create_model
    class Organisation(pw.Model):
        id = pw.AutoField()
        name = pw.CharField(max_length=120, unique=True)
        kind = pw.CharField(max_length=16)
        division = pw.ForeignKeyField(column_name='division_code', field='code', model=migrator.orm['division'], null=True)
        contact_phone = pw.CharField(default='', max_length=32)
        created_at = pw.DateTimeField()

        class Meta:
            legacy_table_names = False
            table_name = "organisation"

    @migrator.create_model
    class User(pw.Model):
        id = pw.AutoField()
        username = pw.CharField(max_length=64, unique=True)
        password_hash = pw.CharField(max_length=255)
        display_name = pw.CharField(default='', max_length=64)
        role = pw.CharField(max_length=16)
        organisation = pw.ForeignKeyField(column_name='organisation_id', field='id', model=migrator.orm['organisation'], null=True)
        division = pw.ForeignKeyField(column_name='division_code', field='code', model=migrator.orm['division'], null=True)
        locale = pw.CharField(max_length=8, null=True)
        active = pw.BooleanField(default=True)
        created_at = pw.DateTimeField()
        last_login_at = pw.DateTimeField(null=True)

        class Meta:
            legacy_table_names = False
            table_name = "user"

    @migrator.create_model
    class ApiToken(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE')
        name = pw.CharField(max_length=64)
        prefix = pw.CharField(max_length=12)
        token_hash = pw.CharField(max_length=64, unique=True)
        created_at = pw.DateTimeField()
        last_used_at = pw.DateTimeField(null=True)
        revoked_at = pw.DateTimeField(null=True)

        class Meta:
            legacy_table_names = False
            table_name = "api_token"

    @migrator.create_model
    class Farm(pw.Model):
        id = pw.AutoField()
        name = pw.CharField(max_length=120)
        organisation = pw.ForeignKeyField(column_name='organisation_id', field='id', model=migrator.orm['organisation'])
        county = pw.ForeignKeyField(column_name='county_code', field='code', model=migrator.orm['division'])
        address = pw.CharField(default='', max_length=255)
        latitude = pw.FloatField(null=True)
        longitude = pw.FloatField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            legacy_table_names = False
            table_name = "farm"
            indexes = [(('organisation', 'name'), True)]

    @migrator.create_model
    class Certification(pw.Model):
        id = pw.AutoField()
        farm = pw.ForeignKeyField(column_name='farm_id', field='id', model=migrator.orm['farm'], on_delete='CASCADE')
        kind = pw.CharField(max_length=32)
        number = pw.CharField(default='', max_length=64)
        valid_until = pw.DateField(null=True)

        class Meta:
            legacy_table_names = False
            table_name = "certification"

    @migrator.create_model
    class Crop(pw.Model):
        id = pw.AutoField()
        code = pw.CharField(max_length=32, unique=True)
        name_zh = pw.CharField(max_length=64)
        name_en = pw.CharField(max_length=64)
        category = pw.CharField(max_length=16)
        default_unit = pw.CharField(default='kg', max_length=16)

        class Meta:
            legacy_table_names = False
            table_name = "crop"

    @migrator.create_model
    class FarmMember(pw.Model):
        id = pw.AutoField()
        farm = pw.ForeignKeyField(column_name='farm_id', field='id', model=migrator.orm['farm'], on_delete='CASCADE')
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE')
        role = pw.CharField(max_length=8)

        class Meta:
            legacy_table_names = False
            table_name = "farm_member"
            indexes = [(('farm', 'user'), True)]

    @migrator.create_model
    class InputProduct(pw.Model):
        id = pw.AutoField()
        code = pw.CharField(max_length=48, unique=True)
        name_zh = pw.CharField(max_length=64)
        name_en = pw.CharField(max_length=64)
        category = pw.CharField(max_length=20)
        active_ingredient = pw.CharField(default='', max_length=120)
        phi_days = pw.IntegerField(default=0)
        default_unit = pw.CharField(default='ml/亩', max_length=16)

        class Meta:
            legacy_table_names = False
            table_name = "input_product"

    @migrator.create_model
    class Plot(pw.Model):
        id = pw.AutoField()
        farm = pw.ForeignKeyField(column_name='farm_id', field='id', model=migrator.orm['farm'])
        name = pw.CharField(max_length=80)
        kind = pw.CharField(max_length=16)
        area_m2 = pw.FloatField()
        geometry = pw.TextField(null=True)
        notes = pw.TextField(default='')
        created_at = pw.DateTimeField()

        class Meta:
            legacy_table_names = False
            table_name = "plot"
            indexes = [(('farm', 'name'), True)]

    @migrator.create_model
    class Planting(pw.Model):
        id = pw.AutoField()
        plot = pw.ForeignKeyField(column_name='plot_id', field='id', model=migrator.orm['plot'])
        crop = pw.ForeignKeyField(column_name='crop_id', field='id', model=migrator.orm['crop'])
        variety = pw.CharField(default='', max_length=80)
        start_method = pw.CharField(default='sown', max_length=16)
        start_date = pw.DateField()
        expected_harvest = pw.DateField(null=True)
        ended_on = pw.DateField(null=True)
        notes = pw.TextField(default='')
        created_at = pw.DateTimeField()

        class Meta:
            legacy_table_names = False
            table_name = "planting"

    @migrator.create_model
    class Log(pw.Model):
        id = pw.AutoField()
        farm = pw.ForeignKeyField(column_name='farm_id', field='id', model=migrator.orm['farm'])
        kind = pw.CharField(max_length=16)
        timestamp = pw.DateTimeField()
        planting = pw.ForeignKeyField(column_name='planting_id', field='id', model=migrator.orm['planting'], null=True)
        notes = pw.TextField(default='')
        quantity = pw.FloatField(null=True)
        unit = pw.CharField(default='', max_length=16)
        input_product = pw.ForeignKeyField(column_name='input_product_id', field='id', model=migrator.orm['input_product'], null=True)
        input_category = pw.CharField(default='', max_length=20)
        product_name = pw.CharField(default='', max_length=120)
        active_ingredient = pw.CharField(default='', max_length=120)
        dose = pw.FloatField(null=True)
        dose_unit = pw.CharField(default='', max_length=16)
        phi_days = pw.IntegerField(null=True)
        input_lot = pw.CharField(default='', max_length=64)
        activity_kind = pw.CharField(default='', max_length=20)
        lot_number = pw.CharField(default='', max_length=64)
        created_by = pw.ForeignKeyField(column_name='created_by_id', field='id', model=migrator.orm['user'], null=True)
        created_at = pw.DateTimeField()

        class Meta:
            legacy_table_names = False
            table_name = "log"
            indexes = [(('farm', 'timestamp'), False)]

    @migrator.create_model
    class LogPlot(pw.Model):
        id = pw.AutoField()
        log = pw.ForeignKeyField(column_name='log_id', field='id', model=migrator.orm['log'], on_delete='CASCADE')
        plot = pw.ForeignKeyField(column_name='plot_id', field='id', model=migrator.orm['plot'])

        class Meta:
            legacy_table_names = False
            table_name = "log_plot"
            indexes = [(('log', 'plot'), True), (('plot', 'log'), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    
    migrator.remove_model('log_plot')

    migrator.remove_model('log')

    migrator.remove_model('planting')

    migrator.remove_model('plot')

    migrator.remove_model('input_product')

    migrator.remove_model('farm_member')

    migrator.remove_model('crop')

    migrator.remove_model('certification')

    migrator.remove_model('farm')

    migrator.remove_model('api_token')

    migrator.remove_model('user')

    migrator.remove_model('organisation')

    migrator.remove_model('division')
