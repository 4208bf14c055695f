"""What ops prints is inert: no control characters, no line a CI runner would run as a command."""

from __future__ import annotations

from datetime import UTC

import pytest

from ops import store
from ops.text import clean, shown


@pytest.mark.parametrize("raw, printed", [
    ("key\x1b[31m", "key\\x1b[31m"),
    ("over\rwrite", "over\\x0dwrite"),
    ("bidi\u202eevil", "bidi\\u202eevil"),
    ("line\u2028sep", "line\\u2028sep"),
    ("tab\tkept", "tab\tkept"),
])
def test_control_and_format_characters_are_escaped(raw: str, printed: str) -> None:
    assert clean(raw) == printed


@pytest.mark.parametrize("line", ["::error::pwned", "  ::add-mask::x", "##[warning]y", "\t::set-output name=a::b"])
def test_no_line_starts_a_workflow_command(line: str) -> None:
    for out in clean(f"first\n{line}").splitlines():
        assert not out.lstrip().startswith(("::", "##["))
    assert "pwned" in clean("x\n::error::pwned")  # the text itself stays readable


def test_a_shown_value_is_one_escaped_line_of_bounded_length() -> None:
    value = shown("postgres/x\n::error::y" + "z" * 500)
    assert "\n" not in value and value.startswith("postgres/x\\x0a::error::y") and len(value) <= 201


@pytest.mark.parametrize("key, ok", [
    ("postgres/ara_prod/2026/12/01/ara_prod-20261201T031700Z.dump", True),
    ("postgres/ara_prod/2026/12/01/ara_prod-20261201T031700Z.dump\n", False),
    ("postgres/ara_prod/2026/12/02/ara_prod-20261201T031700Z.dump", False),
    ("postgres/ara_prod/2026/02/30/ara_prod-20260230T031700Z.dump", False),
    ("postgres/ara prod/2026/12/01/ara prod-20261201T031700Z.dump", False),
    ("postgres/../x/2026/12/01/..-20261201T031700Z.dump", False),
    ("backups/ara_prod/2026/12/01/ara_prod-20261201T031700Z.dump", False),
])
def test_only_keys_ops_backup_writes_are_keys(key: str, ok: bool) -> None:
    assert (store.parse_key(key) is not None) is ok


def test_a_database_name_that_cannot_make_a_safe_key_is_refused_at_backup() -> None:
    from datetime import datetime

    with pytest.raises(store.UsageError, match="cannot be part of a backup key"):
        store.dump_key("ara\n::error::x", datetime(2026, 12, 1, tzinfo=UTC))
