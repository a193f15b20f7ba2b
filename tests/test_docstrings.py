"""The documentation rule, as a test: "Public functions have numpydoc docstrings with a
runnable example."

Every public function and class of the public API (the names in ``__all__`` of every
public module, found by walking the package) must have a docstring with an ``Examples`` section holding
at least one ``>>>`` line; every public method and property of the classes of that API
(the core data model classes included) must have a docstring. The examples themselves
run as doctests (``pytest --doctest-modules pacsnb``).

To fix a failure, write the docstring (numpydoc: a one-line summary, Parameters, Returns,
Raises, Examples) rather than removing the name from ``__all__``.
"""
from __future__ import annotations

import importlib
import inspect
import re

import pytest

from pacsnb.dicom import DataElement, Dataset, PrivateBlock, Sequence, Tag, UID

def _public_modules() -> list[str]:
    """Every module of pacsnb whose dotted name has no part starting with ``_`` (kernels,
    generated data and other private modules are left out). Found by walking the package,
    so a new module is checked without being listed here."""
    import pkgutil

    import pacsnb

    names = ["pacsnb"]
    for info in pkgutil.walk_packages(pacsnb.__path__, "pacsnb."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return sorted(names)


#: The modules (and packages) whose ``__all__`` is the public API: every public module.
MODULES = _public_modules()

#: Classes whose public methods and properties must all have a docstring, besides every
#: class found in the ``__all__`` lists above.
CORE_CLASSES = [Dataset, DataElement, Sequence, Tag, UID, PrivateBlock]

_EXAMPLES = re.compile(r"^[ \t]*Examples[ \t]*\n[ \t]*-{8,}[ \t]*$", re.M)
_SECTION = re.compile(r"^[ \t]*[A-Z][A-Za-z ]+[ \t]*\n[ \t]*-{3,}[ \t]*$", re.M)


def _is_api_object(obj: object) -> bool:
    return inspect.isclass(obj) or inspect.isfunction(obj)


def _public_api() -> dict[str, object]:
    """``{qualified name: object}`` of every function and class in the ``__all__`` lists
    (each object once, under the first name found)."""
    found: dict[str, object] = {}
    seen: set[int] = set()
    for modname in MODULES:
        mod = importlib.import_module(modname)
        names = getattr(mod, "__all__", None)
        assert names is not None, f"{modname} has no __all__"
        for name in names:
            obj = getattr(mod, name)
            if not _is_api_object(obj) or id(obj) in seen:
                continue  # constants (__version__, MODALITIES, ...) cannot carry docstrings
            seen.add(id(obj))
            found[f"{modname}.{name}"] = obj
    return found


def _own_doc(obj: object) -> str:
    """The object's own docstring (``inspect.getdoc`` would inherit a base class's)."""
    doc = obj.__doc__ if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    return inspect.cleandoc(doc) if doc else ""


def _is_keyword_property(attr: object) -> bool:
    """``Dataset.PatientName`` and friends, installed on first use by keyword access."""
    return isinstance(attr, property) and getattr(attr.fget, "__qualname__", "").startswith(
        "_install_keyword_property")


def _public_members() -> dict[str, object]:
    """``{Class.member: function or property}`` for the public methods and properties of
    the core classes and of every class of the public API, including those inherited from
    pacsnb base classes (not those of builtins such as ``list`` or ``str``)."""
    classes = list(CORE_CLASSES)
    classes += [obj for obj in _public_api().values() if inspect.isclass(obj) and obj not in classes]
    found: dict[str, object] = {}
    for cls in classes:
        for klass in reversed(cls.__mro__):
            if not klass.__module__.startswith("pacsnb"):
                continue
            for name, attr in vars(klass).items():
                if name.startswith("_") or _is_keyword_property(attr):
                    continue
                if isinstance(attr, (classmethod, staticmethod)):
                    attr = attr.__func__
                if inspect.isfunction(attr) or isinstance(attr, property):
                    found[f"{cls.__module__}.{cls.__qualname__}.{name}"] = attr
    return found


API = _public_api()
MEMBERS = _public_members()


def test_the_walk_finds_the_api():
    import pacsnb
    from pacsnb.errors import DimseError
    from pacsnb.io.writer import encode_file
    from pacsnb.pixels import PixelFormat
    from pacsnb.samples import write_sample_file

    objects = [id(obj) for obj in API.values()]
    for obj in (pacsnb.read, pacsnb.PacsnbError, DimseError, encode_file, PixelFormat, write_sample_file):
        assert id(obj) in objects, obj
    assert "pacsnb.dicom.dataset.Dataset.pop" in MEMBERS
    assert "pacsnb.dicom.tag.Tag.group" in MEMBERS
    assert "pacsnb.dicom.dataset.PrivateBlock.add_new" in MEMBERS
    assert len(API) > 80 and len(MEMBERS) > 80


@pytest.mark.parametrize("name", sorted(API))
def test_public_function_or_class_has_a_docstring_with_examples(name):
    doc = _own_doc(API[name])
    assert doc, f"{name} has no docstring"
    summary = doc.splitlines()[0].strip()
    assert summary and not _SECTION.match(doc), f"{name}: the docstring must start with a one-line summary"
    m = _EXAMPLES.search(doc)
    assert m, f"{name}: the docstring has no 'Examples' section (numpydoc: 'Examples' underlined with dashes)"
    rest = doc[m.end():]
    nxt = _SECTION.search(rest)
    examples = rest[: nxt.start()] if nxt else rest
    assert ">>>" in examples, f"{name}: the 'Examples' section has no '>>>' example"


@pytest.mark.parametrize("name", sorted(MEMBERS))
def test_public_method_or_property_has_a_docstring(name):
    doc = _own_doc(MEMBERS[name])
    assert doc, f"{name} has no docstring"
    assert doc.splitlines()[0].strip(), f"{name}: the docstring must start with a one-line summary"
