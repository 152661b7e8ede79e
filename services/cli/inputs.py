"""Reading command input: ``--file`` documents (YAML or JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from services.application.errors import InvalidInput


def read_document(path: Path) -> dict[str, Any]:
    """Read a YAML or JSON mapping from ``path``; a failure names the ``file`` field and
    says what is wrong (not the path: it was typed by the caller)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput("file", "does not exist") from None
    except IsADirectoryError:
        raise InvalidInput("file", "is a directory") from None
    except PermissionError:
        raise InvalidInput("file", "cannot be read (permission denied)") from None
    except UnicodeDecodeError:
        raise InvalidInput("file", "is not UTF-8 text") from None
    except OSError as e:
        raise InvalidInput("file", f"cannot be read ({e.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InvalidInput("file", f"is not valid YAML or JSON{where}") from None
    if not isinstance(data, dict):
        raise InvalidInput("file", "must hold a mapping of field names to values")
    return {str(k): v for k, v in data.items()}
