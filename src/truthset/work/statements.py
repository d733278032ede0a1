"""The SQL of the work engine's hot path: `next` (leases.lease_next_task) and `submit`
(answers.submit_answer), with what they run on the way (the lazy expiry sweep, the
in-flight window, the consolidation of a task that has all its answers).

Raw SQL lives here because these two calls are the platform's hot path (see
docs/architecture.md, "Store" and "Work engine"): they go to the DB-API cursor through
`store.raw`, since SQLAlchemy's statement machinery cost more CPU than the database work,
and their text and order are tuned to the two stores. On PostgreSQL the whole of `next`
for a plain job is one statement (PICK_AND_LEASE), a submit records its answer in one
(RECORD_ANSWER_PG), and the job row is written last so that it stays locked only to the
commit; PostgreSQL's batch writer counts on both. Change a statement only with
benchmarks/work_loop.py run on both stores. The work domain's other queries are in
work/repository.py.

Each name is one whole statement; a `_PG` name is PostgreSQL's version (row locks, or
data-modifying WITH in one round trip), run there instead of the plain one.
"""

from __future__ import annotations

# -- the activity log ---------------------------------------------------------------------

LOG_EVENT = (
    "INSERT INTO activity_events (job_id, task_id, assignment_id, worker_id, event, at) "
    "VALUES (:j, :t, :a, :w, :e, :at)"
)

# -- expiry: the sweep that `next` runs at most once a second per job and process ---------

EXPIRED_LEASES = (
    "SELECT id, task_id, worker_id FROM assignments "
    "WHERE job_id = :j AND status = 'leased' AND deadline < :now"
)
EXPIRED_LEASES_PG = EXPIRED_LEASES + " FOR NO KEY UPDATE SKIP LOCKED"
END_ASSIGNMENT = "UPDATE assignments SET status = :s, ended_at = :now WHERE id = :a"
# The task gets the ended lease's room back (a full task opens again).
RETURN_LEASE_TO_TASK = (
    "UPDATE tasks SET live_leases = live_leases - 1, updated_at = :now, "
    "status = CASE WHEN status = 'full' THEN 'open' ELSE status END WHERE id = :t"
)

# -- the worker's check and the pick ------------------------------------------------------

# Team membership and the quality bar, in one query.
CHECK_WORKER = (
    "SELECT (SELECT 1 FROM job_teams jt JOIN team_members tm ON tm.team_id = jt.team_id "
    "WHERE jt.job_id = :j AND tm.user_id = :w LIMIT 1) AS member, "
    "(SELECT blocked FROM worker_stats WHERE job_id = :j AND worker_id = :w) AS blocked"
)
# The worker's live leases of the job: the oldest one and how many (`n`). A worker holds
# at most the job's max-leases-per-worker; at the limit `next` hands back the oldest.
_HELD_LEASE = (
    "SELECT a.id, a.task_id, t.item_id, i.external_id, i.data, a.deadline, a.leased_at, "
    "t.is_gold, count(*) OVER () AS n FROM assignments a JOIN tasks t ON t.id = a.task_id "
    "JOIN items i ON i.id = t.item_id WHERE a.worker_id = :w AND a.job_id = :j "
    "AND a.status = 'leased' AND a.deadline >= :now "
    # The oldest, or with :newest = 1 the newest (the portal's lease ahead whose answer
    # was lost); a worker's live leases of a job are a handful, so no index is needed.
    "ORDER BY CASE WHEN :newest = 1 THEN -a.leased_at ELSE a.leased_at END, "
    "CASE WHEN :newest = 1 THEN -a.id ELSE a.id END LIMIT 1"
)
# The check and the held leases, in one query: member, blocked, then _HELD_LEASE's columns.
CHECK_WORKER_AND_HELD = (
    f"SELECT c.member, c.blocked, h.* FROM ({CHECK_WORKER}) c LEFT JOIN ({_HELD_LEASE}) h ON 1 = 1"
)
# PostgreSQL: one worker's `next` calls queue on the worker's row, so two of them at once
# (on two connections) cannot both see fewer live leases than the limit and both lease.
# It is its own statement: a statement that waited for a lock still reads the snapshot
# it started with, and the held leases must be read after the other call's commit.
LOCK_WORKER_PG = "SELECT id FROM users WHERE id = :w FOR NO KEY UPDATE"
# The pick of one task, by priority then import order. On PostgreSQL the NOT EXISTS stays
# a probe of (task_id, worker_id) per candidate task (`OFFSET 0`): planned as an anti-join
# (on a freshly filled table's statistics) it read all of the worker's assignments for
# every candidate, a cost that grew with each answer.
#
# A task a reviewer returned (`reserved`, migration 0017) is for the workers it went back
# to while their places last: the pick probes `task_returns` only for such a task.
_RESERVED_FOR_WORKER = (
    "AND (t.reserved = 0 OR EXISTS (SELECT 1 FROM task_returns r WHERE r.task_id = t.id "
    "AND (r.worker_id = :w OR r.until < :now))) "
)
_PICK_TEMPLATE = (
    "SELECT t.id, t.item_id, t.started, t.is_gold, i.external_id, i.data, t.reserved "
    "FROM tasks t JOIN items i ON i.id = t.item_id "
    "WHERE t.job_id = :j AND t.status = 'open' AND t.is_gold = {gold} AND t.started = {started} "
    "AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.worker_id = :w"
    "{probe}) " + _RESERVED_FOR_WORKER + "AND t.priority >= {min_priority}{gate} "
    "ORDER BY t.priority DESC, t.position LIMIT 1{lock}"
)
_PG_PICK = {"probe": " OFFSET 0", "lock": " FOR NO KEY UPDATE OF t SKIP LOCKED"}
PICK = _PICK_TEMPLATE.format(
    gold=":gold", started=":started", min_priority=":min_priority", gate="", probe="", lock=""
)
PICK_PG = _PICK_TEMPLATE.format(
    gold=":gold", started=":started", min_priority=":min_priority", gate="", **_PG_PICK
)

