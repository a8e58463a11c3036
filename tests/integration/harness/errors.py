"""The harness's own failure: something around the service under test went wrong (a binary not
built, a process that would not start, a wait that timed out), as opposed to an assertion."""


class HarnessError(RuntimeError):
    pass
