"""What every Python test driver here shares: TAP-like check lines.

A driver's class derives from Checks, sets self.last to (command, exit
status, stdout, stderr) after each command it runs, and calls ok() for
each check; tests/cli/lib/testlib.sh (relay_driver) turns the lines into
the shell wrapper's checks.  Bail is raised when a step a later check
needs has failed.
"""

import sys


class Bail(Exception):
    pass


class Checks:
    nfail = 0
    last = None
    command_prefix = "pingan "  # how show_last() names the last command

    def ok(self, cond, what, expected=None, found=None, show=False):
        """Print "ok - WHAT" or "not ok - WHAT" with what was expected and
        found (and, with show, the last command's output)."""
        print("%s - %s" % ("ok" if cond else "not ok", what))
        if not cond:
            self.nfail += 1
            if expected is not None:
                print("#   expected: " + str(expected).replace("\n", "\n#             "))
            if found is not None:
                print("#   found:    " + str(found).replace("\n", "\n#             "))
            if show and self.last:
                self.show_last()
            self.on_failure()
        sys.stdout.flush()
        return cond

    def on_failure(self):
        """More to show under a failed check (a driver may override)."""

    def note(self, text):
        print("# " + text.replace("\n", "\n# "))
        sys.stdout.flush()

    def show_last(self):
        cmd, rc, out, err = self.last
        print("#   command: %s%s" % (self.command_prefix, cmd))
        print("#   exit:    %s" % rc)
        for label, text in (("stdout", out), ("stderr", err)):
            if text.strip():
                print("#   %s:" % label)
                for line in text[:1500].splitlines():
                    print("#     " + line)
