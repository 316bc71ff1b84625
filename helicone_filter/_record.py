"""A slotted value class: equality, hashing, repr and copies over its `__slots__`.

It stands in for dataclasses, whose import (with inspect) and per-class code generation cost
more than the rest of a one-shot command line call.
"""

from __future__ import annotations

from typing import Any, TypeVar

R = TypeVar("R", bound="Record")


class Record:
    """Subclasses list their fields in `__slots__` and set them in `__init__`; treat them as
    immutable."""

    __slots__: tuple[str, ...] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._values() == other._values()  # type: ignore[attr-defined, unused-ignore]

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"

    def replace(self: R, **changes: Any) -> R:
        """A copy with some fields changed."""
        copy = object.__new__(type(self))
        for name in self.__slots__:
            object.__setattr__(copy, name, changes.pop(name, getattr(self, name)))
        if changes:
            raise TypeError(f"{type(self).__name__} has no field {next(iter(changes))!r}")
        return copy

    def as_dict(self) -> dict[str, Any]:
        """The fields as a dict, in order."""
        return {name: getattr(self, name) for name in self.__slots__}
