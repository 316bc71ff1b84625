"""The HTTP service for filter builders: the library's answers as JSON over HTTP.

`handlers.py` does the work (a body in, an answer out), read with the request models of
`models.py` (which also make the OpenAPI document); `app.py` is the Starlette app
(`create_app`); `workers.py` runs each request's work in a thread that can be stopped;
`running.py` listens and runs uvicorn (`serve`). `playground.html` is the page served at /.
Needs the `server` extra (Starlette, uvicorn).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from helicone_filter.service.app import create_app
    from helicone_filter.service.running import serve

__all__ = ["create_app", "serve"]

_HOMES = {"create_app": "helicone_filter.service.app", "serve": "helicone_filter.service.running"}


def __getattr__(name: str) -> Any:
    """`create_app` and `serve`, imported when first asked for (they need Starlette)."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_HOMES[name]), name)
