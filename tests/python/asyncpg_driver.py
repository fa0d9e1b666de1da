"""asyncpg against RustyDB: prepared statements with binary parameters and results of every
supported type, transactions, and errors with their SQLSTATE. Usage: asyncpg_driver.py DSN"""

import asyncio
import datetime as dt
import sys
from decimal import Decimal
import uuid

import asyncpg


def check(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


async def main(dsn):
    conn = await asyncpg.connect(dsn)
    try:
        check(conn.get_server_version().major >= 15, True, "server version")
        await conn.execute(
            "CREATE TABLE apg_types (id int PRIMARY KEY, b boolean, s smallint, i int, l bigint,"
            " r real, d double precision, t text, v varchar(10), c char(3), dd date,"
            " ts timestamp, tz timestamptz)"
        )
        utc = dt.timezone.utc
        rows = [
            (1, True, 7, -42, 9_000_000_000, 1.5, 2.25, "héllo", "var", "abc",
             dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 12, 34, 56, 789000),
             dt.datetime(2024, 2, 29, 12, 34, 56, tzinfo=utc)),
            (2, None, None, None, None, None, None, None, None, None, None, None, None),
            (3, False, -32768, 2147483647, -9223372036854775808, -0.5, 1e300, "", "x", "x  ",
             dt.date(1999, 12, 31), dt.datetime(2000, 1, 1), dt.datetime(1970, 1, 1, tzinfo=utc)),
        ]
        await conn.executemany(
            "INSERT INTO apg_types VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)", rows
        )
        got = await conn.fetch("SELECT * FROM apg_types WHERE id >= $1 ORDER BY id", 1)
        check(len(got), 3, "row count")
        for want, row in zip(rows, got):
            check(tuple(row), want, f"row {want[0]}")

        stmt = await conn.prepare("SELECT t, i - $2 FROM apg_types WHERE id = $1")
        check([a.name for a in stmt.get_attributes()], ["t", "?column?"], "attributes")
        check([p.name for p in stmt.get_parameters()], ["int4", "int4"], "parameter types")
        for i in range(1, 4):
            t, n = await stmt.fetchrow(i, 10)
            check(t, rows[i - 1][7], f"text of row {i}")
            check(n, None if rows[i - 1][3] is None else rows[i - 1][3] - 10, f"difference of row {i}")

        # numeric over the binary protocol: exact both ways, typmods applied, NaN kept.
        await conn.execute("CREATE TABLE apg_numeric (id int PRIMARY KEY, n numeric, m numeric(8,2))")
        values = [
            (1, Decimal("98765432109876543210.0123456789"), Decimal("-123456.785")),
            (2, Decimal("-1E-30"), Decimal("0.5")),
            (3, Decimal("NaN"), None),
        ]
        await conn.executemany("INSERT INTO apg_numeric VALUES ($1, $2, $3)", values)
        got = await conn.fetch("SELECT id, n, m FROM apg_numeric ORDER BY id")
        check(str(got[0]["n"]), "98765432109876543210.0123456789", "big numeric")
        check(got[0]["m"], Decimal("-123456.79"), "rounded to the column's scale")
        check(str(got[1]["n"]), "-1E-30", "tiny numeric")
        check(got[2]["n"].is_nan(), True, "NaN")
        check(await conn.fetchval("SELECT $1::numeric * 2", Decimal("1.25")), Decimal("2.50"), "numeric parameter")
        try:
            await conn.execute("INSERT INTO apg_numeric VALUES ($1, $2, $3)", 4, 1, Decimal("1e6"))
            raise AssertionError("numeric field overflow: no error")
        except asyncpg.NumericValueOutOfRangeError as e:
            check(e.sqlstate, "22003", "numeric field overflow")

        # uuid and bytea over the binary protocol.
        await conn.execute("CREATE TABLE apg_blobs (id uuid PRIMARY KEY, b bytea)")
        key = uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
        await conn.execute("INSERT INTO apg_blobs VALUES ($1, $2), ($3, $4)", key, b"\x00\x01\xfe", uuid.UUID(int=1), None)
        got = await conn.fetch("SELECT id, b FROM apg_blobs ORDER BY id")
        check([(r["id"], r["b"]) for r in got], [(uuid.UUID(int=1), None), (key, b"\x00\x01\xfe")], "uuid and bytea rows")
        check(await conn.fetchval("SELECT b || $1 FROM apg_blobs WHERE id = $2", b"!", key), b"\x00\x01\xfe!", "bytea parameter")
        check(len(str(await conn.fetchval("SELECT gen_random_uuid()"))), 36, "gen_random_uuid")

        # Transactions.
        try:
            async with conn.transaction():
                await conn.execute("INSERT INTO apg_types (id) VALUES ($1)", 10)
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        check(await conn.fetchval("SELECT count(*) FROM apg_types WHERE id = 10"), 0, "rolled back")
        async with conn.transaction():
            await conn.execute("INSERT INTO apg_types (id) VALUES ($1)", 11)
        check(await conn.fetchval("SELECT count(*) FROM apg_types WHERE id = 11"), 1, "committed")

        # Errors carry their SQLSTATE and the connection goes on.
        expected = [
            ("INSERT INTO apg_types (id) VALUES ($1)", (1,), asyncpg.UniqueViolationError, "23505"),
            ("SELECT * FROM missing WHERE x = $1", (1,), asyncpg.UndefinedTableError, "42P01"),
            ("SELECT $1::int / 0", (1,), asyncpg.DivisionByZeroError, "22012"),
        ]
        for sql, params, cls, code in expected:
            try:
                await conn.execute(sql, *params)
                raise AssertionError(f"{sql}: no error")
            except cls as e:
                check(e.sqlstate, code, sql)
        check(await conn.fetchval("SELECT 41 + $1", 1), 42, "still serving")

        # COPY from Python records (binary COPY is not supported yet: use text).
        await conn.copy_to_table("apg_types", source=_lines(), columns=["id", "t"], format="text")
        check(await conn.fetchval("SELECT count(*) FROM apg_types WHERE id >= 100"), 5, "copied")
    finally:
        await conn.close()
    print("asyncpg ok")


async def _lines():
    for i in range(100, 105):
        yield f"{i}\tcopied {i}\n".encode()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
