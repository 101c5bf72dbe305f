"""The JSON Schema for flow files, generated from the model so the two never drift."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from wizard.compat import UNION_ORIGINS, type_hints
from wizard.flow.model import INTERNAL_FIELDS, Flow

SCHEMA_ID = "https://nginx-502-wizard.invalid/flow.schema.json"


def _type_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin in UNION_ORIGINS:
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return {"anyOf": [_type_schema(options[0], defs), {"type": "null"}]}
    if origin is typing.Literal:
        return {"enum": list(typing.get_args(tp))}
    if origin is list:
        return {"type": "array", "items": _type_schema(typing.get_args(tp)[0], defs)}
    if origin is dict:
        return {"type": "object",
                "additionalProperties": _type_schema(typing.get_args(tp)[1], defs)}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        name = tp.__name__
        if name not in defs:
            defs[name] = {}  # placeholder against recursion
            defs[name] = _object_schema(tp, defs)
        return {"$ref": f"#/$defs/{name}"}
    if tp is str:
        return {"type": "string"}
    raise TypeError(f"no schema for {tp}")


def _object_schema(cls: Any, defs: dict[str, Any]) -> dict[str, Any]:
    hints = type_hints(cls)
    props: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in INTERNAL_FIELDS:
            continue
        prop = _type_schema(hints[f.name], defs)
        if f.metadata.get("doc"):
            prop = {**prop, "description": f.metadata["doc"]}
        props[f.name] = prop
    return {"type": "object", "description": (cls.__doc__ or "").strip(),
            "properties": props, "additionalProperties": False}


def flow_schema() -> dict[str, Any]:
    defs: dict[str, Any] = {}
    root = _object_schema(Flow, defs)
    root["required"] = ["flow", "start", "nodes"]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "nginx-502-wizard flow", **root, "$defs": defs}
