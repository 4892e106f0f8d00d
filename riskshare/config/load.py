"""Load YAML or TOML configuration files into a validated :class:`Model`.

Every invalid value is reported at once, each as ``file:line: field.path:
message``, in one :class:`~riskshare.errors.ConfigError`. Overrides given as
``path.to.field=value`` (the CLI's ``--set``) are applied to the raw data
before validation, so they are checked exactly like the file.

Every file riskshare reads (configs, sweep, stress and sensitivity files,
result manifests, histories) goes through :func:`read_text`, which is bounded
by design: a size limit, devices refused, reading stopped at the limit (so
``/dev/zero`` is refused, not read until memory runs out), binary files and
non-UTF-8 text named with the byte and line at fault. YAML is checked for
depth and for the number of values once aliases are expanded (an "alias
bomb" is refused) before it is built.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import json
import stat
import tomllib
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    NodeEvent,
)

from riskshare.config.model import Agreement, Model, reference_problems
from riskshare.errors import ConfigError, InputError

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_DATA_BYTES",
    "MAX_YAML_DEPTH",
    "MAX_YAML_VALUES",
    "apply_overrides",
    "check_input_file",
    "decode_text",
    "format_loc",
    "get_path",
    "load_config",
    "parse_override",
    "read_config_data",
    "read_text",
    "set_path",
    "validate_data",
    "with_changes",
]


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> Model:
    """Read, override and validate a configuration file.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.yaml``/``.yml`` or ``.toml`` file.
    overrides : iterable of str
        ``dotted.path=value`` strings; the value is read as a YAML scalar or
        flow collection (``0.05``, ``[1, 2]``, ``{nhs: 0.5, council: 0.5}``).

    Returns
    -------
    Model
        The validated, immutable configuration.

    Raises
    ------
    riskshare.errors.ConfigError
        If the file cannot be read or any value is invalid; the message
        lists every problem with its file, line and field path.

    Examples
    --------
    >>> import riskshare as rs
    >>> model = rs.load_config("configs/benchmark.yaml", ["simulation.years=3"])
    >>> model.simulation.years
    3
    """
    path = Path(path)
    data, lines = read_config_data(path)
    data = apply_overrides(data, overrides, source=str(path))
    return validate_data(data, source=str(path), lines=lines)


MAX_CONFIG_BYTES = 4 * 2**20
"""Largest config, sweep, stress, sensitivity or manifest file read [bytes] (4 MiB)."""
MAX_DATA_BYTES = 256 * 2**20
"""Largest data file (a history or per-client costs) read [bytes] (256 MiB)."""
MAX_WORKBOOK_RATIO = 200
"""Largest ratio of a workbook member's unpacked size to its packed size (a zip bomb's is ~1000)."""
MAX_YAML_DEPTH = 40
"""Deepest nesting of mappings and lists allowed in a YAML file."""
MAX_YAML_VALUES = 200_000
"""Most values (scalars, mappings, lists) in a YAML file once aliases are expanded."""


def read_text(path: str | Path, *, what: str = "config file", limit: int = MAX_CONFIG_BYTES) -> str:
    """Read a text file the user gave, bounded and checked.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    what : str
        What the file is, for messages ("config file", "history", ...).
    limit : int
        Largest size read [bytes]; reading stops there.

    Returns
    -------
    str
        The text, decoded as UTF-8 (a byte-order mark is dropped; UTF-16 with a
        byte-order mark is accepted too).

    Raises
    ------
    riskshare.errors.ConfigError
        If the file is missing, a folder or a device, larger than ``limit``,
        binary, or not UTF-8: the message names the file and, for an encoding
        problem, the line and byte (e.g. a £ saved as Windows-1252).
    """
    source = str(path)
    path = Path(path)
    check_input_file(path, what=what, limit=limit)
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise ConfigError(
            source, [("", f"cannot read the {what} ({exc.strerror or exc})")]
        ) from None
    if len(data) > limit:
        raise ConfigError(source, [("", f"larger than the {limit / 2**20:g} MiB allowed")])
    return decode_text(data, source, what=what)


def check_input_file(path: str | Path, *, what: str, limit: int = MAX_DATA_BYTES) -> None:
    """Refuse a missing file, a folder, a device or a file larger than ``limit`` bytes.

    Raises
    ------
    riskshare.errors.ConfigError
        Naming the file and what is wrong with it.
    """

    def refuse(msg: str) -> ConfigError:
        return ConfigError(str(path), [("", msg)])

    try:
        info = Path(path).stat()
    except FileNotFoundError:
        raise refuse("file not found") from None
    except OSError as exc:
        raise refuse(f"cannot read the {what} ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise refuse(f"is a folder, not a {what}")
    if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) or stat.S_ISSOCK(info.st_mode):
        raise refuse(f"is a device, not a {what}")
    if stat.S_ISREG(info.st_mode) and info.st_size > limit:
        raise refuse(f"larger than the {limit / 2**20:g} MiB allowed for a {what}")


def check_workbook(path: str | Path, *, what: str, limit: int = MAX_DATA_BYTES) -> None:
    """Refuse an Excel workbook that would unpack to more than ``limit`` bytes.

    An ``.xlsx`` file is a zip archive: a small file can unpack to gigabytes
    (a "zip bomb"). The sizes its directory declares are checked before
    anything is unpacked, and so is each member's compression ratio, since
    a declared size can lie. The file itself is checked as
    :func:`check_input_file` does.

    Raises
    ------
    riskshare.errors.ConfigError
        Naming the file and what is wrong with it.
    """
    check_input_file(path, what=what, limit=limit)

    def refuse(msg: str) -> ConfigError:
        return ConfigError(str(path), [("", msg)])

    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise refuse(f"is not an Excel workbook (.xlsx, a zip archive); a {what} must be") from None
    unpacked = sum(m.file_size for m in members)
    if unpacked > limit:
        raise refuse(
            f"unpacks to {unpacked / 2**20:,.0f} MiB, more than the {limit / 2**20:g} MiB allowed"
            f" for a {what}"
        )
    for m in members:
        if m.file_size > 2**20 and m.file_size > MAX_WORKBOOK_RATIO * max(m.compress_size, 1):
            raise refuse(
                f"member {m.filename!r} is compressed {m.file_size / max(m.compress_size, 1):,.0f}"
                f" to 1 (at most {MAX_WORKBOOK_RATIO} allowed): not a plausible {what}"
            )


def decode_text(data: bytes, source: str, *, what: str = "config file") -> str:
    """Decode a file's bytes as UTF-8, or say which byte on which line is not UTF-8."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ConfigError(
                source, [("", f"not valid UTF-16 text (a damaged {what}?)")]
            ) from None
    if b"\x00" in data[:8192]:
        raise ConfigError(source, [("", f"is a binary file, not a text {what}")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start]
        hint = ""
        with contextlib.suppress(UnicodeDecodeError):
            hint = f" (in Windows-1252 it would be {bytes([byte]).decode('cp1252')!r})"
        raise ConfigError(
            source,
            [
                (
                    f"line {line}",
                    f"byte 0x{byte:02X} is not UTF-8{hint}: save the file as UTF-8 "
                    "(in Excel or Notepad: Save As, encoding UTF-8)",
                )
            ],
        ) from None


def _check_yaml_shape(yaml: YAML, text: str, source: str) -> None:
    """Refuse YAML nested deeper than :data:`MAX_YAML_DEPTH` or too large once aliases expand.

    Runs on the parser's events (no tree is built), so an alias bomb is
    refused in a fraction of a second.
    """
    depth = 0
    total = 0
    sizes: dict[str, int] = {}
    open_: list[tuple[str | None, int]] = []
    for event in yaml.parse(io.StringIO(text)):
        if isinstance(event, AliasEvent):
            total += sizes.get(event.anchor, 1)
        elif isinstance(event, CollectionStartEvent):
            depth += 1
            total += 1
            open_.append((event.anchor, total))
            if depth > MAX_YAML_DEPTH:
                where = f"line {event.start_mark.line + 1}"
                raise ConfigError(
                    source, [(where, f"nested more than {MAX_YAML_DEPTH} levels deep")]
                )
        elif isinstance(event, CollectionEndEvent):
            depth -= 1
            anchor, start = open_.pop()
            if anchor is not None:
                sizes[anchor] = total - start + 1
        elif isinstance(event, NodeEvent):
            total += 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        if total > MAX_YAML_VALUES:
            where = f"line {event.start_mark.line + 1}"
            raise ConfigError(
                source,
                [
                    (
                        where,
                        f"more than {MAX_YAML_VALUES:,} values once aliases (*name) are expanded",
                    )
                ],
            )


def read_config_data(
    path: Path, *, what: str = "config file"
) -> tuple[dict[str, Any], dict[tuple[Any, ...], int]]:
    """Parse a config file into plain data and a map from field path to line number.

    The file is read with :func:`read_text`; the top level must be a mapping.
    Also used for sweep, stress and sensitivity files (``what`` names them).
    """
    path = Path(path)
    text = read_text(path, what=what)
    suffix = path.suffix.lower()
    if suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(path), [("", f"not valid TOML: {exc}")]) from None
        except RecursionError:
            raise ConfigError(str(path), [("", "not valid TOML: nested too deeply")]) from None
        return data, {}
    if suffix not in (".yaml", ".yml", ".json"):
        raise ConfigError(
            str(path), [("", f"unknown file type '{suffix}' (allowed: .yaml, .yml, .toml, .json)")]
        )
    yaml = YAML(typ="rt")
    try:
        _check_yaml_shape(yaml, text, str(path))
        tree = yaml.load(io.StringIO(text))
    except YAMLError as exc:
        msg = " ".join(str(exc).split())
        raise ConfigError(str(path), [("", f"not valid YAML: {msg}")]) from None
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:
        msg = " ".join(str(exc).split())[:200]
        raise ConfigError(str(path), [("", f"not valid YAML: {msg}")]) from None
    if tree is None:
        raise ConfigError(str(path), [("", "the file is empty")])
    if not isinstance(tree, Mapping):
        raise ConfigError(str(path), [("", "the top level must be a mapping of fields")])
    lines: dict[tuple[Any, ...], int] = {}
    _collect_lines(tree, (), lines)
    try:
        return _plain(tree), lines
    except _NotPlain as exc:
        where = format_loc(exc.loc)
        line = _line_for(list(exc.loc), lines)
        if line is not None:
            where = f"line {line}: {where}"
        raise ConfigError(str(path), [(where, str(exc))]) from None


