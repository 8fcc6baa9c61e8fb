#!/usr/bin/env python3
"""Counts test cases across meson test logs (testlog.json) and plain 'ok'/'not ok'
files, and prints one line: 'N passed, M failed[, K skipped]'. A TAP test counts
each of its lines; a test that printed no TAP line counts once, by its result.
Exit status 1 when anything failed."""
import json
import re
import sys

TAP = re.compile(r'^(not ok|ok)\b(.*)$')


def count_tap(text):
    p = f = s = 0
    for line in text.splitlines():
        m = TAP.match(line.strip())
        if not m:
            continue
        if m.group(1) == 'not ok':
            if '# TODO' in m.group(2):
                continue
            f += 1
        elif '# SKIP' in m.group(2).upper():
            s += 1
        else:
            p += 1
    return p, f, s


def main(argv):
    passed = failed = skipped = 0
    args = argv[1:]
    if '--extra-failures' in args:
        i = args.index('--extra-failures')
        failed += int(args[i + 1])
        del args[i:i + 2]
    for path in args:
        try:
            text = open(path, encoding='utf-8', errors='replace').read()
        except OSError:
            failed += 1
            continue
        if not path.endswith('.json'):
            p, f, s = count_tap(text)
            passed, failed, skipped = passed + p, failed + f, skipped + s
            continue
        for line in text.splitlines():
            try:
                t = json.loads(line)
            except ValueError:
                continue
            result = t.get('result', '')
            p, f, s = count_tap(t.get('stdout') or '')
            if p + f + s == 0:
                if result == 'OK' or result == 'EXPECTEDFAIL':
                    p = 1
                elif result == 'SKIP':
                    s = 1
                else:
                    f = 1
            elif result not in ('OK', 'SKIP', 'EXPECTEDFAIL') and f == 0:
                f = 1  # crashed or timed out after its last TAP line
            passed, failed, skipped = passed + p, failed + f, skipped + s
    line = f'{passed} passed, {failed} failed'
    if skipped:
        line += f', {skipped} skipped'
    print(line)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
