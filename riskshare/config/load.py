"""Load YAML or TOML configuration files into a validated :class:`Model`.

Every invalid value is reported at once, each as ``file:line: field.path:
message``, in one :class:`~riskshare.errors.ConfigError`. Overrides given as
``path.to.field=value`` (the CLI's ``--set``) are applied to the raw data
before validation, so they are checked exactly like the file.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import json
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from riskshare.config.model import Model, reference_problems
from riskshare.errors import ConfigError, InputError

__all__ = [
    "apply_overrides",
    "format_loc",
    "get_path",
    "load_config",
    "parse_override",
    "read_config_data",
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


def read_config_data(path: Path) -> tuple[dict[str, Any], dict[tuple[Any, ...], int]]:
    """Parse a config file into plain data and a map from field path to line number."""
    if not path.exists():
        raise ConfigError(str(path), [("", "file not found")])
    if path.is_dir():
        raise ConfigError(str(path), [("", "is a folder, not a config file")])
    text = path.read_text(encoding="utf-8-sig")
    suffix = path.suffix.lower()
    if suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(path), [("", f"not valid TOML: {exc}")]) from None
        return data, {}
    if suffix not in (".yaml", ".yml", ".json"):
        raise ConfigError(
            str(path), [("", f"unknown file type '{suffix}' (allowed: .yaml, .yml, .toml, .json)")]
        )
    yaml = YAML(typ="rt")
    try:
        tree = yaml.load(io.StringIO(text))
    except YAMLError as exc:
        msg = " ".join(str(exc).split())
        raise ConfigError(str(path), [("", f"not valid YAML: {msg}")]) from None
    if tree is None:
        raise ConfigError(str(path), [("", "the file is empty")])
    if not isinstance(tree, Mapping):
        raise ConfigError(str(path), [("", "the top level must be a mapping of fields")])
    lines: dict[tuple[Any, ...], int] = {}
    _collect_lines(tree, (), lines)
    return _plain(tree), lines


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


def _plain(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


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
    try:
        value = YAML(typ="safe", pure=True).load(io.StringIO(raw)) if raw.strip() else None
    except YAMLError as exc:
        raise ValueError(f"'{text}': value is not valid YAML ({exc})") from None
    return path, _plain(value)


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