def _collect_lines(node: Any, loc: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    lc = getattr(node, "lc", None)
    if isinstance(node, Mapping):
        for key in node:
            if lc is not None:
                with contextlib.suppress(KeyError, TypeError):
                    out[(*loc, key)] = lc.key(key)[0] + 1
            _collect_lines(node[key], (*loc, key), out)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            if lc is not None:
                with contextlib.suppress(KeyError, TypeError, IndexError):
                    out[(*loc, i)] = lc.item(i)[0] + 1
            _collect_lines(item, (*loc, i), out)


class _NotPlain(ValueError):
    """A YAML value that is not a plain number, string, list or mapping (a tag, a date)."""

    def __init__(self, loc: tuple[Any, ...], node: Any) -> None:
        self.loc = loc
        if isinstance(node, str):
            super().__init__("text with an invalid character (a lone surrogate escape)")
            return
        tag = getattr(getattr(node, "tag", None), "value", None) or type(node).__name__
        super().__init__(f"'{tag}' values are not supported: write a plain number or text")


def _plain(node: Any, loc: tuple[Any, ...] = ()) -> Any:
    """Plain Python data (dict, list, str, int, float, bool, None) from a parsed YAML tree.

    Raises
    ------
    _NotPlain
        For a tagged value (``!secret x``) or a date, naming where it is.
    """
    if isinstance(node, Mapping):
        return {str(k): _plain(v, (*loc, str(k))) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v, (*loc, i)) for i, v in enumerate(node)]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        try:
            node.encode("utf-8")
        except UnicodeEncodeError:
            raise _NotPlain(loc, node) from None
        return str(node)
    raise _NotPlain(loc, node)


