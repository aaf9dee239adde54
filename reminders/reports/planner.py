"""Steering SQLite's query planner towards the index that serves a page's ORDER BY ... LIMIT.

SQLite plans without statistics (nothing runs ANALYZE) and guesses that an equality on any
indexed column matches about ten rows. For "the 50 newest messages of account 7" it therefore
reads every message of the account through the account index and sorts them all, when walking
the time index backwards would stop after 50 rows. Writing the equality as `column + 0` makes
it unusable as an index key, so the planner takes the ordering index instead. PostgreSQL keeps
statistics and chooses well on its own, so the column is left alone there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute, Session


def unindexed(session: Session, column: InstrumentedAttribute[Any]) -> ColumnElement[Any]:
    """`column` as an expression SQLite will not look up through its index (unchanged elsewhere)."""
    expression: ColumnElement[Any] = column.expression
    if session.get_bind().dialect.name == "sqlite":
        return expression + 0
    return expression
