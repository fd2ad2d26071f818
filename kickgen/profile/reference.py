"""The profile as plain data (`kickgen show`) and as documentation: the key reference table
(`reference_markdown()`, in docs/profile.md and checked by a test), both derived from
the schema."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from kickgen.profile.schema import DERIVED_FIELDS, Profile, join_key


def profile_to_data(obj: Any) -> Any:
    """The merged profile as plain data (for `kickgen show`); paths as strings."""
    if dataclasses.is_dataclass(obj):
        skip = DERIVED_FIELDS if isinstance(obj, Profile) else set()
        data = {f.name: profile_to_data(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if f.name not in skip and not f.metadata.get("internal")}
        if isinstance(obj, Profile):  # description first, as profiles are written
            data = {"description": data.pop("description"), **data}
        return data
    if isinstance(obj, tuple):
        return [profile_to_data(x) for x in obj]
    if isinstance(obj, Mapping):
        return {k: profile_to_data(v) for k, v in obj.items()}
    if isinstance(obj, Path):
        return str(obj)
    return obj


def profile_reference() -> list[tuple[str, str, str, str]]:
    """(key path, default, example, meaning) for every key, in schema order (docs/profile.md table)."""
    rows: list[tuple[str, str, str, str]] = []

    def walk(cls: type, prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if (cls is Profile and f.name in DERIVED_FIELDS) or f.metadata.get("internal"):
                continue
            path = join_key(prefix, f.name)
            tp = hints[f.name]
            inner = tp
            if typing.get_origin(tp) is tuple and dataclasses.is_dataclass(typing.get_args(tp)[0]):
                inner = typing.get_args(tp)[0]
                rows.append((path, _show_default(f), f.metadata.get("example") or "", f.metadata["doc"]))
                walk(inner, f"{path}[]")
                continue
            if isinstance(tp, type) and dataclasses.is_dataclass(tp):
                walk(tp, path)
                continue
            rows.append((path, _show_default(f), f.metadata.get("example") or "", f.metadata["doc"]))

    walk(Profile, "")
    return rows


def _show_default(f: dataclasses.Field) -> str:
    if f.default is dataclasses.MISSING:
        return "required"
    value = profile_to_data(f.default)
    return yaml.safe_dump(value, default_flow_style=True, width=1000).strip().removesuffix("...").strip()


def reference_markdown() -> str:
    lines = ["| key | default | example | meaning |", "|---|---|---|---|"]
    for path, default, example, doc in profile_reference():
        ex = f"`{example}`" if example else ""
        lines.append(f"| `{path}` | `{default}` | {ex} | {doc.replace('|', '/')} |")
    return "\n".join(lines)