# --------------------------------------------------------------------------- overrides


def parse_override(text: str) -> tuple[list[str | int], Any]:
    """Split ``a.b[2].c=value`` into a path and a YAML-parsed value."""
    if "=" not in text:
        raise ValueError(f"'{text}' is not of the form path.to.field=value")
    key, _, raw = text.partition("=")
    key = key.strip()
    if not key:
        raise ValueError(f"'{text}' has no field path before '='")
    path: list[str | int] = []
    for part in key.replace("]", "").split("."):
        name, *indices = part.split("[")
        if name:
            path.append(name)
        for idx in indices:
            if not idx.lstrip("-").isdigit():
                raise ValueError(f"'{text}': list index '{idx}' is not an integer")
            path.append(int(idx))
    if len(path) > MAX_YAML_DEPTH:
        raise ValueError(f"'{text[:80]}...': the path is more than {MAX_YAML_DEPTH} fields deep")
    yaml = YAML(typ="safe", pure=True)
    try:
        _check_yaml_shape(yaml, raw, "--set")
        value = yaml.load(io.StringIO(raw)) if raw.strip() else None
        return path, _plain(value)
    except ConfigError as exc:
        raise ValueError(f"'{text[:80]}': {exc.problems[0][1]}") from None
    except (YAMLError, _NotPlain, RecursionError) as exc:
        raise ValueError(f"'{text}': value is not valid ({' '.join(str(exc).split())})") from None


