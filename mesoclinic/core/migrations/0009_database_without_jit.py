"""PostgreSQL's JIT compilation off for this database (PostgreSQL only; nothing on SQLite).

The app's statements are short reads of a few rows, by an index. PostgreSQL compiles a query to
machine code when its estimated cost passes `jit_above_cost`, and on ten years of a clinic
chain (README, "Ten years of a clinic chain") the estimates of the lot recall's totals and the
patient page's counts pass it: the compiling then costs more than it saves. Measured on the
chain, same run: lot recall 750-810 ms with JIT, 530-660 ms without; patient page 186-221 ms
with, 149-166 ms without. Set on the database, not on the connection: a pooler in transaction
mode (PgBouncer) refuses a connection's `options`, and a `SET` would stay with the server
connection (README, "Growth beyond one machine"). It applies to connections opened after it.

The database's owner can set it for everyone; a role that migrates without owning the database
sets it for itself only (then run `ALTER DATABASE … SET jit = off` as the owner: README).
"""

from django.db import migrations


def _for_this_database(setting):
    """`setting` ("SET jit = off", "RESET jit") for the database, or for the migrating role in it
    when the role does not own the database."""
    return f"""
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I {setting}', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    EXECUTE format('ALTER ROLE %I IN DATABASE %I {setting}', current_user, current_database());
END
$$;
"""


JIT_OFF = _for_this_database("SET jit = off")
JIT_DEFAULT = _for_this_database("RESET jit")


def _run(schema_editor, sql):
    # Without parameters: format()'s %I must reach PostgreSQL as written.
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)


def forwards(apps, schema_editor):
    _run(schema_editor, JIT_OFF)


def backwards(apps, schema_editor):
    _run(schema_editor, JIT_DEFAULT)


class Migration(migrations.Migration):
    dependencies = [("core", "0008_audit_partitioned_by_year")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
