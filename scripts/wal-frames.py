#!/usr/bin/env python3
"""Which tables and indexes the WAL frames of a run went to.

Attach strace to a running `wagate local` for the phase to measure, e.g. the drain of
scripts/bench-drain.sh:

    strace -f -qq -xx -e trace=pwrite64 -o strace.out -p "$(pgrep -f 'wagate local')"

then, with the process stopped (its data directory left in place):

    python3 scripts/wal-frames.py strace.out DATA_DIR/wagate.db MESSAGES

Every WAL frame starts with a 24-byte header written on its own, whose first 4 bytes are the
page number and the next 4 non-zero on a commit's last frame. Pages are mapped to their b-tree
by SQLite's dbstat table on the final file (pages freed and reused by another b-tree during the
run are counted under their last owner; pages free at the end, mostly the drained queue's, are
"(free)"). MESSAGES divides the counts per message.
"""
import collections
import re
import sqlite3
import sys

HEADER = re.compile(r'pwrite64\((\d+), "((?:\\x[0-9a-f]{2}){24})", 24,')


def main(trace, db, n):
    pages = collections.Counter()
    commits = 0
    for line in open(trace):
        m = HEADER.search(line)
        if not m:
            continue
        header = bytes.fromhex(m.group(2).replace('\\x', ''))
        pages[int.from_bytes(header[0:4], 'big')] += 1
        commits += int.from_bytes(header[4:8], 'big') != 0
    conn = sqlite3.connect(db)
    owner = dict(conn.execute('SELECT pageno, name FROM dbstat'))
    kib = conn.execute('PRAGMA page_size').fetchone()[0] / 1024
    by = collections.Counter()
    for page, count in pages.items():
        by[owner.get(page, '(free)')] += count
    total = sum(pages.values())
    print(f'{total} frames in {commits} commits ({total / max(commits, 1):.1f} a commit), '
          f'{total / n:.2f} frames ({total * kib / n:.1f} KiB) per message')
    for name, count in by.most_common():
        print(f'{name:32} {count:9} {count / n:.3f} per message')


if __name__ == '__main__':
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
