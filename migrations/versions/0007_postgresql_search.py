"""PostgreSQL full-text search: events_fts as a table with a tsvector and a GIN index (SQLite keeps FTS5)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 10:00:00

On SQLite this migration does nothing: events_fts is the FTS5 table of 0002. On
PostgreSQL, events_fts has the FTS5 table's columns (rowid = events.pk, summary, quotes),
so that the store keeps it in step with the same statements, plus `document`, a tsvector
computed by the server, indexed with GIN. It is made to match as FTS5's
'porter unicode61 remove_diacritics 2' does: words are the runs of letters and digits
(everything else separates them, so "SAG-AFTRA" is two words and "example.com" too),
accents are removed (unaccent, when the server has it), and words are stemmed (Snowball
English) with no stop words dropped.
"""

from __future__ import annotations

import logging

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

# Also in tracker/store/timeline.py, which builds the queries.
CONFIG = "tracker_search"
STEMMER = "tracker_english_stem"
WORD_TOKENS = "asciiword, asciihword, hword_asciipart, word, hword, hword_part"


def _unaccent() -> bool:
    """Install the unaccent extension (contrib; a trusted extension: the database's owner
    may create it) if the server has it; False, with a warning, when it cannot be."""
    context = op.get_context()
    if context.as_sql:
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        return True
    conn = op.get_bind()
    if conn.exec_driver_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent'").scalar() is None:
        log.warning("the PostgreSQL server has no unaccent extension: searches will tell accented letters apart")
        return False
    try:
        with conn.begin_nested():
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS unaccent")
    except DBAPIError as exc:
        log.warning("cannot create the unaccent extension (%s): searches will tell accented letters apart", exc.orig)
        return False
    return True


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    filters = "unaccent, " if _unaccent() else ""
    # Snowball English without its stop-word list: FTS5 drops no word either.
    op.execute(f"CREATE TEXT SEARCH DICTIONARY {STEMMER} (TEMPLATE = snowball, LANGUAGE = english)")
    op.execute(f"CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = pg_catalog.english)")
    op.execute(f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} ALTER MAPPING FOR {WORD_TOKENS} WITH {filters}{STEMMER}")
    op.create_table(
        'events_fts',
        sa.Column('rowid', sa.Integer(), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('quotes', sa.Text(), nullable=False),
        sa.Column(
            'document',
            postgresql.TSVECTOR(),
            sa.Computed(
                f"to_tsvector('{CONFIG}'::regconfig, "
                "regexp_replace(summary || ' ' || quotes, '[^[:alnum:]]+', ' ', 'g'))",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(['rowid'], ['events.pk'], name=op.f('fk_events_fts_rowid_events'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('rowid', name=op.f('pk_events_fts')),
    )
    op.create_index('ix_events_fts_document', 'events_fts', ['document'], postgresql_using='gin')
    # A database migrated before this revision would have events to index (none can exist
    # on PostgreSQL yet: its search came with this revision; kept for a faithful history).
    op.execute(
        "INSERT INTO events_fts (rowid, summary, quotes) "
        "SELECT e.pk, e.summary, coalesce(("
        "SELECT string_agg(q.quote, E'\\n' ORDER BY q.quote) "
        "FROM (SELECT DISTINCT m.quote FROM mentions m WHERE m.event_pk = e.pk) q), '') "
        "FROM events e"
    )


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.drop_index('ix_events_fts_document', table_name='events_fts')
    op.drop_table('events_fts')
    op.execute(f"DROP TEXT SEARCH CONFIGURATION {CONFIG}")
    op.execute(f"DROP TEXT SEARCH DICTIONARY {STEMMER}")