def apply_overrides(
    data: dict[str, Any], overrides: Iterable[str], *, source: str = "<overrides>"
) -> dict[str, Any]:
    """Return a copy of ``data`` with each ``path=value`` override applied."""
    data = json.loads(json.dumps(data))
    problems: list[tuple[str, str]] = []
    for k, text in enumerate(overrides, start=1):
        try:
            path, value = parse_override(text)
            set_path(data, path, value)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            problems.append((f"--set #{k}", str(exc.args[0]) if exc.args else str(exc)))
    if problems:
        raise ConfigError(source, problems)
    return data


def get_path(data: Any, key: str) -> Any:
    """The value at a dotted path (``client_groups[0].spend.cost.cv``) of plain config data.

    Raises
    ------
    riskshare.errors.InputError
        If the path is malformed or does not exist, naming the part that is missing.
    """
    try:
        path, _ = parse_override(f"{key}=0")
    except ValueError as exc:
        raise InputError(f"'{key}' is not a dotted config path ({exc})") from None
    node = data
    for i, part in enumerate(path):
        try:
            node = node[item_index(node, part, path[: i + 1])]
        except (KeyError, IndexError, TypeError):
            raise InputError(
                f"'{key}': {format_loc(path[: i + 1])} does not exist in the config"
            ) from None
    return node


def item_index(node: Any, part: str | int, path: list[str | int]) -> str | int:
    """A list item addressed by its ``id`` (``client_groups.ld``) as its index.

    ``part`` is returned unchanged unless ``node`` is a list of mappings with
    ids and ``part`` is a name.

    Raises
    ------
    KeyError
        If no item of the list has that id (naming the ids there are).
    """
    if not isinstance(node, list) or not isinstance(part, str):
        return part
    ids = [item.get("id") for item in node if isinstance(item, dict)]
    if part in ids:
        return ids.index(part)
    listed = ", ".join(str(i) for i in ids if i is not None) or "none"
    raise KeyError(f"{format_loc(path)}: no item with id '{part}' (ids: {listed})")


