"""Imports that grading processes make lighter, without changing what they compute.

jsonschema checks the ``iri`` formats with rfc3987-syntax when it is installed (it comes with
jupyter-events' ``format-nongpl`` extra), and that module builds an Earley grammar with Lark as it is
imported: about 0.9 s of CPU in every process that imports nbformat (the ``course`` command, each
grading worker). Nothing the course runs checks formats (nbformat, nbgrader, nbclient and nbconvert
never ask jsonschema for a format checker), so jsonschema is imported without that module.
"""
from __future__ import annotations

import sys


def jsonschema_without_iri_grammar() -> None:
    """Import jsonschema with rfc3987-syntax hidden (a no-op once jsonschema is imported)."""
    if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        return
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        pass
    finally:
        if sys.modules.get("rfc3987_syntax", "") is None:
            del sys.modules["rfc3987_syntax"]  # later, direct imports of it work as usual
