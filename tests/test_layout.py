"""The package's layout rules, checked on its source: small modules, no circular imports, and a
Tensor module that depends on nothing above the array backends."""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "python" / "fastdl"
MAX_LINES = 600


def module_names() -> dict:
    """Dotted module name -> source path, for every module of the package."""
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def import_graph() -> dict:
    """Module -> the package modules it imports when it is imported (module-level statements;
    imports inside functions run later and cannot make a cycle at import time)."""
    modules = module_names()
    graph = {}
    for name, path in modules.items():
        deps = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("fastdl"):
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    if submodule in modules:
                        deps.add(submodule)
                    elif not alias.name.startswith("_") or node.module != "fastdl":
                        deps.add(node.module)  # a name defined in that module
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("fastdl"))
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def cycles(graph: dict) -> list:
    """The strongly connected components with more than one module (Tarjan, iteratively)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter[0]
                counter[0] += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_no_module_is_over_600_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_no_circular_imports():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_tensor_imports_nothing_above_the_array_backends():
    assert import_graph()["fastdl.tensor"] <= {"fastdl.backend"}


def test_device_backends_import_no_private_names_of_each_other():
    for path in (PACKAGE / "backend").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    ("fastdl.backend.cpu", "fastdl.backend.cuda")):
                own = ".".join(path.relative_to(PACKAGE.parent).parts[:3])
                if node.module.startswith(own):
                    continue
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports {private} from {node.module}"


def test_both_device_backends_offer_the_same_kernels():
    from fastdl.backend import cpu, cuda
    assert set(cuda.__all__) - set(cpu.__all__) == {"gemm_versions"}  # the GPU's GEMM ladder
    assert set(cpu.__all__) <= set(cuda.__all__)
    for name in cpu.__all__:
        assert callable(getattr(cpu, name)) and callable(getattr(cuda, name))


def test_a_name_offered_by_two_families_is_refused(tmp_path, monkeypatch):
    from fastdl.backend.families import export_families
    package = tmp_path / "twice"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for family in ("one", "two"):
        (package / f"{family}.py").write_text("__all__ = ['kernel']\ndef kernel(): pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError, match="kernel is offered by both one and two"):
        export_families("twice", [str(package)], {})


def test_no_module_of_fastdl_ops_is_named_as_one_of_its_functions():
    # fastdl.ops.softmax is the function: a module of that name would be hidden behind it.
    import fastdl.ops
    modules = {p.stem for p in (PACKAGE / "ops").glob("*.py")}
    assert modules & set(fastdl.ops.__all__) == set()