def set_path(data: Any, path: list[str | int], value: Any) -> None:
    """Set ``value`` at ``path`` (from :func:`parse_override`) in plain config data, in place.

    Missing mappings on the way are created; list items must exist. A list
    item is addressed by its index or by its ``id``
    (``client_groups.learning_disability.spend.cost.inflation``).
    """
    node = data
    for i, part in enumerate(path[:-1]):
        nxt = path[i + 1]
        part = item_index(node, part, path[: i + 1])
        if isinstance(part, int):
            if not isinstance(node, list) or not -len(node) <= part < len(node):
                raise IndexError(f"{format_loc(path[: i + 1])}: no such list item")
            node = node[part]
        else:
            if not isinstance(node, dict):
                raise TypeError(f"{format_loc(path[:i])} is not a mapping")
            if part not in node or node[part] is None:
                node[part] = [] if isinstance(nxt, int) else {}
            node = node[part]
    last = item_index(node, path[-1], path)
    if isinstance(last, int):
        if not isinstance(node, list) or not -len(node) <= last < len(node):
            raise IndexError(f"{format_loc(path)}: no such list item")
        node[last] = value
    else:
        if not isinstance(node, dict):
            raise TypeError(f"{format_loc(path[:-1])} is not a mapping")
        node[last] = value


# --------------------------------------------------------------------------- validation


