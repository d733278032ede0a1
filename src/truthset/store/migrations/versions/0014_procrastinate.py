"""procrastinate's schema (PostgreSQL only): the task queue that runs background runs on
any host (issue 15). Nothing on SQLite, where the server executes its runs itself.

The schema is procrastinate's own `schema.sql` of the installed version, applied here so
that `truthset migrate` (and every entry point's `open_workspace`) makes the whole
database in one transaction, with nothing to run by hand. `SCHEMA_AT` names the newest
migration file of procrastinate that this schema includes; `tests/runs/test_queue.py`
fails when the installed procrastinate brings a newer one, so an upgrade comes with a
migration of ours applying procrastinate's delta files to existing databases.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 06:45:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

SCHEMA_AT = "03.04.00_50_post_add_retry_failed_job_procedure.sql"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    # The raw driver connection: the file holds many statements, dollar-quoted function
    # bodies and casts a bind-parameter parser would misread; with no parameters psycopg
    # sends it as it is, inside the migration's transaction.
    bind.connection.driver_connection.execute(SchemaManager.get_schema())  # type: ignore[union-attr]


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    driver = bind.connection.driver_connection
    functions = driver.execute(  # type: ignore[union-attr]
        "SELECT p.oid::regprocedure::text FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%'"
    ).fetchall()
    for table in ("procrastinate_events", "procrastinate_periodic_defers", "procrastinate_jobs"):
        driver.execute(f"DROP TABLE IF EXISTS {table} CASCADE")  # type: ignore[union-attr]
    driver.execute("DROP TABLE IF EXISTS procrastinate_workers CASCADE")  # type: ignore[union-attr]
    for (signature,) in functions:
        driver.execute(f"DROP FUNCTION IF EXISTS {signature} CASCADE")  # type: ignore[union-attr]
    for type_name in (
        "procrastinate_job_to_defer_v1",
        "procrastinate_job_event_type",
        "procrastinate_job_status",
    ):
        driver.execute(f"DROP TYPE IF EXISTS {type_name} CASCADE")  # type: ignore[union-attr]
