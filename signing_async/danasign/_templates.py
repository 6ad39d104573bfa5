"""``client.templates``: DANAsign's document templates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._core.pagination import AsyncPager
from .._core.session import CoreSession
from .._core.timeouts import Timeout
from .._core.urls import path_segment
from ._config import DanaSignConfig
from ._endpoint import DanaSignEndpoint, normalize_signature_type
from ._models import Template, TemplateSummary

__all__ = ["Templates"]


class Templates:
    """List templates and read one in full.

    Obtained as ``client.templates``. ``SignatureType`` arrives either as
    ``["draw"]`` or as OpenSign's ``[{"name": "draw", "enabled": true}]``;
    both become a tuple of the enabled names (``signature_type``).
    """

    def __init__(self, session: CoreSession, config: DanaSignConfig) -> None:
        self._endpoint = DanaSignEndpoint(session, config)

    def list(
        self,
        *,
        search: str | None = None,
        page_size: int = 20,
        timeout: Timeout | None = None,
    ) -> AsyncPager[TemplateSummary]:
        """Every template, page by page.

        Args:
            search: Partial match on the template's name.
            page_size: Templates per request, 1..100.
            timeout: Overrides the client's timeouts for each request.

        Returns:
            A pager; nothing is sent until it is iterated.

        Raises:
            ValidationError: ``page_size`` outside 1..100, or a ``search``
                that is not a string (raised at once).
        """
        query = {} if search is None else {"search": search}
        return self._endpoint.pager(
            "list templates",
            "/api/1.0/templates",
            TemplateSummary,
            page_size=page_size,
            query=query,
            prepare=normalize_signature_type,
            timeout=timeout,
        )

    async def get(self, template_id: str, *, timeout: Timeout | None = None) -> Template:
        """One template with its placeholders, signers and settings.

        Args:
            template_id: The template's id.
            timeout: Overrides the client's timeouts for this call.

        Raises:
            ValidationError: An empty, ``.``/``..``, or otherwise unusable
                ``template_id``; nothing was sent.
            NotFoundError: No such template.
            PermissionDeniedError: The token's user may not see it.
        """
        segment = path_segment(template_id, "template_id")
        endpoint = self._endpoint
        call = endpoint.request(
            f"get template {template_id}", "GET", f"/api/1.0/template/{segment}", timeout=timeout
        )
        return endpoint.answer(call, await endpoint.json(call), Template, prepare=_prepare_template)


def _prepare_template(item: Any) -> Any:
    """A template's answer, its placeholders reshaped for :class:`TemplatePlaceholder`."""
    item = normalize_signature_type(item)
    if not isinstance(item, Mapping):
        return item
    result = dict(item)
    for key, value in item.items():
        if str(key).lower() == "placeholders" and isinstance(value, list):
            result[key] = [_placeholder(entry) for entry in value]
    return result


def _placeholder(entry: Any) -> dict[str, Any]:
    # OpenSign nests widgets by page: {"placeHolder": [{"pageNumber", "pos": [...]}]}.
    if not isinstance(entry, Mapping):
        return {"value": entry}  # an unknown shape: kept in raw, never an error
    result = {key: value for key, value in entry.items() if key != "placeHolder"}
    pages = entry.get("placeHolder")
    if not isinstance(pages, list):
        if pages is not None:
            result["placeHolder"] = pages
        return result
    widgets: list[Any] = []
    for page in pages:
        positions = page.get("pos") if isinstance(page, Mapping) else None
        if not isinstance(positions, list):
            result.setdefault("placeHolder", []).append(page)
            continue
        for position in positions:
            widgets.append(_widget(position, page.get("pageNumber")))
    result["widgets"] = widgets
    return result


_WIDGET_KEYS = {"xPosition": "x", "yPosition": "y", "Width": "w", "Height": "h"}


def _widget(position: Any, page: Any) -> Any:
    if not isinstance(position, Mapping):
        return {"value": position}
    widget = {_WIDGET_KEYS.get(key, key): value for key, value in position.items()}
    widget.setdefault("page", page)
    return widget
