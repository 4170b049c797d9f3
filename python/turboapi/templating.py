"""Jinja2 templates (FastAPI's ``fastapi.templating``, which is Starlette's ``Jinja2Templates``).

jinja2 is optional: this module imports without it, and only building a ``Jinja2Templates`` says it is
missing. The API is Starlette 1.x's: ``TemplateResponse(request, name, context, ...)`` with the request
first (the older ``TemplateResponse(name, {"request": request})`` form is gone there, and refused here),
``directory=`` or ``env=`` (not both), ``context_processors``, and a ``url_for`` template global that
resolves route names through the ``request`` in the template's context.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .responses import HTMLResponse

if TYPE_CHECKING:
    import jinja2

    from .background import BackgroundTask
    from .datastructures import URL
    from .requests import Request

__all__ = ["Jinja2Templates"]


def _import_jinja2() -> Any:
    try:
        import jinja2
    except ImportError as exc:
        raise ImportError("jinja2 must be installed to use Jinja2Templates (pip install jinja2)") from exc
    return jinja2


class _TemplateResponse(HTMLResponse):
    """An HTML response rendered from a template, keeping the template and the context it was given."""

    def __init__(
        self,
        template: Any,
        context: dict[str, Any],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        self.template = template
        self.context = context
        super().__init__(template.render(context), status_code, headers, media_type, background)


def _url_for(context: Mapping[str, Any], name: str, /, **path_params: Any) -> URL:
    # The template global: the URL of a named route, absolute, from the request being rendered for.
    request: Request = context["request"]
    return request.url_for(name, **path_params)


class Jinja2Templates:
    """Renders Jinja2 templates into HTML responses.

    ``templates = Jinja2Templates(directory="templates")`` then, in a handler,
    ``return templates.TemplateResponse(request, "index.html", {"item": item})``.
    """

    #: Declared here, where ``jinja2`` is the module (imported for the checker only).
    env: jinja2.Environment

    def __init__(
        self,
        directory: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
        *,
        context_processors: list[Callable[[Request], dict[str, Any]]] | None = None,
        env: jinja2.Environment | None = None,
    ) -> None:
        jinja2 = _import_jinja2()
        if bool(directory) == bool(env):
            raise AssertionError("either 'directory' or 'env' arguments must be passed")
        self.context_processors = context_processors or []
        if directory:
            loader = jinja2.FileSystemLoader(directory)
            self.env = jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape())
        else:
            self.env = env  # type: ignore[assignment]  # not None: checked above
        self._setup_env_defaults(self.env)

    def _setup_env_defaults(self, env: jinja2.Environment) -> None:
        # A url_for the environment already has (a user's own) is kept.
        env.globals.setdefault("url_for", _import_jinja2().pass_context(_url_for))

    def get_template(self, name: str) -> jinja2.Template:
        return self.env.get_template(name)

    def TemplateResponse(  # noqa: N802 - Starlette's name
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> _TemplateResponse:
        """Render template ``name`` with ``context`` (plus ``request`` and the context processors' values)."""
        if isinstance(request, str) and isinstance(name, Mapping):
            # Starlette 1.x fails here too (a TypeError from jinja2 about an unhashable dict); say why.
            raise TypeError(
                "TemplateResponse takes the request first: TemplateResponse(request, name, context); "
                "the older TemplateResponse(name, {'request': request}) form is not accepted (nor by Starlette 1.x)"
            )
        context = context or {}
        context.setdefault("request", request)
        for processor in self.context_processors:
            context.update(processor(request))
        return _TemplateResponse(
            self.get_template(name),
            context,
            status_code=status_code,
            headers=headers,
            media_type=media_type,
            background=background,
        )
