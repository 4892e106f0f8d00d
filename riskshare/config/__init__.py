"""Configuration: the typed model of a scenario, loading, validation and JSON Schema."""

from riskshare.config.load import (
    apply_overrides,
    load_config,
    validate_data,
    with_agreement,
    with_changes,
    with_contributions,
)
from riskshare.config.model import Agreement, Model
from riskshare.config.schema import json_schema, json_schema_text

__all__ = [
    "Agreement",
    "Model",
    "apply_overrides",
    "json_schema",
    "json_schema_text",
    "load_config",
    "validate_data",
    "with_agreement",
    "with_changes",
    "with_contributions",
]
