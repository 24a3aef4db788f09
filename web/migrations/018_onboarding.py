"""Peewee migrations -- 018_onboarding.py.

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


# Weather advice rows for any crop ("*") that spoke of livestock sheds, and so reached citrus and tea
# farms: (event_type, level, position, shipped text_zh, crop, text_zh, text_en). A row still carrying
# the shipped text is corrected; a row a bureau has edited is left as the bureau wrote it.
ADVICE_FIXES = (
    ('typhoon', 'blue', '2', '加固大棚、畜禽舍和临时棚架，收好晾晒的农产品和农机具。', '*', '加固临时棚架和果树支撑，收好晾晒的农产品和农机具。', 'Secure temporary structures and tree props; bring in produce that is drying outdoors and put away farm tools.'),
    ('blizzard', 'blue', '1', '检查大棚、畜禽舍和简易棚架，备好清雪工具和防寒物资。', '*', '检查大棚和简易棚架，备好清雪工具和防寒物资。', 'Check greenhouses and simple structures; have snow shovels and cold-protection materials ready.'),
    ('blizzard', 'yellow', '1', '大棚和圈舍及时清扫积雪，必要时加设支柱。', '*', '大棚和棚架及时清扫积雪，必要时加设支柱。', 'Sweep snow off greenhouses and trellises promptly and add props where needed.'),
    ('blizzard', 'orange', '1', '随下随扫，及时清除大棚和圈舍顶上的积雪，防止压塌。', '*', '随下随扫，及时清除大棚和棚架顶上的积雪，防止压塌。', 'Clear snow off greenhouses and trellises as it falls so they do not collapse.'),
    ('blizzard', 'orange', '2', '畜禽转入保暖圈舍，备足饲料和饮水。', 'livestock', '畜禽转入保暖圈舍，备足饲料和饮水。', 'Move livestock into warm housing with enough feed and water.'),
    ('cold_wave', 'blue', '2', '成熟的蔬菜和水果抓紧采收，畜禽舍做好保暖。', '*', '成熟的蔬菜和水果抓紧采收。', 'Harvest mature vegetables and fruit promptly.'),
    ('cold_wave', 'yellow', '2', '大棚夜间关闭通风口，畜禽舍封好门窗挡风。', '*', '果园、茶园和菜地覆盖防寒，大棚夜间关闭通风口。', 'Cover orchards, tea gardens and vegetable beds against the cold; close greenhouse vents at night.'),
    ('sandstorm', 'blue', '1', '关闭大棚和畜禽舍的门窗和通风口，收好晾晒的农产品。', '*', '关闭大棚的门窗和通风口，收好晾晒的农产品。', 'Close the doors, windows and vents of greenhouses, and bring in produce that is drying.'),
    ('sandstorm', 'orange', '2', '加固大棚和棚架，畜禽关进圈舍，备足饮水和饲料。', '*', '加固大棚和棚架，减少田间作业。', 'Secure greenhouses and trellises; cut back field work.'),
    ('heat', 'orange', '2', '畜禽舍通风降温，保证充足的清洁饮水。', 'livestock', '畜禽舍通风降温，保证充足的清洁饮水。', 'Ventilate and cool livestock housing and provide plenty of clean drinking water.'),
    ('hail', 'yellow', '2', '畜禽赶进圈舍，车辆和农机停到室内。', '*', '车辆和农机停到室内。', 'Put vehicles and farm machinery under cover.'),
    ('road_icing', 'orange', '2', '圈舍、大棚周边和院坝撒草木灰或沙土防滑，防止人员滑倒。', '*', '大棚周边、院坝和道路撒草木灰或沙土防滑，防止人员滑倒。', 'Spread wood ash or sand around greenhouses, yards and paths so people do not slip.'),
)


def _fix_advice(database):
    p = database.param
    with database.atomic():
        for event_type, level, position, old_zh, crop, text_zh, text_en in ADVICE_FIXES:
            database.execute_sql(
                f"UPDATE advice_rule SET crop = {p}, text_zh = {p}, text_en = {p} "
                f"WHERE event_type = {p} AND level = {p} AND crop = '*' AND position = {p} AND text_zh = {p}",
                (crop, text_zh, text_en, event_type, level, int(position), old_zh))


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """One-time links by which an administrator lets a user set their password (welcome, reset); weather
    advice for any crop no longer speaks of livestock sheds."""
    @migrator.create_model
    class AccessLink(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE')
        purpose = pw.CharField(max_length=8)
        token_hash = pw.CharField(max_length=64, unique=True)
        issued_by = pw.ForeignKeyField(column_name='issued_by_id', field='id', model=migrator.orm['user'], null=True, on_delete='SET NULL')
        created_at = pw.DateTimeField()
        expires_at = pw.DateTimeField()
        used_at = pw.DateTimeField(null=True)

        class Meta:
            legacy_table_names = False
            table_name = "access_link"

    migrator.run(_fix_advice, database)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    
    migrator.remove_model('access_link')
