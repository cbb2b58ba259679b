"""Errors that carry their data and say how to fix the input.

The command line prints an `InputError` as one readable message and exits with
code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input from a user: a file, a field, a command-line value.

    `source` names the input (a file, `file:line:column`, an option), `problems`
    lists what is wrong with it, each saying how to fix it.
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        if len(self.problems) == 1:
            return f"{self.source}: {self.problems[0]}"
        lines = [f"{self.source}: {len(self.problems)} problems"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)
