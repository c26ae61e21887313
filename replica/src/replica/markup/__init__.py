"""The replica's markups: the same visible page in structurally different HTML.

`MARKUPS` names them; `render_view` dispatches. Each module exposes `render_study(view, context)`
and `render_plain(view, context)` returning the whole document as `str`.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Final

from replica.markup import semantic, soup, table
from replica.markup.text import Context
from replica.model import PageView, StudyView

_MODULES: Final[dict[str, ModuleType]] = {m.NAME: m for m in (semantic, soup, table)}
MARKUPS: Final = tuple(_MODULES)


def render_view(view: PageView, markup: str, context: Context) -> str:
    module = _MODULES[markup]
    render: Callable[..., str]
    render = module.render_study if isinstance(view, StudyView) else module.render_plain
    return render(view, context)


__all__ = ["MARKUPS", "Context", "render_view"]
