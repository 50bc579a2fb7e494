"""Copies of the adapters' pydantic models (``copy.copy``, ``copy.deepcopy``, ``model_copy``),
the same for LangChain and LlamaIndex (pure pydantic: no framework is imported here).

A copy is a model of its own: its fields, with their lists and dicts, belong to it, so changing
one on the copy leaves the original alone; and it gets its own core client, so closing either
never closes the other's (both still share the pooled connection, as any two models with the same
settings do). What a model holds rather than owns is shared, not duplicated: credentials, token
providers, HTTP clients, callback handlers or managers, caches, rate limiters, output parsers
and the core settings. A deep-copied credential would start a second token cache, and most of
these objects (locks, sockets, SSL contexts) cannot be copied at all, which is why pydantic's
own deep copy raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, SecretStr, TypeAdapter

__all__ = ["copy_data", "copy_model", "deep_copy_model", "field_names"]

_M = TypeVar("_M", bound=BaseModel)
_CONTAINERS = (dict, list, tuple, set)


def copy_data(value: Any, memo: dict[int, Any]) -> Any:
    """``value`` with its dicts, lists, tuples and sets copied (all the way down) and every other
    object shared. ``memo`` is ``copy.deepcopy``'s: a container reached twice is copied once."""
    if type(value) not in _CONTAINERS:
        return value
    done = memo.get(id(value))
    if done is not None:
        return done
    out: Any
    if type(value) is dict:
        out = memo[id(value)] = {}
        for k, v in value.items():
            out[k] = copy_data(v, memo)
    elif type(value) is list:
        out = memo[id(value)] = []
        out.extend(copy_data(v, memo) for v in value)
    elif type(value) is tuple:
        out = memo[id(value)] = tuple(copy_data(v, memo) for v in value)
    else:
        out = memo[id(value)] = {copy_data(v, memo) for v in value}
    return out


def deep_copy_model(model: _M, memo: dict[int, Any] | None) -> _M:
    """A copy of a pydantic model whose fields go through :func:`copy_data`; private attributes
    are shared (the class then replaces those that must not be, such as its client)."""
    memo = {} if memo is None else memo
    cls = type(model)
    copied = cls.__new__(cls)
    memo[id(model)] = copied
    # as pydantic's own __deepcopy__ does, minus deep-copying what cannot or must not be copied
    put = object.__setattr__
    put(copied, "__dict__", copy_data(model.__dict__, memo))
    put(copied, "__pydantic_extra__", copy_data(model.__pydantic_extra__, memo))
    put(copied, "__pydantic_fields_set__", set(model.__pydantic_fields_set__))
    private = model.__pydantic_private__
    put(copied, "__pydantic_private__", None if private is None else dict(private))
    return copied


def copy_model(model: _M, update: Mapping[str, Any] | None, *, deep: bool) -> _M:
    """``model.model_copy(update=..., deep=...)`` through the class's own ``__copy__`` /
    ``__deepcopy__`` (pydantic's deep copy with an update deep-copies the fields itself). A key
    or token given in ``update`` becomes a ``SecretStr`` as it would in the constructor (pydantic
    does not validate updates, and a plain string would show in ``repr``)."""
    copied = model.__deepcopy__({}) if deep else model.__copy__()
    if update:
        fields = type(model).model_fields
        update = dict(zip(field_names(type(model), update), update.values(), strict=True))
        for key, value in update.items():
            annotation = fields[key].annotation if key in fields else None
            if annotation is not None and _holds_secrets(annotation):
                value = TypeAdapter(annotation).validate_python(value)
            if key in fields or model.model_config.get("extra") != "allow":
                copied.__dict__[key] = value
            else:
                if copied.__pydantic_extra__ is None:
                    object.__setattr__(copied, "__pydantic_extra__", {})
                copied.__pydantic_extra__[key] = value  # type: ignore[index]
        copied.__pydantic_fields_set__.update(update)
    return copied


def field_names(cls: type[BaseModel], update: Mapping[str, Any]) -> list[str]:
    """The keys of ``update`` with constructor aliases (``api_key``, ``azure_deployment``...)
    replaced by the field names they stand for, as the constructor accepts either."""
    fields = cls.model_fields
    aliases = {f.alias: name for name, f in fields.items() if f.alias}
    return [key if key in fields else aliases.get(key, key) for key in update]


def _holds_secrets(annotation: Any) -> bool:
    return annotation is SecretStr or any(_holds_secrets(a) for a in get_args(annotation))
