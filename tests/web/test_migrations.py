"""The schema is built by migrations, and a migration keeps existing data."""
import textwrap

from farms.models import Farm, Log
from web import db


def test_models_match_the_migrations(app):
    changes = db.pending_model_changes()
    assert not changes, "models changed without a migration; run: flask --app web make-migration NAME\n" + changes


def test_a_new_migration_applies_to_a_database_holding_data(app, world, tmp_path, monkeypatch):
    farms_before = [(f.id, f.name, f.county_code) for f in Farm.select().order_by(Farm.id)]
    logs_before = Log.select().count()
    # A later schema change, written as a developer would with make-migration.
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    for existing in db.MIGRATIONS_DIR.glob("*.py"):
        (migrations / existing.name).write_text(existing.read_text())
    (migrations / "999_farm_phone.py").write_text(textwrap.dedent('''
        import peewee as pw

        def migrate(migrator, database, *, fake=False):
            migrator.add_fields("farm", phone=pw.CharField(max_length=32, default="0797-0000000"))

        def rollback(migrator, database, *, fake=False):
            migrator.remove_fields("farm", "phone")
    '''))
    monkeypatch.setattr(db, "MIGRATIONS_DIR", migrations)
    db.migrate()
    db.migrate()  # running again changes nothing
    with db.database.connection_context():
        columns = {c.name for c in db.database.get_columns("farm")}
        assert "phone" in columns
        rows = db.database.execute_sql('SELECT id, name, county_code, phone FROM "farm" ORDER BY id').fetchall()
        assert [(r[0], r[1], r[2]) for r in rows] == farms_before
        assert {r[3] for r in rows} == {"0797-0000000"}
        assert Log.select().count() == logs_before
        # and it rolls back
        db.migration_router().rollback()
        assert "phone" not in {c.name for c in db.database.get_columns("farm")}


def test_init_db_is_idempotent(app, world):
    from web.cli import init_database
    from web.divisions import Division

    init_database()
    init_database()
    with db.database.connection_context():
        assert Division.select().count() == 112
        assert Farm.select().count() == 2
