"""Provenance: which code made a stored result.

A cached result follows the code that computed it: the digests here key the derived analyses
(`study.analyse`), the embeddings (`runs.py`), the prepared datasets (`data.py`), the network's
fingerprint (`models.fingerprint`), the page cache and the claims ledger (`book.py`). Comments,
docstrings and layout never count (`code_tokens`): a reworded comment recomputes nothing.
"""
from __future__ import annotations

import ast
import hashlib
import io
import textwrap
import tokenize
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def code_tokens(source: str) -> str:
    """Python source as its tokens, without comments, docstrings or layout: two sources that
    differ only there give the same text."""
    source = textwrap.dedent(source)
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            docstrings.add((body[0].lineno, body[0].col_offset))
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER}
    return " ".join(t.string for t in tokenize.generate_tokens(io.StringIO(source).readline)
                    if t.type not in skip and not (t.type == tokenize.STRING and t.start in docstrings))


def module_name(path: Path) -> str:
    """A fraglib file's module, relative to the package: "figures", "rq.rq3", "rq" (its __init__)."""
    parts = Path(path).resolve().relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_path(module: str) -> Path:
    """The file of a fraglib module named as `module_name` names it."""
    base = PACKAGE.joinpath(*module.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def _stamp(path: Path) -> tuple:
    """What identifies a file's content within one process: its path, size and modification time
    (an edited file is read again)."""
    st = Path(path).stat()
    return str(path), st.st_size, st.st_mtime_ns


@lru_cache(maxsize=None)
def _module_tokens(stamp: tuple) -> str:
    return code_tokens(Path(stamp[0]).read_text())


@lru_cache(maxsize=None)
def _module_imports(stamp: tuple) -> dict:
    return _package_imports(Path(stamp[0]))


def package_imports(path: Path) -> dict[str, int]:
    """`_package_imports`, read once per process while the file stays the same."""
    return dict(_module_imports(_stamp(path)))


def _package_imports(path: Path) -> dict[str, int]:
    """The fraglib modules a Python file imports (anywhere in it, function bodies too), each with
    the line of its first import, named as `module_name` names them ("figures", "rq.rq3"). A file
    outside the package is read as if it sat at the package's top."""
    path = Path(path)
    try:
        here = module_name(path).split(".")
        package = here if path.name == "__init__.py" else here[:-1]
    except ValueError:   # not in fraglib (a test's probe)
        package = []
    out = {}
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
            if node.module:
                names = [".".join(base + node.module.split(".")[:1])]
            else:
                names = [".".join(base + [a.name]) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fraglib."):
            names = [node.module.split(".", 1)[1]]
        elif isinstance(node, ast.Import):
            names = [a.name.split(".", 1)[1] for a in node.names if a.name.startswith("fraglib.")]
        for name in names:
            if not module_path(name).exists() and "." in name:   # `from .rq import x`: x is a name
                name = name.rsplit(".", 1)[0]
            out.setdefault(name, node.lineno)
    return out


@lru_cache(maxsize=None)
def source_digest(module: str) -> str:
    """A digest of fraglib module `module`'s code and of every fraglib module it imports,
    transitively (comments, docstrings and layout aside): a value cached from a function of that
    module is computed again once any of that code changes."""
    module = module.removeprefix("fraglib.")
    seen, todo = set(), [module]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(i for i in package_imports(module_path(m)) if module_path(i).exists())
    h = hashlib.sha256()
    for m in sorted(seen):   # each module's tokens read once per process while it stays the same
        h.update(f"{m}\n{_module_tokens(_stamp(module_path(m)))}\n".encode())
    return h.hexdigest()[:16]


def tree_digest(folder: Path, pattern: str = "**/*.py", salt: str = "") -> str:
    """The sha256 of `salt` and every file matching `pattern` under `folder` (relative names and
    bytes): the version of a body of code (fraglib's, subpackages included, for the page cache and
    the claims ledger)."""
    h = hashlib.sha256(salt.encode())
    for f in sorted(Path(folder).glob(pattern)):
        if "__pycache__" not in f.parts:
            h.update(f.relative_to(folder).as_posix().encode() + f.read_bytes())
    return h.hexdigest()


def fraglib_digest(salt: str = "") -> str:
    """fraglib's whole source, as `tree_digest` reads it."""
    return tree_digest(PACKAGE, "**/*.py", salt)
