"""Render a model's Jinja to SQL and keep, for every output line, the line of the file it came from.

The template is compiled with an extension that puts an invisible line marker in front
of the first character of every line of literal text. After rendering, the markers are
read (output line -> file line) and removed, so the SQL is exactly what plain Jinja
renders while errors can still point at the user's file.

>>> from duckpipe.transform.render import strip_markers
>>> strip_markers("\\ue0003\\ue001select 1\\n  \\ue0005\\ue001from t")
('select 1\\n  from t', [3, 5])
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import DuckpipeError, ProjectError
from duckpipe.transform import context

if TYPE_CHECKING:
    from types import FrameType

    import jinja2
    from jinja2.lexer import TokenStream

_MARK = re.compile("\ue000(\\d+)\ue001")


@dataclass
class Rendered:
    """A rendered model: the SQL, the file line of each SQL line, and what the template called."""

    sql: str
    lines: list[int]
    refs: list[tuple[str, int]]
    sources: list[tuple[str, str, int]]
    config: list[tuple[dict[str, Any], int]]


def strip_markers(text: str) -> tuple[str, list[int]]:
    """Remove line markers; return the clean text and the source line of each of its lines."""
    lines: list[int] = []
    clean: list[str] = []
    current = 1
    for raw in text.split("\n"):
        marks = _MARK.findall(raw)
        if marks:
            lines.append(int(marks[0]))
            current = int(marks[-1])
        else:
            lines.append(current)
        clean.append(_MARK.sub("", raw))
    return "\n".join(clean), lines


def _line_marker_extension() -> type:
    from jinja2.ext import Extension
    from jinja2.lexer import Token

    class LineMarkers(Extension):
        """Mark literal text with its template line (not inside ``{% set %}`` blocks)."""

        def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
            in_set_block = 0
            pending: list[Token] = []
            for token in stream:
                if token.type == "block_begin" or pending:
                    pending.append(token)
                    if token.type != "block_end":
                        continue
                    in_set_block += _set_block_delta(pending)
                    yield from pending
                    pending = []
                    continue
                if token.type == "data" and not in_set_block:
                    token = Token(token.lineno, "data", _mark(token.value, token.lineno))
                yield token
            yield from pending

    return LineMarkers


def _set_block_delta(tokens: list[Any]) -> int:
    names = [t.value for t in tokens if t.type == "name"]
    if not names:
        return 0
    if names[0] == "set" and not any(t.type == "assign" for t in tokens):
        return 1
    return -1 if names[0] == "endset" else 0


def _mark(text: str, lineno: int) -> str:
    out = []
    for offset, piece in enumerate(text.split("\n")):
        stripped = piece.lstrip()
        if stripped:
            indent = piece[: len(piece) - len(stripped)]
            piece = f"{indent}\ue000{lineno + offset}\ue001{stripped}"
        out.append(piece)
    return "\n".join(out)


class Renderer:
    """One Jinja environment per project: model templates (marked) and macros (``macros/*.sql``)."""

    def __init__(self, root: Path, *, threads: int = 1) -> None:
        import jinja2

        options: dict[str, Any] = {
            "undefined": jinja2.StrictUndefined,
            "extensions": ["jinja2.ext.do", "jinja2.ext.loopcontrols"],
            "autoescape": False,
        }
        self.globals = context.dbt_globals(threads)
        self.env = jinja2.Environment(
            **{**options, "extensions": [*options["extensions"], _line_marker_extension()]}
        )
        self.macro_env = jinja2.Environment(**options)
        self.env.globals.update(self.globals)
        self.macro_env.globals.update(self.globals)
        self._templates: dict[str, jinja2.Template] = {}
        self._load_macros(root)

    def _load_macros(self, root: Path) -> None:
        for path in sorted((root / "macros").rglob("*.sql")):
            rel = str(path.relative_to(root))
            template = self._compile(self.macro_env, path.read_text(), rel)
            module = template.make_module()
            for name in dir(module):
                if not name.startswith("_"):
                    self.globals[name] = context.returning(getattr(module, name))
        self.env.globals.update(self.globals)
        self.macro_env.globals.update(self.globals)

    def _compile(self, env: jinja2.Environment, source: str, path: str) -> jinja2.Template:
        import jinja2

        try:
            code = env.compile(source, name=path, filename=path)
        except jinja2.TemplateSyntaxError as exc:
            raise ProjectError(
                f"Jinja syntax error: {exc.message}",
                where=f"{path}:{exc.lineno}",
                hint="check the {% %} / {{ }} tags on this line and the blocks they close",
            ) from None
        self._templates[path] = env.template_class.from_code(env, code, env.make_globals(None))
        return self._templates[path]

    def line_in(self, path: str) -> int:
        """The template line of ``path`` being executed right now (for calls like ``ref()``)."""
        template = self._templates.get(path)
        frame: FrameType | None = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_filename == path and template is not None:
                return template.get_corresponding_lineno(frame.f_lineno)
            frame = frame.f_back
        return 1

    def render(
        self,
        path: str,
        source: str,
        *,
        model: str,
        incremental: bool,
        vars: dict[str, Any],
        ref: Callable[[str, int], context.Relation],
        source_table: Callable[[str, str, int], context.Relation],
    ) -> Rendered:
        """Render one model file; errors name the file and the template line."""
        import jinja2

        template = self._templates.get(path) or self._compile(self.env, source, path)
        state = context.RenderState(
            model=model,
            path=path,
            incremental=incremental,
            ref=ref,
            source=source_table,
            vars=vars,
            line_of=lambda: self.line_in(path),
        )
        token = context.CURRENT.set(state)
        try:
            text = template.render()
        except DuckpipeError:
            raise
        except jinja2.TemplateError as exc:
            raise ProjectError(
                f"Jinja error: {exc}", where=f"{path}:{_template_line(exc, path)}"
            ) from None
        except Exception as exc:
            raise ProjectError(
                f"Jinja error: {type(exc).__name__}: {exc}",
                where=f"{path}:{_template_line(exc, path)}",
            ) from None
        finally:
            context.CURRENT.reset(token)
        sql, lines = strip_markers(text)
        return Rendered(sql, lines, state.refs, state.sources, state.config)


def _template_line(exc: BaseException, path: str) -> int:
    """The deepest traceback line inside ``path`` (Jinja rewrites frames to template lines)."""
    line = getattr(exc, "lineno", None) or 1
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
