"""`dotdir.Document`: bytes, modes, updates, errors."""

from __future__ import annotations

import json
import os
import stat

import pytest

import dotdir

VALUES = [
    {"capacity": 5, "available": 5.0, "refill_rate_minutes": 90, "last_refill": "2026-11-21T13:56:30.633443-08:00"},
    [1, 2.5, 1e16, 1e-05, 3.0000462962962963, 1795298190.6445022, -0.0, True, False, None],
    {"é": "☕ \u2014 \U0001f600", "nested": {"a": [{"b": {}}, []]}, "ctl": "\x00\t\n\"\\"},
    "raw string",
    12345678901234,
    {"1": 1, "k": -(2**63)},
]


@pytest.mark.parametrize("value", VALUES)
def test_python_style_is_json_dumps(tmp_path, value):
    doc = dotdir.Document(tmp_path / "state" / "doc.json")
    doc.write(value)
    assert (tmp_path / "state" / "doc.json").read_bytes() == json.dumps(value).encode()
    assert doc.read() == value


def test_non_string_keys_become_strings_as_in_json_dumps(tmp_path):
    value = {1: "a", 2.5: "b", True: "c", None: "d"}
    doc = dotdir.Document(tmp_path / "doc.json")
    doc.write(value)
    assert (tmp_path / "doc.json").read_bytes() == json.dumps(value).encode()


def test_other_styles(tmp_path):
    dotdir.Document(tmp_path / "p.json", style="pretty").write({"a": [1]})
    assert (tmp_path / "p.json").read_text() == '{\n  "a": [\n    1\n  ]\n}\n'
    dotdir.Document(tmp_path / "c.json", style="compact").write({"a": [1]})
    assert (tmp_path / "c.json").read_text() == '{"a":[1]}'
    with pytest.raises(ValueError):
        dotdir.Document(tmp_path / "x.json", style="yaml")


def test_read_default_and_update(tmp_path):
    doc = dotdir.Document(tmp_path / "d.json")
    assert doc.read() is None
    assert doc.read(default={}) == {}
    assert doc.update(lambda v: v + [1], default=[]) == [1]
    assert doc.update(lambda v: v + [2]) == [1, 2]
    assert doc.read() == [1, 2]
    assert doc.remove() is True and doc.read() is None


def test_an_exception_in_update_leaves_the_file_untouched(tmp_path):
    doc = dotdir.Document(tmp_path / "d.json")
    doc.write({"n": 1})

    def boom(_):
        raise RuntimeError("no")

    with pytest.raises(RuntimeError, match="no"):
        doc.update(boom)
    assert (tmp_path / "d.json").read_bytes() == b'{"n": 1}'
    with pytest.raises(TypeError, match="not JSON serializable"):
        doc.update(lambda v: {"n": object()})
    assert (tmp_path / "d.json").read_bytes() == b'{"n": 1}'


def test_values_that_are_not_json_are_refused(tmp_path):
    doc = dotdir.Document(tmp_path / "d.json")
    with pytest.raises(TypeError):
        doc.write({"x": {1, 2}})
    with pytest.raises(ValueError):
        doc.write(float("nan"))
    with pytest.raises(ValueError):
        doc.write(2**70)
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError):
        doc.write(loop)
    assert not (tmp_path / "d.json").exists()


def test_secrets_are_0600_under_umask_000(tmp_path):
    old = os.umask(0)
    try:
        secret = dotdir.Document(tmp_path / "state" / "token.json", secret=True)
        secret.write({"refresh_token": "s3cr3t"})
        plain = dotdir.Document(tmp_path / "state" / "config.json")
        plain.write({})
        dotdir.atomic_write(tmp_path / "raw", b"x", mode=0o600)
        dd = dotdir.ollim.DataDir(tmp_path / "bot", git=False)
        dd.write_secret("credentials.json", b'{"client": "c"}')
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(os.stat(p).st_mode)  # noqa: E731
    assert mode(tmp_path / "state" / "token.json") == 0o600
    assert mode(tmp_path / "raw") == 0o600
    assert mode(tmp_path / "bot" / "state" / "credentials.json") == 0o600
    assert mode(tmp_path / "state" / "config.json") == 0o666  # umask 000, not a secret
    assert secret.read() == {"refresh_token": "s3cr3t"}


def test_a_secret_is_never_written_through_a_symlink(tmp_path):
    (tmp_path / "elsewhere").write_text("x")
    (tmp_path / "token.json").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(dotdir.SecretRefused) as raised:
        dotdir.Document(tmp_path / "token.json", secret=True).write("s3cr3t")
    assert raised.value.path == str(tmp_path / "token.json")
    assert (tmp_path / "elsewhere").read_text() == "x"


def test_a_corrupt_document_raises_with_path_and_never_echoes_a_secret(tmp_path):
    path = tmp_path / "token.json"
    path.write_text('{"token": "hunter2-secret-value"')
    with pytest.raises(dotdir.CorruptDocument) as raised:
        dotdir.Document(path, secret=True).read()
    assert raised.value.path == str(path)
    assert "hunter2" not in str(raised.value)
    assert isinstance(raised.value, dotdir.Error) and isinstance(raised.value, ValueError)
    with pytest.raises(dotdir.CorruptDocument):
        dotdir.Document(path).update(lambda v: v)
    assert path.read_text() == '{"token": "hunter2-secret-value"'


def test_io_errors_name_the_step_and_path(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(dotdir.IoFailure) as raised:
        dotdir.Document(tmp_path / "file" / "sub" / "d.json").write(1)
    assert raised.value.step is not None
    assert raised.value.path is not None
    assert isinstance(raised.value, OSError)