# -- the lease ----------------------------------------------------------------------------

INSERT_ASSIGNMENT = (
    "INSERT INTO assignments (task_id, job_id, worker_id, status, leased_at, "
    "deadline, last_seen_at) VALUES (:t, :j, :w, 'leased', :now, :d, :now) "
    "ON CONFLICT (task_id, worker_id) DO NOTHING RETURNING id"
)
_LEASE_COUNTS = (
    "live_leases = live_leases + 1, started = 1, updated_at = :now, "
    "status = CASE WHEN live_leases + 1 + answers >= target_answers AND is_gold = 0 "
    "THEN 'full' ELSE 'open' END"
)
COUNT_LEASE = f"UPDATE tasks SET {_LEASE_COUNTS} WHERE id = :t"
# PostgreSQL: the lease's three writes for the task in `pk`, in the statement that picked
# it. Nothing is written when `pk` holds no task, or when the worker raced itself to it.
_LEASE_WRITES_PG = (
    "asg AS (INSERT INTO assignments (task_id, job_id, worker_id, status, leased_at, deadline, "
    "last_seen_at) SELECT pk.id, :j, :w, 'leased', :now, :d, :now FROM pk WHERE pk.id IS NOT NULL "
    "ON CONFLICT (task_id, worker_id) DO NOTHING RETURNING id, task_id), "
    f"tsk AS (UPDATE tasks SET {_LEASE_COUNTS} FROM asg WHERE tasks.id = asg.task_id), "
    "ev AS (INSERT INTO activity_events (job_id, task_id, assignment_id, worker_id, event, at) "
    "SELECT :j, asg.task_id, asg.id, :w, 'accept', :now FROM asg) "
)
LEASE_PG = f"WITH pk AS (SELECT CAST(:t AS BIGINT) AS id), {_LEASE_WRITES_PG}SELECT id FROM asg"
# PostgreSQL, for a job without gold items or qualification: the worker's check, the pick
# (a started task first, else a new one when the window has room) and the lease's writes
# in one statement, one round trip for the whole of "next task". The second pick runs
# only when the first found nothing (its `s.id IS NULL` is a one-time filter), and nothing
# is picked for a worker the check turns away or one holding its limit of live leases (it
# gets back the oldest, `held_*`).
_ADMITTED = (
    " AND (c.member IS NOT NULL OR :admin) AND c.blocked IS NOT TRUE"
    " AND COALESCE(h.n, 0) < :max_leases"
)
# _HELD_LEASE's columns, as pk carries them through (held_id, ...).
_HELD_COLUMNS = (
    "id",
    "task_id",
    "item_id",
    "external_id",
    "data",
    "deadline",
    "leased_at",
    "is_gold",
    "n",
)
PICK_AND_LEASE = (
    "WITH pk AS (SELECT c.member, c.blocked, COALESCE(s.id, u.id) AS id, "
    "COALESCE(s.item_id, u.item_id) AS item_id, COALESCE(s.started, u.started) AS started, "
    "COALESCE(s.external_id, u.external_id) AS external_id, COALESCE(s.data, u.data) AS data, "
    "COALESCE(s.reserved, u.reserved) AS reserved, "
    + ", ".join(f"h.{c} AS held_{c}" for c in _HELD_COLUMNS)
    + f" FROM ({CHECK_WORKER} OFFSET 0) c LEFT JOIN ({_HELD_LEASE}) h ON true LEFT JOIN LATERAL ("
    + _PICK_TEMPLATE.format(
        gold="0", started="1", min_priority=":any_priority", gate=_ADMITTED, **_PG_PICK
    )
    + ") s ON true LEFT JOIN LATERAL ("
    + _PICK_TEMPLATE.format(
        gold="0",
        started="0",
        min_priority=":min_priority",
        gate=f"{_ADMITTED} AND s.id IS NULL AND :may_start",
        **_PG_PICK,
    )
    + f") u ON true), {_LEASE_WRITES_PG}"
    "SELECT pk.member, pk.blocked, pk.id, pk.item_id, pk.started, pk.external_id, pk.data, "
    "pk.reserved, asg.id, "
    + ", ".join(f"pk.held_{c}" for c in _HELD_COLUMNS)
    + " FROM pk LEFT JOIN asg ON true"
)
# Taking back a lease that started a task the window had no room for.
UNDO_LEASE_EVENT = (
    "DELETE FROM activity_events WHERE job_id = :j AND at = :now AND assignment_id = :a"
)
UNDO_LEASE_ASSIGNMENT = "DELETE FROM assignments WHERE id = :a"
# A reserved task leased: the worker's place is taken (and any place past its time), its
# answer handed to the tool; the task stays reserved while other places are held.
RETURNED_ANSWER = "SELECT answer FROM task_returns WHERE task_id = :t AND worker_id = :w"
TAKE_RETURN_PLACES = (
    "DELETE FROM task_returns WHERE task_id = :t AND (worker_id = :w OR until < :now)"
)
UPDATE_RESERVED = (
    "UPDATE tasks SET reserved = CASE WHEN EXISTS (SELECT 1 FROM task_returns r "
    "WHERE r.task_id = :t) THEN 1 ELSE 0 END WHERE id = :t"
)
UNDO_LEASE_TASK = (
    "UPDATE tasks SET live_leases = live_leases - 1, started = 0, status = 'open' WHERE id = :t"
)

