"""Load only the modules of a Pulumi provider SDK that a program uses.

Generated provider SDKs (`pulumi_cloudflare`, `pulumiverse_vercel`, ...) import every resource
module from their `__init__.py` with `from .<module> import *`; `pulumi_cloudflare` has ~780 of
them and its import costs ~1.5 s. `install()` puts a meta-path finder in front of the normal
one for the listed packages. It executes the package's own `__init__.py` with the per-resource
star imports left out (everything else runs unchanged: `_utilities`, `from ._inputs import *`,
`from . import outputs`, the lazy `config` module and the `_utilities.register(...)` call that
maps type tokens to classes), and gives the package a PEP 562 `__getattr__` that imports a
resource module the first time one of its names is read and publishes that module's `__all__`,
as the star import would have.

Safety: the module is guessed from the name (`R2BucketCors` -> `r2_bucket_cors`,
`get_zone_output` -> `get_zone`) and used only if the name is in its `__all__`; any other name
falls back to running every star import, in the original order and with the original "last
one wins" precedence, so a miss costs time, never correctness. Type tokens, URNs and the
registered properties do not depend on how the SDK was imported. A package whose
`__init__.py` does not have the generated shape is imported normally.

Only `python -m review` installs the finder (`--eager-imports` turns it off); `pulumi up` and
the tests import the SDKs as usual.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import re
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

DEFAULT_PACKAGES = ("pulumi_cloudflare", "pulumiverse_vercel", "pulumi_postgresql", "pulumi_random", "pulumi_github")

_STAR = re.compile(r"^from \.([A-Za-z0-9][A-Za-z0-9_]*) import \*[ \t]*$", re.MULTILINE)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _candidates(name: str) -> list[str]:
    base = name[: -len("_output")] if name.endswith("_output") else name
    for suffix in ("ArgsDict", "Args", "Result"):
        if base.endswith(suffix) and base != suffix:
            base = base[: -len(suffix)]
            break
    if base.startswith("AwaitableGet"):
        base = base[len("Awaitable"):]
    return [_CAMEL.sub("_", base).lower()]


class _LazyPackage:
    """What a lazily loaded package's PEP 562 `__getattr__` knows: its resource modules, which of
    them are published, and whether every star import has run."""

    def __init__(self, module: ModuleType, origin: str, modules: list[str]) -> None:
        self.module = module
        self.pkg = module.__name__
        self.modules = modules
        self.known = frozenset(modules)
        self.lock = threading.RLock()
        self.all_loaded = False
        self.loading = False
        self.pkg_dir = Path(origin).parent

    def is_submodule(self, name: str) -> bool:
        return (self.pkg_dir / f"{name}.py").exists() or (self.pkg_dir / name / "__init__.py").exists()

    def publish(self, sub: ModuleType) -> None:
        ns = self.module.__dict__
        for attr in getattr(sub, "__all__", ()):
            # `_inputs` (imported last by the original) keeps precedence. Importing
            # `pkg.get_zone` binds the submodule as `pkg.get_zone`; the star import then binds
            # the function of that name over it, so a module found there gives way.
            if attr not in ns or isinstance(ns[attr], ModuleType):
                ns[attr] = getattr(sub, attr)

    def load_all(self) -> None:
        # The original order: later star imports win, so publish in reverse with setdefault.
        self.loading = True
        try:
            subs = [importlib.import_module(f"{self.pkg}.{m}") for m in self.modules]
            for sub in reversed(subs):
                self.publish(sub)
            self.all_loaded = True
        finally:
            self.loading = False

    def attribute(self, name: str) -> Any:
        missing = AttributeError(f"module {self.pkg!r} has no attribute {name!r}")
        # `from . import x` asks hasattr() first and imports the submodule when it is missing:
        # private names and submodules not yet imported must fail fast, never trigger a load.
        if name.startswith("_") or self.loading:
            raise missing
        with self.lock:
            ns = self.module.__dict__
            if name in ns:
                return ns[name]
            for cand in _candidates(name):
                if cand in self.known:
                    sub = importlib.import_module(f"{self.pkg}.{cand}")
                    if name in getattr(sub, "__all__", ()):
                        self.publish(sub)
                        return ns[name]
            if name in self.known:  # `pkg.r2_bucket` as an attribute: the submodule, as after `import *`
                return importlib.import_module(f"{self.pkg}.{name}")
            if self.is_submodule(name):
                raise missing
            if not self.all_loaded:
                self.load_all()
                if name in ns:
                    return ns[name]
        raise missing


class _LazyLoader(importlib.abc.Loader):
    def __init__(self, source: str, origin: str, modules: list[str]) -> None:
        self.source = source
        self.origin = origin
        self.modules = modules

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        lazy = _LazyPackage(module, self.origin, self.modules)

        def __getattr__(name: str) -> Any:  # noqa: N807 - PEP 562 hook
            return lazy.attribute(name)

        module.__dict__["__getattr__"] = __getattr__
        module.__dict__["__lazy_modules__"] = tuple(self.modules)
        exec(compile(self.source, self.origin, "exec"), module.__dict__)  # noqa: S102 - the package's own init


class LazyProviderFinder(importlib.abc.MetaPathFinder):
    """Meta-path finder that imports the listed generated SDK packages lazily."""

    def __init__(self, packages: Iterable[str]) -> None:
        self.packages = frozenset(packages)

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.packages:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not spec.origin or not spec.origin.endswith("__init__.py"):
            return None
        try:
            source = Path(spec.origin).read_text()
        except OSError:
            return None
        modules = _STAR.findall(source)
        resource_modules = [m for m in modules if not m.startswith("_")]
        if len(resource_modules) < 2:
            return None  # not the generated shape: import normally
        stripped = _STAR.sub(lambda m: "" if not m.group(1).startswith("_") else m.group(0), source)
        spec.loader = _LazyLoader(stripped, spec.origin, resource_modules)
        return spec


_installed: LazyProviderFinder | None = None


def install(packages: Iterable[str] = DEFAULT_PACKAGES) -> bool:
    """Install the finder (once). Packages already imported stay as they are. True if installed."""
    global _installed
    if _installed is not None:
        return True
    todo = [p for p in packages if p not in sys.modules]
    if not todo:
        return False
    _installed = LazyProviderFinder(todo)
    sys.meta_path.insert(0, _installed)
    return True


def is_lazy(module: ModuleType) -> bool:
    return "__lazy_modules__" in module.__dict__
