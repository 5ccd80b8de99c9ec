"""Behind PgBouncer in transaction mode: no prepared statements, no session state, locks only inside transactions."""
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from volunteer_api.extensions import db


def test_a_pooler_setting_turns_prepared_statements_off(make_app):
    pooled = make_app({"DATABASE_POOLER": "pgbouncer"})
    assert pooled.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"prepare_threshold": None}
    direct = make_app({"DATABASE_POOLER": None})
    assert "connect_args" not in direct.config["SQLALCHEMY_ENGINE_OPTIONS"]
    with pytest.raises(RuntimeError, match="DATABASE_POOLER"):
        make_app({"DATABASE_POOLER": "pgpool"})


@pytest.mark.postgres
def test_the_locking_sweeps_run_through_pgbouncer_and_hold_no_lock_past_their_transaction(pooled_app, pgbouncer):
    """The audit sealer, the totals, the outcomes and the outbox relay take advisory locks: transaction-scoped
    ones, so a server connection PgBouncer hands to the next client carries none of them."""
    from volunteer_api.audit.services import seal_chain
    from volunteer_api.cases.outcomes import recompute_outcomes
    from volunteer_api.jobs.outbox import relay_outbox
    from volunteer_api.savings.totals import recompute_totals

    with pooled_app.app_context():
        assert make_url(str(db.engine.url)).port == pgbouncer.port
        for sweep in (seal_chain, recompute_totals, recompute_outcomes, relay_outbox):
            sweep()
            db.session.commit()
            # Run twice: a statement psycopg had prepared would now be unknown on another server connection.
            sweep()
            db.session.commit()
        held = db.session.scalar(text(
            "SELECT count(*) FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND a.datname = current_database() AND a.state = 'idle'"))
        db.session.rollback()
    assert held == 0


def _same_statement_on_another_server_connection(engine) -> None:
    """Run one statement often enough for psycopg to prepare it, then again on another server connection:
    PgBouncer gives the connection just released to the next client that asks (`other`)."""
    with engine.connect() as mine, engine.connect() as other:
        for _ in range(7):
            mine.execute(text("SELECT 1 + :n"), {"n": 1})
            mine.commit()
        other.execute(text("SELECT 1"))
        mine.execute(text("SELECT 1 + :n"), {"n": 1})
        mine.commit()


@pytest.mark.postgres
def test_the_pooled_app_prepares_no_statement_a_pgbouncer_server_connection_would_lose(
        pooled_app, pgbouncer, database_url):
    import psycopg
    from sqlalchemy import create_engine
    from sqlalchemy.exc import ProgrammingError

    with pooled_app.app_context():
        _same_statement_on_another_server_connection(db.engine)
    # The same through PgBouncer with psycopg's default (prepare after 5 runs): the scenario is real.
    default = create_engine(pgbouncer.url_for(database_url))
    try:
        with pytest.raises(ProgrammingError) as raised:
            _same_statement_on_another_server_connection(default)
        assert isinstance(raised.value.orig, psycopg.errors.InvalidSqlStatementName)
    finally:
        default.dispose()
