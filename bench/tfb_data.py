"""TechEmpower's (TFB) database schema and data, for bench/tfb_app.py, bench/db.py and
tests/test_tfb_app.py.

``World(id integer primary key, randomNumber integer)``: 10,000 rows of random 1..10000;
``Fortune(id integer primary key, message varchar(2048))``: TFB's 12 fortunes. Names are unquoted,
so PostgreSQL folds them to lower case (``world``, ``randomnumber``), as TFB's own script does.
"""

from __future__ import annotations

import random

WORLD_ROWS = 10_000
MAX_QUERIES = 500

FORTUNES = [
    (1, "fortune: No such file or directory"),
    (2, "A computer scientist is someone who fixes things that aren't broken."),
    (3, "After enough decimal places, nobody gives a damn."),
    (4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"),
    (5, "A computer program does what you tell it to do, not what you want it to do."),
    (6, "Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen"),
    (7, "Any program that runs right is obsolete."),
    (8, "A list is only as strong as its weakest link. — Donald Knuth"),
    (9, "Feature: A bug with seniority."),
    (10, "Computers make very fast, very accurate mistakes."),
    (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
    (12, "フレームワークのベンチマーク"),
]
ADDITIONAL_FORTUNE = (0, "Additional fortune added at request time.")

SCHEMA = """
DROP TABLE IF EXISTS World;
DROP TABLE IF EXISTS Fortune;
CREATE TABLE World (id integer NOT NULL PRIMARY KEY, randomNumber integer NOT NULL DEFAULT 0);
CREATE TABLE Fortune (id integer NOT NULL PRIMARY KEY, message varchar(2048) NOT NULL);
"""


async def load(dsn: str) -> None:
    """(Re)create both tables with TFB's data, then ANALYZE them."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(SCHEMA)
        world = [(i, random.randint(1, WORLD_ROWS)) for i in range(1, WORLD_ROWS + 1)]
        await conn.copy_records_to_table("world", records=world, columns=["id", "randomnumber"])
        await conn.copy_records_to_table("fortune", records=FORTUNES, columns=["id", "message"])
        await conn.execute("ANALYZE World; ANALYZE Fortune")
    finally:
        await conn.close()


def fortunes_html(rows: list[tuple[int, str]]) -> str:
    """The page TFB expects for ``rows`` (already sorted), escaped as Jinja2's autoescape does."""
    from markupsafe import escape

    cells = "".join(f"<tr><td>{i}</td><td>{escape(m)}</td></tr>" for i, m in rows)
    return (
        "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
        f"<tr><th>id</th><th>message</th></tr>{cells}</table></body></html>"
    )
