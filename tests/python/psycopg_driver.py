"""psycopg 3 against RustyDB: parameters of every supported type in text and binary, server-side
prepared statements, transactions, and errors with their SQLSTATE. Usage: psycopg_driver.py DSN"""

import datetime as dt
import sys
from decimal import Decimal
import uuid

import psycopg
from psycopg import errors


def check(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


def main(dsn):
    with psycopg.connect(dsn) as conn:
        info = conn.info
        check(info.parameter_status("server_encoding"), "UTF8", "server_encoding")
        check(info.server_version >= 150000, True, "server_version")
        with conn.cursor() as cur:
            cur.execute(
                "CREATE TABLE py_types (id int PRIMARY KEY, b boolean, s smallint, i int, l bigint,"
                " r real, d double precision, t text, v varchar(10), c char(3), dd date,"
                " ts timestamp, tz timestamptz)"
            )
        conn.commit()

        utc = dt.timezone.utc
        rows = [
            (1, True, 7, -42, 9_000_000_000, 1.5, 2.25, "héllo", "var", "abc",
             dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 12, 34, 56, 789000),
             dt.datetime(2024, 2, 29, 12, 34, 56, tzinfo=utc)),
            (2, None, None, None, None, None, None, None, None, None, None, None, None),
            (3, False, -32768, 2147483647, -9223372036854775808, -0.5, 1e300, "", "x", "x  ",
             dt.date(1999, 12, 31), dt.datetime(2000, 1, 1), dt.datetime(1970, 1, 1, tzinfo=utc)),
        ]
        insert = "INSERT INTO py_types VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        insert_binary = insert.replace("%s", "%b")
        with conn.cursor() as cur:
            cur.execute(insert, rows[0], prepare=True)
            cur.executemany(insert_binary, rows[1:])
        conn.commit()

        for binary in (False, True):
            with conn.cursor(binary=binary) as cur:
                cur.execute("SELECT * FROM py_types WHERE id >= %s ORDER BY id", (1,))
                got = cur.fetchall()
                check(len(got), 3, f"row count (binary={binary})")
                for want, row in zip(rows, got):
                    check(row, want, f"row {want[0]} (binary={binary})")

        # numeric: exact decimals both ways, in text and binary, with its special values.
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE py_numeric (id int PRIMARY KEY, n numeric, m numeric(10,3))")
            values = [
                (1, Decimal("12345678901234567890.123456789"), Decimal("-0.001")),
                (2, Decimal("-0.000000000000000000000000001"), Decimal("1234567.125")),
                (3, Decimal("NaN"), None),
                (4, Decimal("0.00"), Decimal("9999999.999")),
            ]
            cur.execute("INSERT INTO py_numeric VALUES (%s, %s, %s)", values[0])
            cur.executemany("INSERT INTO py_numeric VALUES (%b, %b, %b)", values[1:])
        conn.commit()
        for binary in (False, True):
            with conn.cursor(binary=binary) as cur:
                cur.execute("SELECT id, n, m FROM py_numeric ORDER BY id")
                for want, row in zip(values, cur.fetchall()):
                    check(str(row), str(want), f"numeric row {want[0]} (binary={binary})")
                cur.execute("SELECT 0.1 + 0.2, sum(m), avg(id) FROM py_numeric")
                check(cur.fetchone(), (Decimal("0.3"), Decimal("11234567.123"), Decimal("2.5000000000000000")),
                      f"numeric arithmetic (binary={binary})")
        try:
            with conn.cursor() as cur:
                cur.execute("INSERT INTO py_numeric VALUES (%b, %b, %b)", (5, 1, Decimal("1e7")))
            raise AssertionError("numeric field overflow: no error")
        except errors.NumericValueOutOfRange as e:
            check(e.sqlstate, "22003", "numeric field overflow")
            conn.rollback()

        # uuid and bytea both ways, in text and binary.
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE py_blobs (id uuid PRIMARY KEY, b bytea)")
            blobs = [
                (uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), b"\x00\xffabc\\"),
                (uuid.UUID("00000000-0000-0000-0000-000000000001"), b""),
                (uuid.UUID("ffffffff-ffff-ffff-ffff-ffffffffffff"), None),
            ]
            cur.execute("INSERT INTO py_blobs VALUES (%s, %s)", blobs[0])
            cur.executemany("INSERT INTO py_blobs VALUES (%b, %b)", blobs[1:])
        conn.commit()
        for binary in (False, True):
            with conn.cursor(binary=binary) as cur:
                cur.execute("SELECT id, b FROM py_blobs ORDER BY id DESC")
                got = [(i, None if b is None else bytes(b)) for i, b in cur.fetchall()]
                check(got, sorted(blobs, reverse=True), f"uuid and bytea rows (binary={binary})")
                cur.execute("SELECT b FROM py_blobs WHERE id = %s", (blobs[0][0],))
                check(bytes(cur.fetchone()[0]), blobs[0][1], f"uuid parameter (binary={binary})")

        # time of day, both ways, in text and binary.
        for binary in (False, True):
            with conn.cursor(binary=binary) as cur:
                cur.execute("SELECT '04:05:06.789'::time, %s::time + interval '1 hour'", (dt.time(23, 30, 0, 5),))
                check(cur.fetchone(), (dt.time(4, 5, 6, 789000), dt.time(0, 30, 0, 5)), f"time values (binary={binary})")

        # json and jsonb: documents in, dicts out, in text and binary.
        from psycopg.types.json import Json, Jsonb
        doc = {"b": [1, 2.5, None, "x"], "a": {"nested": True}}
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE py_docs (id int PRIMARY KEY, j json, jb jsonb)")
            cur.execute("INSERT INTO py_docs VALUES (%s, %s, %s)", (1, Json(doc), Jsonb(doc)))
            cur.execute("INSERT INTO py_docs VALUES (%b, %b, %b)", (2, Json([1]), Jsonb({"k": "v"})))
        conn.commit()
        for binary in (False, True):
            with conn.cursor(binary=binary) as cur:
                cur.execute("SELECT j, jb, jb -> 'b' ->> 3 FROM py_docs WHERE id = 1")
                check(cur.fetchone(), (doc, doc, "x"), f"json documents (binary={binary})")
                cur.execute("SELECT id FROM py_docs WHERE jb @> %s", (Jsonb({"k": "v"}),))
                check(cur.fetchall(), [(2,)], f"jsonb containment parameter (binary={binary})")

        # A prepared statement executed many times with different parameters.
        with conn.cursor() as cur:
            for i in range(1, 4):
                cur.execute("SELECT t, i - %s FROM py_types WHERE id = %s", (10, i), prepare=True)
                t, n = cur.fetchone()
                check(t, rows[i - 1][7], f"text of row {i}")
                check(n, None if rows[i - 1][3] is None else rows[i - 1][3] - 10, f"difference of row {i}")

        # Transactions: rollback undoes, commit keeps.
        with conn.cursor() as cur:
            cur.execute("INSERT INTO py_types (id) VALUES (%s)", (10,))
            conn.rollback()
            cur.execute("SELECT count(*) FROM py_types WHERE id = 10")
            check(cur.fetchone()[0], 0, "rolled back insert")
            with conn.transaction():
                cur.execute("INSERT INTO py_types (id) VALUES (%s)", (11,))
            cur.execute("SELECT count(*) FROM py_types WHERE id = 11")
            check(cur.fetchone()[0], 1, "committed insert")
        conn.commit()

        # Errors carry their SQLSTATE and the connection goes on.
        expected = [
            ("INSERT INTO py_types (id) VALUES (%s)", (1,), errors.UniqueViolation, "23505"),
            ("SELECT * FROM missing WHERE x = %s", (1,), errors.UndefinedTable, "42P01"),
            ("SELECT %s::int / 0", (1,), errors.DivisionByZero, "22012"),
            ("SELECT 'x'::int + %s", (1,), errors.InvalidTextRepresentation, "22P02"),
        ]
        for sql, params, cls, code in expected:
            try:
                with conn.cursor() as cur:
                    cur.execute(sql, params)
                raise AssertionError(f"{sql}: no error")
            except cls as e:
                check(e.sqlstate, code, sql)
                conn.rollback()

        # Named (server-side) cursors: DECLARE with parameters, Describe of the cursor as a
        # portal, FETCH FORWARD n as the rows are iterated, MOVE to scroll, WITH HOLD past COMMIT.
        with conn.cursor(name="py_named") as cur:
            cur.itersize = 3
            cur.execute("SELECT i, %s::text FROM generate_series(1, 10) i WHERE i > %s", ("x", 2))
            rows = list(cur)
            check((len(rows), rows[0], rows[-1]), (8, (3, "x"), (10, "x")), "named cursor rows")
            check(cur.description[0].name, "i", "named cursor description")
        with conn.cursor(name="py_scroll", scrollable=True) as cur:
            cur.execute("SELECT i FROM generate_series(1, 10) i")
            check(cur.fetchmany(3), [(1,), (2,), (3,)], "scrollable fetchmany")
            cur.scroll(-2)
            check(cur.fetchone(), (2,), "scroll back")
            cur.scroll(5, mode="absolute")
            check(cur.fetchone(), (6,), "scroll absolute")
        conn.commit()
        with conn.cursor(name="py_held", withhold=True) as cur:
            cur.execute("SELECT 42")
            conn.commit()
            check(cur.fetchall(), [(42,)], "held cursor after commit")

        # Autocommit and COPY.
        conn.autocommit = True
        with conn.cursor() as cur:
            with cur.copy("COPY py_types (id, t) FROM STDIN") as copy:
                for i in range(100, 110):
                    copy.write_row((i, f"copied {i}"))
            cur.execute("SELECT count(*), min(t) FROM py_types WHERE id >= 100")
            check(cur.fetchone(), (10, "copied 100"), "copied rows")
    print("psycopg ok")


if __name__ == "__main__":
    main(sys.argv[1])
