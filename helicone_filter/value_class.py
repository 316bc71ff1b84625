"""A slotted value class: fields declared as annotations (with defaults, as in a dataclass),
and `__init__`, equality, hashing, repr and copies made from them.

It stands in for dataclasses, whose import (with inspect) and per-class code generation cost
more than the rest of a one-shot command line call. The `__init__` it writes is plain
attribute assignment, as fast to call as one written by hand.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar, dataclass_transform

R = TypeVar("R", bound="Record")


@dataclass_transform(eq_default=True)
class _RecordMeta(type):
    """Makes `__slots__` and `__init__` from a class's annotations; a default is a value
    written after the annotation (`hint: str = ""`)."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> type:
        own = [
            field
            for field, annotation in namespace.get("__annotations__", {}).items()
            if not str(annotation).startswith(("ClassVar", "typing.ClassVar"))
        ]
        defaults = {field: namespace.pop(field) for field in own if field in namespace}
        namespace["__slots__"] = tuple(own)
        cls = super().__new__(mcs, name, bases, namespace)
        fields: tuple[str, ...] = (*getattr(cls, "_fields", ()), *own)
        defaults = {**getattr(cls, "_defaults", {}), **defaults}
        cls._fields = fields  # type: ignore[attr-defined]
        cls._defaults = defaults  # type: ignore[attr-defined]
        if fields:
            cls.__init__ = _init(fields, defaults)  # type: ignore[misc]
        return cls


def _init(fields: tuple[str, ...], defaults: dict[str, Any]) -> Any:
    """An `__init__(self, <fields>)` that assigns each field."""
    params = ", ".join(f"{f}=_default_{f}" if f in defaults else f for f in fields)
    body = "\n".join(f"    self.{f} = {f}" for f in fields)
    scope = {f"_default_{f}": v for f, v in defaults.items()}
    exec(f"def __init__(self, {params}) -> None:\n{body}\n", scope)
    return scope["__init__"]


class Record(metaclass=_RecordMeta):
    """Subclasses declare their fields as annotations; treat instances as immutable."""

    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._values() == other._values()  # type: ignore[attr-defined, unused-ignore]

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"

    def replace(self: R, **changes: Any) -> R:
        """A copy with some fields changed."""
        copy = object.__new__(type(self))
        for name in self._fields:
            object.__setattr__(copy, name, changes.pop(name, getattr(self, name)))
        if changes:
            raise TypeError(f"{type(self).__name__} has no field {next(iter(changes))!r}")
        return copy

    def as_dict(self) -> dict[str, Any]:
        """The fields as a dict, in order."""
        return {name: getattr(self, name) for name in self._fields}
