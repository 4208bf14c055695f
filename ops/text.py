"""Text from outside (object keys, PostgreSQL messages, role names) made safe to print.

What `ops` prints lands in terminals and in GitHub Actions logs. A control character (an ANSI
escape, a carriage return that overwrites a line, a newline inside a key) can forge or hide
output, and a line starting with `::` (or the runner's older `##[`) is a workflow command to the
runner (docs.github.com/actions/reference/workflows-and-actions/workflow-commands; the runner
trims leading whitespace before matching). Every line `ops` prints goes through `clean`.
"""

from __future__ import annotations

import unicodedata

_UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"}
_COMMAND_PREFIXES = ("::", "##[")
KEY_DISPLAY_LIMIT = 200


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def clean_line(line: str) -> str:
    """One line with every control/format character escaped and no workflow command at its start."""
    line = "".join(c if c == "\t" or unicodedata.category(c) not in _UNSAFE_CATEGORIES else _escape(c)
                   for c in line)
    stripped = line.lstrip()
    for prefix in _COMMAND_PREFIXES:
        if stripped.startswith(prefix):
            indent = line[: len(line) - len(stripped)]
            return f"{indent}{prefix[0]} {stripped[1:]}"
    return line


def clean(text: str) -> str:
    """`text` safe to print: newlines and tabs kept, every other control character escaped, and no
    line able to act as a workflow command."""
    return "\n".join(clean_line(line) for line in text.split("\n"))


def shown(value: str, limit: int = KEY_DISPLAY_LIMIT) -> str:
    """A value from outside (an object key, a name) for a message: one line, escaped, shortened."""
    flat = "".join(_escape(c) if unicodedata.category(c) in _UNSAFE_CATEGORIES else c for c in value)
    return flat if len(flat) <= limit else flat[:limit] + "…"
