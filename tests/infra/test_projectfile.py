"""Project and stack files: read defensively (a fork controls them), refused the way Pulumi refuses them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from infra import projectfile
from tests.support import ROOT, offline_secrets

PROD = (ROOT / "Pulumi.prod.yaml").read_text()
CANARY = "sk-proj-CANARY-7f3a9c"


@pytest.fixture
def program(tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.prod.yaml").write_text(PROD)
    return tmp_path


def _config(program: Path, **kwargs) -> projectfile.StackConfigSource:
    """prod's config with the secrets an operator sets (`--config` here; the file's entries still judged)."""
    return projectfile.stack_config("prod", program, overrides={**offline_secrets(), **kwargs.pop("overrides", {})},
                                    **kwargs)


def _refused(program: Path, stack_text: str | None = None, **kwargs) -> str:
    if stack_text is not None:
        (program / "Pulumi.prod.yaml").write_text(stack_text)
    with pytest.raises(projectfile.ProjectFileError) as info:
        _config(program, **kwargs)
    return str(info.value)


# A 1 KB document that expands to 9^6 strings through aliases.
ALIAS_BOMB = 'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]\n' + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcde", "bcdef", strict=True))

# One row per class of bad stack-file input: (what is appended or written, what the message must say).
BAD_STACK_FILES = {
    "duplicate key (the last would silently win)": (
        PROD + "  ara-infra:dbSslMode: require\n", "key 'ara-infra:dbSslMode' is defined twice"),
    "plain-text value of a secret key": (
        PROD + f"  ara-infra:openaiApiKey: {CANARY}\n",
        "ara-infra:openaiApiKey: must be encrypted as it's secret"),
    "empty secure value": (
        PROD + "  ara-infra:openaiApiKey:\n    secure: ''\n", "ara-infra:openaiApiKey: a 'secure:' value"),
    "secure value that is a number": (
        PROD + "  ara-infra:openaiApiKey:\n    secure: 12\n", "ara-infra:openaiApiKey: a 'secure:' value"),
    "secure value that is a list": (
        PROD + "  ara-infra:openaiApiKey:\n    secure: [a, b]\n", "ara-infra:openaiApiKey: a 'secure:' value"),
    "secure value with extra keys": (
        PROD + "  ara-infra:openaiApiKey:\n    secure: v1:abc:def\n    plain: x\n",
        "ara-infra:openaiApiKey: a 'secure:' value"),
    "key without namespace": (PROD + "  dbHost: db.example.com\n", "write 'ara-infra:dbHost'"),
    "null value": (PROD + "  ara-infra:buildCommand: ~\n", "ara-infra:buildCommand: has no value"),
    "explicit null value": (PROD + "  ara-infra:buildCommand: null\n", "ara-infra:buildCommand: has no value"),
    "binary value": (PROD + "  ara-infra:buildCommand: !!binary aGVsbG8=\n", "tag 'tag:yaml.org,2002:binary'"),
    "python object tag": (PROD + "  ara-infra:buildCommand: !!python/object:os.system x\n", "is not allowed"),
    "list for a string key": (PROD + "  ara-infra:framework: [astro]\n", "ara-infra:framework: must be a string"),
    "mapping for an array key": (
        PROD + "  ara-infra:functionRegions: {a: iad1}\n", "ara-infra:functionRegions: must be a list of strings"),
    "integer key": (PROD + "  1: x\n", "mapping keys must be strings (got 1)"),
    "null key": (PROD + "  ~: x\n", "mapping keys must be strings (got None)"),
    "config that is a list": ("config: []\n", "'config' must be a mapping"),
    "document that is a list": ("- a\n", "must be a mapping"),
    "alias bomb": (ALIAS_BOMB, "expands to more than"),
    "recursive alias": ("config: &a [*a]\n", "an alias refers to itself"),
    "deep nesting": ("config: " + "[" * 500 + "]" * 500 + "\n", "nested deeper than"),
    "two documents": (PROD + "---\nconfig: {}\n", "not valid YAML"),
    "not YAML": ("config: {\n", "not valid YAML"),
}


@pytest.mark.parametrize("case", list(BAD_STACK_FILES), ids=list(BAD_STACK_FILES))
def test_a_bad_stack_file_is_refused_naming_the_file_and_never_a_secret(program, case):
    text, expected = BAD_STACK_FILES[case]
    message = _refused(program, text)
    assert str(program / "Pulumi.prod.yaml") in message
    assert expected in message
    assert CANARY not in message


def test_every_bad_entry_of_a_stack_file_is_listed_at_once(program):
    message = _refused(program, PROD + f"  ara-infra:openaiApiKey: {CANARY}\n  dbHost: x\n"
                                       "  ara-infra:buildCommand: ~\n")
    assert len(message.splitlines()) == 3


def test_yaml_1_1_scalars_stay_strings_so_the_typed_check_sees_them(program):
    # PyYAML alone reads `010` as 8 and `3_0` as 30. Go's yaml.v3 (the CLI's reader) reads both as
    # integers too, so the CLI's type check passes them; the program sees the text and refuses it.
    (program / "Pulumi.prod.yaml").write_text(PROD + "  ara-infra:dbPort: 010\n  ara-infra:backupRetentionDays: 3_0\n")
    values = _config(program).values
    assert [values[f"ara-infra:{k}"] for k in ("dbPort", "backupRetentionDays")] == ["010", "3_0"]


@pytest.mark.parametrize(("line", "declared"), [
    ("ara-infra:hstsPreload: on", "boolean"),       # YAML 1.1 only; the CLI takes exactly true/false
    ("ara-infra:hstsPreload: 'True'", "boolean"),   # a quoted string, not a YAML boolean
    ("ara-infra:functionMaxDuration: 1:30", "integer"),  # sexagesimal: text the CLI's Atoi refuses
    ("ara-infra:dbPort: 5432.5", "integer"),
    ("ara-infra:cspScriptHashes: [1, 2]", "array<string>"),
])
def test_a_value_the_clis_type_check_refuses_is_refused_with_the_declared_type(program, line, declared):
    # pulumi/pulumi pkg/workspace/config.go validateStackConfigValue -> ValidateConfigValue.
    message = _refused(program, PROD + f"  {line}\n")
    assert f"{line.split(':')[0]}:{line.split(':')[1]}: must be" in message
    assert f"declared type is {declared})" in message


@pytest.mark.parametrize("line", ["ara-infra:hstsPreload: TRUE", "ara-infra:dbPort: 5432.0",
                                  "ara-infra:dbPort: '+5432'", "ara-infra:hstsMaxAge: 0x1E13380"])
def test_a_value_the_clis_type_check_accepts_passes_to_the_program(program, line):
    (program / "Pulumi.prod.yaml").write_text(PROD + f"  {line}\n")
    _config(program)


def test_the_missing_keys_message_is_the_clis(program):
    # formatMissingKeys: sorted, quoted, the last joined with "and"; "value" for one key.
    assert projectfile.missing_keys_message("pr-7", ["b"]) == "Stack 'pr-7' is missing configuration value 'b'"
    assert projectfile.missing_keys_message("pr-7", ["c", "a", "b"]) == \
        "Stack 'pr-7' is missing configuration values 'a', 'b' and 'c'"
    others = {k: v for k, v in offline_secrets().items() if k != "sentryDsn"}
    with pytest.raises(projectfile.ProjectFileError) as info:
        projectfile.stack_config("prod", program, overrides=others)
    message = str(info.value)
    assert message.splitlines()[0] == "Stack 'prod' is missing configuration value 'sentryDsn'"
    assert "pulumi config set --secret -s prod <key>` for sentryDsn" in message


def test_well_formed_secure_values_become_placeholders(program):
    (program / "Pulumi.prod.yaml").write_text(PROD + "  ara-infra:openaiApiKey:\n    secure: v1:bm9uY2U=:Y2lwaGVy\n")
    others = {k: v for k, v in offline_secrets().items() if k != "openaiApiKey"}
    source = projectfile.stack_config("prod", program, overrides=others)
    assert source.values["ara-infra:openaiApiKey"] == source.placeholders["ara-infra:openaiApiKey"]
    assert list(source.placeholders) == ["ara-infra:openaiApiKey"]  # set keys only; none for a missing one


def test_a_null_config_override_is_refused(program):
    assert "--config dbHost: null is not a value" in _refused(program, overrides={"dbHost": None})


# --- files that are not small regular UTF-8 files ----------------------------------------

def _symlink_to_dev_zero(path: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


def _directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _oversized(path: Path) -> None:
    path.write_text(PROD + "#" * projectfile.MAX_FILE_BYTES)


def _latin1(path: Path) -> None:
    path.write_bytes(PROD.encode() + "  ara-infra:buildCommand: caf\xe9\n".encode("latin-1"))


def _symlink_out_of_the_program(path: Path) -> None:
    outside = path.parent.parent / "runner-credentials.yaml"
    outside.write_text("config:\n  ara-infra:dbHost: db.example.com\n")
    path.unlink()
    path.symlink_to(outside)


HOSTILE_FILES = {
    "symlink out of the program directory": (_symlink_out_of_the_program, "is a symlink to"),
    "symlink to /dev/zero": (_symlink_to_dev_zero, "is a symlink to /dev/zero, outside the program directory"),
    "directory": (_directory, "is a directory, not a regular file"),
    "FIFO (would block a reader)": (_fifo, "is a FIFO, not a regular file"),
    "oversized": (_oversized, "larger than 1 MiB"),
    "not UTF-8": (_latin1, "not UTF-8 text"),
}


@pytest.mark.parametrize("case", list(HOSTILE_FILES), ids=list(HOSTILE_FILES))
def test_a_stack_file_that_is_not_a_small_regular_utf8_file_is_refused_by_name(program, case):
    make, expected = HOSTILE_FILES[case]
    make(program / "Pulumi.prod.yaml")
    message = _refused(program)
    assert f"{program / 'Pulumi.prod.yaml'}: {expected}" in message


# --- Pulumi.yaml ----------------------------------------------------------------------------

BAD_DECLARATIONS = {
    "config that is a list": ("config: []\n", "'config' must be a mapping"),
    "integer key": ("config:\n  1: {type: string}\n", "mapping keys must be strings"),
    "unknown type": ("config:\n  a: {type: object}\n", "config.a: type must be one of"),
    "null default": ("config:\n  a: {type: string, default: ~}\n", "config.a.default is null"),
    "default of the wrong type": ("config:\n  a: {type: integer, default: '5'}\n",
                                  "config.a.default must be an integer"),
    "secret with a default": ("config:\n  a: {type: string, secret: true, default: x}\n", "cannot have a default"),
    "secret flag that is not a boolean": ("config:\n  a: {type: string, secret: 'yes'}\n", "config.a.secret must be"),
    "array without string items": ("config:\n  a: {type: array}\n", "arrays need `items: {type: string}`"),
    "duplicate declaration": ("config:\n  a: {type: string}\n  a: {type: integer}\n", "key 'a' is defined twice"),
}


@pytest.mark.parametrize("case", list(BAD_DECLARATIONS), ids=list(BAD_DECLARATIONS))
def test_a_bad_pulumi_yaml_is_refused_naming_the_file_and_key(tmp_path, case):
    text, expected = BAD_DECLARATIONS[case]
    (tmp_path / "Pulumi.yaml").write_text("name: ara-infra\nruntime: python\n" + text)
    with pytest.raises(projectfile.ProjectFileError) as info:
        projectfile.declarations(tmp_path)
    assert str(tmp_path / "Pulumi.yaml") in str(info.value)
    assert expected in str(info.value)


def test_a_device_or_fifo_is_never_opened_for_reading_blocked_or_endless():
    with pytest.raises(projectfile.ProjectFileError, match="/dev/zero: is a device, not a regular file"):
        projectfile.read_yaml(Path("/dev/zero"))


def test_a_cached_document_is_reread_when_the_file_changes(program):
    assert _config(program).values["ara-infra:dbSslMode"] == "verify-full"
    (program / "Pulumi.prod.yaml").write_text(PROD.replace("verify-full", "verify-ca"))
    assert _config(program).values["ara-infra:dbSslMode"] == "verify-ca"