# -- the in-flight window (max-concurrent-tasks), on the job row --------------------------

IN_FLIGHT = "SELECT in_flight FROM jobs WHERE id = :j"
# With stopping conditions the row is locked before the check (the budget counts labeled
# tasks too, and must not change between the check and the lease).
IN_FLIGHT_LOCKED_PG = IN_FLIGHT + " FOR NO KEY UPDATE"
# A task started while the row is locked and was checked: the room is there.
COUNT_STARTED_TASK = "UPDATE jobs SET in_flight = in_flight + 1 WHERE id = :j"
CLAIM_WINDOW_SLOT = (
    "UPDATE jobs SET in_flight = in_flight + 1 WHERE id = :j AND in_flight < :max "
    "RETURNING in_flight"
)
COUNT_FINISHED_TASK = "UPDATE jobs SET in_flight = in_flight - 1 WHERE id = :j RETURNING in_flight"
# A PostgreSQL batch's change to the count, written once before its commit (work/window.py):
# with tasks started in the batch, only while they still fit.
WRITE_WINDOW_STARTS = (
    "UPDATE jobs SET in_flight = in_flight + :d WHERE id = :j "
    "AND in_flight + :d <= max_concurrent_tasks RETURNING in_flight"
)
WRITE_WINDOW_CHANGE = "UPDATE jobs SET in_flight = in_flight + :d WHERE id = :j RETURNING in_flight"

