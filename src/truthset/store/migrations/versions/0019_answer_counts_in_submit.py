"""answer counts in the submit: on PostgreSQL, migration 0016's statement trigger on
answer inserts skips the statement that counted its answer itself (the work engine's
submit, work/statements.py RECORD_ANSWER_PG), which it says by setting
`truthset.answers_counted` to its own statement_timestamp(); every other insert of answers
(imports, tests, any other path, later statements of the same transaction) is counted by
the trigger as before. SQLite is unchanged (its row triggers cost ~5 us an answer).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 07:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# Why a setting and not a flag on the rows: a statement trigger's WHEN cannot read the
# rows, and a WHEN that is false costs no function call, no second statement. Why the
# statement's own timestamp: the setting (local to the transaction) then names one
# statement only, since each statement of a transaction that the client sends on its own
# gets a later statement_timestamp() (the submit is never sent with others in one
# multi-statement string). The function (job_answers_ins) is 0016's, unchanged.
_CLAUSE = "AFTER INSERT ON answers REFERENCING NEW TABLE AS changed FOR EACH STATEMENT"
_SKIP_COUNTED = (
    "WHEN (current_setting('truthset.answers_counted', true) "
    "IS DISTINCT FROM statement_timestamp()::text)"
)


def _replace_trigger(when: str) -> None:
    op.execute("DROP TRIGGER trg_job_answers_ins ON answers")
    op.execute(
        f"CREATE TRIGGER trg_job_answers_ins {_CLAUSE} {when} EXECUTE FUNCTION job_answers_ins()"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace_trigger(_SKIP_COUNTED)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace_trigger("")
