"""JSON Schema of the configuration file, for editors (``riskshare schema``)."""

from __future__ import annotations

import json
from typing import Any

from riskshare.config.model import Model

__all__ = ["json_schema", "json_schema_text"]


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a riskshare configuration file."""
    schema = Model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "riskshare configuration"
    return schema


def json_schema_text() -> str:
    """:func:`json_schema` as indented JSON text, ending with a newline."""
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
