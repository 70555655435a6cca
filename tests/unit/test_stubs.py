"""The .pyi stubs describe what the compiled modules really export."""
import ast
import importlib
import os

import pytest

PKG = os.path.join(os.path.dirname(__file__), "..", "..", "fastcore")


def stub_names(module):
    tree = ast.parse(open(os.path.join(PKG, module + ".pyi"), encoding="utf-8").read())
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


COMPILED = sorted(name[:-4] for name in os.listdir(PKG) if name.startswith("_")
                  and name.endswith(".pyx"))


@pytest.mark.parametrize("module", COMPILED)
def test_stub_names_exist_in_the_compiled_module(module):
    compiled = importlib.import_module("fastcore." + module)
    assert compiled.__file__.endswith((".so", ".pyd")), "not the compiled module"
    names = list(stub_names(module))
    assert names, "empty stub"
    for name, members in names:
        assert hasattr(compiled, name), "%s.%s is in the stub only" % (module, name)
        if members is None:
            continue
        cls = getattr(compiled, name)
        for member in members - {"__getattr__"}:
            # Instance-only attributes show up as descriptors on cdef classes.
            assert hasattr(cls, member), "%s.%s.%s is in the stub only" % (module, name, member)
