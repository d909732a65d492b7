"""The step union of the format: built-in kinds by tag, any other kind through the catalog.

Pydantic picks the branch from ``kind`` (a callable discriminator): a built-in kind validates
against its own model; any other kind goes to one *plugin* branch that asks
:mod:`evopipe.spec.catalog` for the entry point's config model and validates with it (errors
keep their locations), or reports ``unknown step kind`` (rule ``unknown-kind``) with the list
of known kinds. The JSON Schema stays the closed union of the built-in kinds (a plugin's
schema is its own), so ``evopipe schema`` does not depend on what is installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Union

from pydantic import Discriminator, GetJsonSchemaHandler, PlainValidator, SerializeAsAny, Tag
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from evopipe.spec import catalog
from evopipe.spec.base import StepBase

PLUGIN_TAG = "plugin-kind"
"""The branch name pydantic puts into error paths of plugin steps (stripped by the loader)."""
_PLUGIN_MARK = "x-evopipe-plugin-kind"


def open_step_union(builtins: Mapping[str, type[StepBase]]) -> Any:
    """``Annotated[Union[...], Discriminator(...)]`` over ``builtins`` plus the plugin branch."""
    names = frozenset(builtins)

    def tag_of(value: Any) -> str | None:
        kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
        if not isinstance(kind, str):
            return None
        return kind if kind in names else PLUGIN_TAG

    branches = [Annotated[model, Tag(name)] for name, model in builtins.items()]
    plugin = Annotated[
        SerializeAsAny[StepBase],
        PlainValidator(_validate_plugin_step),
        _PluginSchema(),
        Tag(PLUGIN_TAG),
    ]
    union: Any = Union.__getitem__(tuple([*branches, plugin]))  # built at run time
    return Annotated[union, Discriminator(tag_of), _ClosedSchema(list(builtins))]


def _validate_plugin_step(value: Any) -> StepBase:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    try:
        model = catalog.config_model(str(kind))
    except catalog.UnknownKindError as exc:
        raise PydanticCustomError(
            "union_tag_invalid", "{message}", {"message": str(exc), "kind": str(kind)}
        ) from None
    if isinstance(value, model):
        return value
    if isinstance(value, StepBase):
        value = value.model_dump(by_alias=True, exclude_unset=True)
    return model.model_validate(value)


class _PluginSchema:
    """Marks the plugin branch in the generated JSON Schema (removed by :class:`_ClosedSchema`)."""

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {_PLUGIN_MARK: True}


class _ClosedSchema:
    """The union's JSON Schema: the built-in branches with a ``kind`` discriminator mapping."""

    def __init__(self, names: list[str]) -> None:
        self.names = names

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        branches = [b for b in out.get("oneOf", []) if _PLUGIN_MARK not in b]
        mapping = {
            name: b["$ref"] for name, b in zip(self.names, branches, strict=True) if "$ref" in b
        }
        return {"discriminator": {"mapping": mapping, "propertyName": "kind"}, "oneOf": branches}
