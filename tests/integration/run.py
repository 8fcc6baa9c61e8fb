#!/usr/bin/env python3
"""ringd integration test runner: discovers tests/integration/test_*.py and
prints TAP.  Usage: run.py RINGD_BINARY [-k PATTERN]... [-v]"""

import argparse
import os
import signal
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PER_TEST_LIMIT = 120  # seconds; a watchdog so one stuck test cannot hang the suite


class TestTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise TestTimeout("test exceeded %ds watchdog" % PER_TEST_LIMIT)


class TapResult(unittest.TestResult):
    def __init__(self, out, verbose=False):
        super().__init__()
        self.out = out
        self.n = 0
        self.n_failed = 0
        self.verbose = verbose
        self._cur = None

    def _emit(self, ok, name, directive="", diag=None, dur=None):
        self.n += 1
        line = "%s %d - %s" % ("ok" if ok else "not ok", self.n, name)
        if directive:
            line += " # " + directive
        self.out.write(line + "\n")
        if diag:
            for ln in diag.rstrip("\n").split("\n"):
                self.out.write("# " + ln + "\n")
        if dur is not None and self.verbose:
            self.out.write("# (%.2fs)\n" % dur)
        self.out.flush()
        if not ok:
            self.n_failed += 1

    @staticmethod
    def _name(test):
        return test.id()

    def startTest(self, test):
        super().startTest(test)
        self._cur = {"fail": [], "skip": None, "xfail": False, "t0": time.monotonic()}
        signal.alarm(PER_TEST_LIMIT)

    def stopTest(self, test):
        signal.alarm(0)
        super().stopTest(test)
        cur, self._cur = self._cur, None
        if cur is None:
            return
        dur = time.monotonic() - cur["t0"]
        if cur["fail"]:
            self._emit(False, self._name(test), diag="\n".join(cur["fail"]), dur=dur)
        elif cur["skip"] is not None:
            self._emit(True, self._name(test), "SKIP " + cur["skip"], dur=dur)
        else:
            self._emit(True, self._name(test), dur=dur)

    def _fmt(self, err, test):
        return self._exc_info_to_string(err, test)

    def _outside(self, test, ok, text, directive=""):
        # errors not attached to a running test (setUpClass/tearDownClass/module)
        self._emit(ok, str(test), directive, diag=None if ok else text)

    def addError(self, test, err):
        super().addError(test, err)
        if self._cur is None:
            self._outside(test, False, self._fmt(err, test))
        else:
            self._cur["fail"].append("ERROR:\n" + self._fmt(err, test))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        if self._cur is None:
            self._outside(test, False, self._fmt(err, test))
        else:
            self._cur["fail"].append("FAIL:\n" + self._fmt(err, test))

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None and self._cur is not None:
            kind = "FAIL" if issubclass(err[0], test.failureException) else "ERROR"
            self._cur["fail"].append("%s in %s:\n%s" % (kind, subtest._subDescription(),
                                                        self._fmt(err, test)))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        if self._cur is None:
            self._outside(test, True, "", "SKIP " + reason)
        else:
            self._cur["skip"] = reason

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        if self._cur is not None:
            self._cur["skip"] = "TODO expected failure"

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        if self._cur is not None:
            self._cur["fail"].append("unexpected success")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("binary")
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    help="only tests whose id contains PATTERN (fnmatch wildcards allowed)")
    ap.add_argument("-v", action="store_true", help="print durations")
    a = ap.parse_args()

    os.environ["RINGD_BINARY"] = os.path.abspath(a.binary)
    sys.path.insert(0, HERE)
    signal.signal(signal.SIGALRM, _alarm)

    loader = unittest.TestLoader()
    if a.patterns:
        loader.testNamePatterns = [p if "*" in p else "*%s*" % p for p in a.patterns]
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    result = TapResult(sys.stdout, verbose=a.v)
    if not os.path.exists(a.binary):
        sys.stdout.write("# WARNING: binary %s does not exist; tests will skip\n" % a.binary)
    t0 = time.monotonic()
    suite.run(result)
    sys.stdout.write("1..%d\n" % result.n)
    sys.stdout.write("# %d tests, %d failed, %.1fs\n" % (result.n, result.n_failed,
                                                         time.monotonic() - t0))
    sys.stdout.flush()
    return 1 if result.n_failed else 0


if __name__ == "__main__":
    sys.exit(main())
