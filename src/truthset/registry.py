"""One registry shape for every extension point: a name maps to an object.

A lower layer that must reach code of a higher one (job settings sections, consolidation
methods, periodic run hooks, export formats, run kinds, task types, models) offers a
`Registry` and the higher code registers into it, so the lower layer never imports it.
Built-ins are named here as entry points (``"package.module:attribute"``, or a bare
module whose import registers its entries through `Registry.register`) and are loaded
exactly as third-party plugins' entry points in the registry's group are, only when a
name is first asked for: an export from the command line never imports scikit-learn.

Every registered name is documented in docs/registries.md (a test checks it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

from truthset.errors import BadInput

T = TypeVar("T")

# Every registry made, by its entry-point group (for the documentation test and tools).
REGISTRIES: dict[str, Registry[Any]] = {}


class Registry(Generic[T]):
    """Name -> T. ``builtins`` maps names to entry-point values. What an entry point loads
    must be an instance of ``instance_of`` (a class or a runtime-checkable Protocol), or
    pass ``check``, which turns it into a T or raises TypeError: a plugin of the wrong
    shape is refused when it is loaded, not when it is first used."""

    def __init__(
        self,
        kind: str,
        group: str,
        builtins: Mapping[str, str] | None = None,
        *,
        check: Callable[[str, Any], T] | None = None,
        instance_of: type[Any] | None = None,
    ) -> None:
        self.kind = kind
        self.group = group
        self._builtins = {
            name: EntryPoint(name=name, value=value, group=group)
            for name, value in (builtins or {}).items()
        }
        self._check = check
        self._instance_of = instance_of
        self._entries: dict[str, T] = {}
        # Scanning the installed distributions for entry points takes milliseconds: once
        # per registry and process (an executor asks for its periodic hooks every tick).
        self._entry_points: dict[str, EntryPoint] | None = None
        self._all_loaded = False
        # Loading imports modules; two threads asking at once must not both register.
        self._lock = threading.RLock()
        REGISTRIES[group] = self

    def register(self, name: str, entry: T) -> T:
        """Add or replace an entry (a built-in module registering itself, a test, a
        notebook); returns the entry so that it can be used as a decorator's result."""
        with self._lock:
            self._entries[name] = entry
        return entry

    def entry_points(self) -> dict[str, EntryPoint]:
        """Every known entry point by name: the built-ins in their order, then installed
        plugins (a plugin cannot silently replace a built-in)."""
        if self._entry_points is None:
            found = dict(self._builtins)
            for ep in entry_points(group=self.group):
                found.setdefault(ep.name, ep)
            self._entry_points = found
        return dict(self._entry_points)

    def _load(self, ep: EntryPoint) -> None:
        loaded = ep.load()
        if ep.name in self._entries:  # the module registered it while being imported
            return
        if ep.attr is None:
            raise TypeError(f"{self.kind} module {ep.value} did not register {ep.name!r}")
        if self._instance_of is not None and not isinstance(loaded, self._instance_of):
            raise TypeError(
                f"{self.kind} entry point {ep.name!r} is not a {self._instance_of.__name__}"
            )
        self._entries[ep.name] = self._check(ep.name, loaded) if self._check else loaded

    def find(self, name: str) -> T | None:
        """The entry registered as `name`, loading only its entry point; None if unknown."""
        found = self._entries.get(name)  # the hot path (task types per request): no lock
        if found is not None:
            return found
        with self._lock:
            if name in self._entries:
                return self._entries[name]
            ep = self._builtins.get(name) or self.entry_points().get(name)
            if ep is None:
                return None
            self._load(ep)
            return self._entries.get(name)

    def get(self, name: str) -> T:
        found = self.find(name)
        if found is None:
            known = ", ".join(self.names())
            raise BadInput(f"unknown {self.kind} {name!r}; known: {known}")
        return found

    def load_all(self) -> dict[str, T]:
        """Every entry, loading every entry point once: built-ins in their order, then
        plugins, then entries registered at run time."""
        with self._lock:
            eps = self.entry_points()
            if not self._all_loaded:
                for name, ep in eps.items():
                    if name not in self._entries:
                        self._load(ep)
                self._all_loaded = True
            ordered = {name: self._entries[name] for name in eps if name in self._entries}
            ordered.update(self._entries)
            return ordered

    def names(self) -> list[str]:
        """Every name that can be asked for (in `load_all`'s order), importing nothing."""
        return list(dict.fromkeys([*self.entry_points(), *self._entries]))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
