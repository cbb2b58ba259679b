"""Two pictures of one run, column by column: every column of BEFORE must be identical in AFTER.

    git worktree add /tmp/base-pic HEAD~N
    (cd /tmp/base-pic && PYTHONPATH=src ../main/.venv/bin/python -m airpicture run \
        scenarios/pacific-shield.yaml --out /tmp/pic/base --no-report --duration-s 600)
    .venv/bin/airpicture run scenarios/pacific-shield.yaml --out /tmp/pic/after \
        --no-report --duration-s 600
    .venv/bin/python bench/picture_unchanged.py /tmp/pic/base /tmp/pic/after

Prints, per column of BEFORE, whether AFTER has it with the same values (bit for bit;
NaN equal to NaN), then the columns AFTER adds with how many rows have a value. Exit
status 1 when any column of BEFORE differs or is missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def main() -> int:
    before_dir, after_dir = (Path(a) for a in sys.argv[1:3])
    before = pq.read_table(before_dir / "picture.parquet")
    after = pq.read_table(after_dir / "picture.parquet")
    print(f"rows: before {before.num_rows:,}, after {after.num_rows:,}")
    same = before.num_rows == after.num_rows
    for name in before.column_names:
        if name not in after.column_names:
            print(f"  {name}: MISSING in after")
            same = False
            continue
        equal = before.column(name).equals(after.column(name))
        if not equal and pa.types.is_floating(before.schema.field(name).type):
            # NaN != NaN for equals(): compare NaN positions and the rest
            b, a = before.column(name), after.column(name)
            equal = (
                pc.all(pc.equal(pc.is_nan(b), pc.is_nan(a))).as_py()
                and pc.all(pc.or_(pc.is_nan(b), pc.equal(b, a))).as_py()
            )
        print(f"  {name}: {'identical' if equal else 'DIFFERENT'}")
        same = same and bool(equal)
    for name in after.column_names:
        if name in before.column_names:
            continue
        column = after.column(name)
        if pa.types.is_floating(column.type):
            filled = after.num_rows - pc.sum(pc.is_nan(column)).as_py()
        else:
            filled = after.num_rows - pc.sum(pc.equal(column, "")).as_py()
        print(f"  + {name}: {filled:,} of {after.num_rows:,} rows have a value")
    print("every column of before is identical in after" if same else "PICTURES DIFFER")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
