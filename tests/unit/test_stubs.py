"""The .pyi stubs describe what the compiled modules really export."""
import ast
import importlib
import os

import pytest

PKG = os.path.join(os.path.dirname(__file__), "..", "..", "fastcore")


def stub_names(module):
    path = os.path.join(PKG, *module.split(".")) + ".pyi"
    tree = ast.parse(open(path, encoding="utf-8").read())
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members = set()
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    members.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    members.add(item.target.id)
            yield node.name, members
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, None


# The core's _*.pyx and the plugins' compiled parts, as dotted names below fastcore.
COMPILED = sorted(
    os.path.relpath(os.path.join(root, name[:-4]), PKG).replace(os.sep, ".")
    for root, _, names in os.walk(PKG) for name in names if name.endswith(".pyx"))


def public_names(compiled):
    """What a compiled module gives Python: the public functions and classes it defines."""
    return [name for name in dir(compiled) if not name.startswith("_")
            and getattr(getattr(compiled, name), "__module__", None) == compiled.__name__]


@pytest.mark.parametrize("module", COMPILED)
def test_stub_names_exist_in_the_compiled_module(module):
    compiled = importlib.import_module("fastcore." + module)
    assert compiled.__file__.endswith((".so", ".pyd")), "not the compiled module"
    names = list(stub_names(module))
    if not names:
        # Only cimported by other compiled modules: nothing for Python to see.
        assert public_names(compiled) == [], "the stub is empty, the module is not"
        return
    for name, members in names:
        assert hasattr(compiled, name), "%s.%s is in the stub only" % (module, name)
        if members is None:
            continue
        cls = getattr(compiled, name)
        for member in members - {"__getattr__"}:
            # Instance-only attributes show up as descriptors on cdef classes.
            assert hasattr(cls, member), "%s.%s.%s is in the stub only" % (module, name, member)
