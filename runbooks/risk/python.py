"""Inline Python (`python3 -c '...'`) that provably only reads stdin and prints.

Runbooks pipe JSON or URL-encoded text through one-liners such as
`python3 -c 'import sys, json; print(json.load(sys.stdin)["status"])'`. The check is an allow-list over
the syntax tree: only harmless modules may be imported, and no name or attribute that opens files, runs
code, reaches other modules or walks into interpreter internals may appear. Anything else is not green.
"""

from __future__ import annotations

import ast

SAFE_MODULES = {"sys", "json", "urllib.parse", "base64", "binascii", "datetime", "time", "re", "math", "statistics",
                "collections", "itertools", "functools", "textwrap", "pprint", "string", "decimal", "fractions",
                "operator", "ipaddress", "hashlib", "zlib", "calendar", "html", "unicodedata", "uuid", "email.utils"}
FORBIDDEN = {"open", "exec", "eval", "compile", "__import__", "getattr", "setattr", "delattr", "globals", "locals",
             "vars", "breakpoint", "input", "memoryview", "exit", "quit", "help", "modules", "settrace", "setprofile",
             "addaudithook", "system", "popen", "remove", "unlink", "rmtree", "request", "urlopen", "loader",
             "spec", "importlib", "os", "subprocess", "shutil", "socket", "pathlib", "io", "ctypes", "pickle",
             "marshal", "dump", "tofile", "fromfile", "write_text", "write_bytes", "__builtins__", "builtins", "code",
             "gc", "inspect", "signal", "threading", "multiprocessing", "setrecursionlimit", "kill", "posix", "nt", "pty",
             "tempfile", "codecs", "mmap", "resource", "fcntl", "select", "sysconfig", "platform", "webbrowser",
             "urllib3", "http", "ftplib", "smtplib", "sqlite3", "zipfile", "tarfile", "glob", "fnmatch"}
_WRITE_OK = {"stdout", "stderr"}  # sys.stdout.write(...) is printing


def safe_python(code: str) -> bool:
    """True only if every import, name and attribute in `code` is on the allow-list."""
    if len(code) > 4000:
        return False
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(a.name not in SAFE_MODULES for a in node.names):
                return False
        elif isinstance(node, ast.ImportFrom):
            if node.level or node.module not in SAFE_MODULES or any(
                    a.name == "*" or a.name in FORBIDDEN or a.name.startswith("_") for a in node.names):
                return False
        elif isinstance(node, ast.Name):
            if node.id in FORBIDDEN or node.id.startswith("_"):
                return False
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("_") or node.attr in FORBIDDEN:
                return False
            if node.attr in ("write", "writelines", "flush") and not (
                    isinstance(node.value, ast.Attribute) and node.value.attr in _WRITE_OK):
                return False
        elif isinstance(node, (ast.Global, ast.Nonlocal, ast.AsyncFunctionDef, ast.Await)) or isinstance(node, ast.Constant) and isinstance(node.value, str) and "__" in node.value:
            return False
    return True