def format_loc(loc: Iterable[Any]) -> str:
    """``('client_groups', 2, 'cost', 'cv')`` → ``client_groups[2].cost.cv``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


# Union tags pydantic inserts in error locations; they are not fields the user wrote.
_UNION_TAGS = {
    "clients",
    "aggregate",
    "fixed",
    "schedule",
    "uplift",
    "expected_cost",
    "float",
    "Uncertain",
    "str",
    "int",
    "dict[str,float]",
    "list[...]",
}


def validate_data(
    data: Mapping[str, Any],
    *,
    source: str = "<config>",
    lines: Mapping[tuple[Any, ...], int] | None = None,
    model: type[BaseModel] = Model,
) -> Any:
    """Validate plain data into ``model``, raising one :class:`ConfigError` with every problem."""
    lines = lines or {}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        seen = set()
        errors = list(exc.errors(include_url=False))
        if model is Model and not any(e["loc"] == () for e in errors):
            # Field errors stop pydantic before the cross-field checks: run them
            # on the raw data too, so every problem is reported at once.
            errors += [
                {"type": "value_error", "loc": (), "msg": "\n".join(extra)}
                for extra in [reference_problems(data)]
                if extra
            ]
        for err in errors:
            loc = _user_loc(err["loc"], data)
            msg = _message(err, loc, data)
            # Cross-field checks report several "path: message" lines at once.
            for piece in msg.split("\n"):
                sub_loc, sub_msg = list(loc), piece
                head, sep, tail = piece.partition(": ")
                if sep and " " not in head:
                    sub_loc = sub_loc + _parse_path(head)
                    sub_msg = tail
                if (tuple(sub_loc), sub_msg) in seen:
                    continue
                seen.add((tuple(sub_loc), sub_msg))
                where = format_loc(sub_loc)
                line = _line_for(sub_loc, lines)
                if line is not None:
                    where = f"line {line}: {where}" if where else f"line {line}"
                problems.append((where, sub_msg))
        raise ConfigError(source, problems) from None


def _parse_path(text: str) -> list[Any]:
    path, _ = parse_override(f"{text}=0")
    return path


def _user_loc(loc: tuple[Any, ...], data: Any) -> list[Any]:
    """Drop union tags from a pydantic location, keeping only keys the data has."""
    out: list[Any] = []
    node: Any = data
    for part in loc:
        if isinstance(node, Mapping) and part in (node.get("model"), node.get("kind")):
            continue  # discriminated-union tag, not a field
        if (isinstance(node, Mapping) and isinstance(part, str) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        ):
            out.append(part)
            node = node[part]
        elif isinstance(part, str) and (
            part in _UNION_TAGS
            or part.startswith(("function-", "literal[", "tagged-union"))
            or "[" in part
        ):
            continue
        else:
            out.append(part)
            node = None
    return out


def _message(err: Mapping[str, Any], loc: list[Any], data: Any) -> str:
    kind = err["type"]
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind == "extra_forbidden":
        field = loc[-1] if loc else "?"
        msg = f"unknown field '{field}'"
        allowed = _allowed_fields(loc[:-1], data)
        if allowed:
            close = difflib.get_close_matches(str(field), allowed, n=1)
            if close:
                msg += f" (did you mean '{close[0]}'?)"
            else:
                msg += f" (allowed: {', '.join(sorted(allowed))})"
        return msg
    if kind == "missing":
        return "required field is missing"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return msg.replace("Input tag", "value")
    if (
        "input" in err
        and kind not in ("model_type",)
        and not isinstance(err["input"], (dict, list))
    ):
        msg = f"{msg} (got {err['input']!r})"
    return msg[0].lower() + msg[1:] if msg else msg


def _allowed_fields(loc: list[Any], data: Any) -> list[str]:
    """The field names allowed at ``loc`` (for "did you mean" hints)."""
    from riskshare.config import model as m

    node_model: Any = m.Model
    node: Any = data
    for part in loc:
        if isinstance(node, list) and isinstance(part, int):
            node = node[part] if part < len(node) else None
            continue
        if node_model is None or not isinstance(node, Mapping):
            return []
        field = node_model.model_fields.get(part)
        node = node.get(part) if isinstance(node, Mapping) else None
        node_model = _model_of(field.annotation, node) if field else None
    return list(node_model.model_fields) if node_model is not None else []


def _model_of(annotation: Any, node: Any) -> Any:
    import typing

    candidates = []

    def walk(t: Any) -> None:
        if isinstance(t, type) and issubclass(t, BaseModel):
            candidates.append(t)
        for a in typing.get_args(t):
            walk(a)

    walk(annotation)
    if not candidates:
        return None
    if len(candidates) == 1 or not isinstance(node, Mapping):
        return candidates[0]
    for c in candidates:
        for tag in ("model", "kind"):
            f = c.model_fields.get(tag)
            if f is not None and node.get(tag) == f.default:
                return c
    return candidates[0]


def _line_for(loc: list[Any], lines: Mapping[tuple[Any, ...], int]) -> int | None:
    for n in range(len(loc), 0, -1):
        line = lines.get(tuple(loc[:n]))
        if line is not None:
            return line
    return None


def with_changes(model: BaseModel, changes: Mapping[str, Any]) -> Any:
    """A re-validated copy of ``model`` with dotted-path ``changes`` applied.

    Unlike ``model_copy(update=...)``, every change is validated like the file.

    Parameters
    ----------
    model : pydantic.BaseModel
        A validated model (e.g. :class:`Model` or :class:`Agreement`).
    changes : mapping of str to value
        ``{"agreement.reserve.opening": 1e6, ...}``.
    """
    data = model.model_dump(mode="json", exclude_unset=False)
    for key, value in changes.items():
        path, _ = parse_override(f"{key}=0")
        set_path(data, path, json.loads(json.dumps(value)))
    return validate_data(data, source="<changes>", model=type(model))


def with_agreement(model: Model, agreement: Agreement, *, source: str | None = None) -> Model:
    """``model`` with ``agreement`` in place of its own, re-validated as a whole.

    The agreement's partner and group ids are checked against the model; errors
    name ``source`` (default ``<agreement NAME>``). This is what a settlement
    of another agreement on the model's draws records as its model.

    Parameters
    ----------
    model : Model
    agreement : Agreement
    source : str, optional
        Where the agreement came from (a file), for error messages.
    """
    if agreement is model.agreement:
        return model
    data = model.model_dump(mode="json")
    data["agreement"] = agreement.model_dump(mode="json")
    return validate_data(data, source=source or f"<agreement {agreement.name or ''}>")


def with_contributions(model: Model, contributions: Any) -> Model:
    """``model`` with each partner's contributions given as a schedule, one amount per year.

    Parameters
    ----------
    model : Model
    contributions : array_like
        ``(years, partners)`` contributions. [£]
    """
    rows = [[float(v) for v in row] for row in contributions]
    data = model.model_dump(mode="json")
    data["contributions"] = {
        pid: {"kind": "schedule", "amounts": [row[p] for row in rows]}
        for p, pid in enumerate(model.partner_ids)
    }
    return validate_data(data, source="<contributions>")