# -- submit -------------------------------------------------------------------------------

# One read for the assignment, its task and item, and whether this client key was used.
SUBMIT_READ = (
    "SELECT a.id, a.task_id, a.job_id, a.worker_id, a.status, a.deadline, a.leased_at, "
    "t.id AS tid, t.status AS task_status, t.answers, t.live_leases, t.target_answers, "
    "t.is_gold, t.item_id, i.data, (SELECT ans.assignment_id FROM answers ans "
    "WHERE ans.worker_id = :w AND ans.client_key = :k) AS keyed "
    "FROM assignments a JOIN tasks t ON t.id = a.task_id JOIN items i ON i.id = t.item_id "
    "WHERE a.id = :a"
)
SUBMIT_READ_PG = SUBMIT_READ + " FOR NO KEY UPDATE OF a, t"
# The answer a retry replays.
_EARLIER_ANSWER = (
    "SELECT ans.id, ans.assignment_id, ans.task_id, ans.submitted_at, t.status "
    "FROM answers ans JOIN tasks t ON t.id = ans.task_id WHERE "
)
ANSWER_BY_CLIENT_KEY = _EARLIER_ANSWER + "ans.worker_id = :w AND ans.client_key = :k"
ANSWER_OF_ASSIGNMENT = _EARLIER_ANSWER + "ans.assignment_id = :a"
# The task as it is once a late answer's lease has been ended.
TASK_FOR_LATE_ANSWER = (
    "SELECT t.id, t.status, t.answers, t.live_leases, t.target_answers, t.is_gold, "
    "t.item_id, i.data FROM tasks t JOIN items i ON i.id = t.item_id WHERE t.id = :t"
)
INSERT_ANSWER = (
    "INSERT INTO answers (assignment_id, task_id, job_id, worker_id, client_key, content, "
    "submitted_at, time_spent, excluded) VALUES (:a, :t, :j, :w, :k, :c, :now, :s, :x)"
)
INSERT_ANSWER_RETURNING_ID = INSERT_ANSWER + " RETURNING id"
ANSWERED = "UPDATE assignments SET status = 'submitted', ended_at = :now WHERE id = :a"
COUNT_ANSWER = "UPDATE tasks SET answers = :n, live_leases = :l, updated_at = :now WHERE id = :t"
# The job aggregates an answer adds to (migration 0016: the worker's answers, time, answers
# on a labeled task and those equal to its label; the answers of its minute), written by
# RECORD_ANSWER_PG itself, the same upserts as 0016's statement trigger on answers for a
# one-row insert (`_pg_answers`), on the writing backend's shard. Migration 0019 has that
# trigger skip the statement that set `truthset.answers_counted` to its own
# statement_timestamp(): this one (the trigger's call, its transition table and second
# statement: ~30 us of database CPU an answer, measured with benchmarks/work_loop.py).
# Any other insert, in the same transaction too, has a later statement_timestamp() and is
# counted by the trigger. Adding a batch's counts once before its commit (a ledger, as
# the window's) was tried and measured no better: the upserts themselves are cheap.
_ANSWER_COUNTED_HERE_PG = (
    "cnt AS (SELECT set_config('truthset.answers_counted', statement_timestamp()::text, true))"
)
_CONTENT_PG = "CAST(:c AS json)"
# 0016's `_agrees` for PostgreSQL: the answer equals the label (classification's rule).
_AGREES_PG = (
    f"(CASE WHEN {_CONTENT_PG}->'label' IS NOT NULL "
    f"THEN ({_CONTENT_PG}->>'label') IS NOT DISTINCT FROM (l.meta->>'class-name') "
    "ELSE ARRAY(SELECT x FROM json_array_elements_text(CASE WHEN "
    f"json_typeof({_CONTENT_PG}->'labels') = 'array' THEN {_CONTENT_PG}->'labels' "
    "ELSE '[]'::json END) AS x ORDER BY x) = ARRAY(SELECT e.v FROM json_each_text(CASE "
    "WHEN json_typeof(l.meta->'class-map') = 'object' THEN l.meta->'class-map' "
    "ELSE '{}'::json END) AS e(k, v) ORDER BY e.v) END)::int"
)
_COUNT_ANSWER_AGGREGATES_PG = (
    "wc AS (INSERT INTO job_worker_counts (job_id, worker_id, shard, answers, time_spent, "
    "labeled, agreeing) SELECT :j, :w, pg_backend_pid() % 64, 1, "
    "coalesce(CAST(:s AS double precision), 0), count(l.task_id), "
    f"coalesce(sum({_AGREES_PG}), 0) FROM labels l WHERE l.task_id = :t "
    "ON CONFLICT (job_id, worker_id, shard) DO UPDATE SET "
    "answers = job_worker_counts.answers + excluded.answers, "
    "time_spent = job_worker_counts.time_spent + excluded.time_spent, "
    "labeled = job_worker_counts.labeled + excluded.labeled, "
    "agreeing = job_worker_counts.agreeing + excluded.agreeing), "
    "mc AS (INSERT INTO job_answer_minutes (job_id, minute, shard, answers, time_spent) "
    "VALUES (:j, CAST(floor(CAST(:now AS double precision) / 60) AS BIGINT), "
    "pg_backend_pid() % 64, 1, coalesce(CAST(:s AS double precision), 0)) "
    "ON CONFLICT (job_id, minute, shard) DO UPDATE SET "
    "answers = job_answer_minutes.answers + excluded.answers, "
    "time_spent = job_answer_minutes.time_spent + excluded.time_spent) "
)
# PostgreSQL runs data-modifying statements in WITH as one statement: a round trip per
# submit instead of four (the work loop there is bound by per-statement cost). The answer
# is inserted from `cnt`, so the setting is made before the insert ends (when the
# statement trigger's WHEN is checked).
RECORD_ANSWER_PG = (
    f"WITH {_ANSWER_COUNTED_HERE_PG}, "
    "ans AS (INSERT INTO answers (assignment_id, task_id, job_id, worker_id, client_key, "
    f"content, submitted_at, time_spent, excluded) SELECT :a, :t, :j, :w, "
    f"CAST(:k AS varchar), {_CONTENT_PG}, :now, :s, :x FROM cnt RETURNING id), "
    f"asg AS ({ANSWERED}), "
    f"tsk AS ({COUNT_ANSWER}), "
    "ev AS (INSERT INTO activity_events (job_id, task_id, assignment_id, worker_id, event, at) "
    "VALUES (:j, :t, :a, :w, 'submit', :now)), "
    f"{_COUNT_ANSWER_AGGREGATES_PG}"
    "SELECT id FROM ans"
)
# ... and, for the answer that completes its task, the task's earlier answers with their
# workers' skills (the statement does not see its own insert), for consolidation.
RECORD_LAST_ANSWER_PG = RECORD_ANSWER_PG.replace(
    "SELECT id FROM ans",
    "SELECT ans.id, p.worker_id, p.content, p.skill, (SELECT skill FROM worker_stats "
    "WHERE job_id = :j AND worker_id = :w) FROM ans LEFT JOIN (SELECT e.id, e.worker_id, "
    "e.content, ws.skill FROM answers e LEFT JOIN worker_stats ws ON ws.job_id = e.job_id "
    "AND ws.worker_id = e.worker_id WHERE e.task_id = :t AND e.excluded = :x) p ON true "
    "ORDER BY p.id",
)

# -- consolidation of a task that has all its answers -------------------------------------

TASK_ANSWERS = (
    "SELECT ans.worker_id, ans.content, ws.skill FROM answers ans "
    "LEFT JOIN worker_stats ws ON ws.job_id = ans.job_id AND ws.worker_id = ans.worker_id "
    "WHERE ans.task_id = :t AND ans.excluded = :x ORDER BY ans.id"
)
# Dynamic redundancy: the task asks for one more worker.
ASK_ANOTHER_WORKER = "UPDATE tasks SET target_answers = :n, status = 'open' WHERE id = :t"
