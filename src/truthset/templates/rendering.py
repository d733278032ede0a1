"""Liquid rendering of worker task templates, with Ground Truth's filters.

Autoescape is on: every `{{ ... }}` output is HTML-escaped unless the template says
`| skip_autoescape`, so item text and manifest values reach the page as text. Filters:

- `escape`, `escape_once`: python-liquid's own (escaping an escaped value does nothing).
- `skip_autoescape`: the value as it is (marked safe).
- `to_json`: JSON text in which `<`, `>`, `&` and `'` are written as `\\u003c` ... so
  that, with `| skip_autoescape`, it cannot end a `<script>` element or an attribute;
  without it, autoescape HTML-escapes the quotes, which is right inside an attribute
  (`categories="{{ task.input.labels | to_json }}"`, Ground Truth's usual form, with or
  without a trailing `| escape`).
- `grant_read_access`: an `s3://` URI or local path inside the workspace's allowed roots
  becomes a signed, short-lived URL of truthset's media route (`templates.signing`);
  `http(s)://` URLs pass unchanged; anything else becomes "" (never signed).

Templates are parsed once and kept (`compiled`, keyed by job id and the text's hash);
errors at parse time name the line. Loops and output are bounded (a template is the
requester's, but the server renders it).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from liquid import BoundTemplate, Environment, Markup
from liquid.exceptions import LiquidError, LiquidSyntaxError
from liquid.filter import with_context

from truthset.errors import BadInput

MAX_TEMPLATE = 500_000
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"}


def to_json(value: Any) -> str:
    text = json.dumps(_plain(value), ensure_ascii=False, separators=(",", ":"))
    for char, escaped in _JSON_ESCAPES.items():
        text = text.replace(char, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _plain(value: Any) -> Any:
    # Liquid hands Markup and its own drops through; JSON wants plain values.
    if isinstance(value, Markup):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def skip_autoescape(value: Any) -> Markup:
    return Markup("" if value is None else str(value))


# Signs a reference (or refuses it with ""): set per render in the context's globals.
Granter = Callable[[str], str]
GRANTER_KEY = "_truthset_grant"


@with_context
def grant_read_access(value: Any, *, context: Any) -> str:
    if not isinstance(value, str):
        return ""
    if value.startswith(("https://", "http://")):
        return value
    granter = context.globals.get(GRANTER_KEY)
    return granter(value) if granter is not None else ""


class TemplateEnvironment(Environment):
    loop_iteration_limit = 100_000
    output_stream_limit = 20_000_000
    context_depth_limit = 30


def make_environment() -> TemplateEnvironment:
    env = TemplateEnvironment(autoescape=True)
    env.filters["skip_autoescape"] = skip_autoescape
    env.filters["to_json"] = to_json
    env.filters["grant_read_access"] = grant_read_access
    return env


ENVIRONMENT = make_environment()


def _line_of(source: str, index: int | None) -> int:
    return source.count("\n", 0, index or 0) + 1


def parse_template(source: str) -> BoundTemplate:
    """The parsed template; BadInput naming the line of a syntax error or an unknown
    filter (python-liquid finds those only when rendering: static analysis finds them
    here)."""
    if not isinstance(source, str) or not source.strip():
        raise BadInput("template: the template is empty")
    if len(source) > MAX_TEMPLATE:
        raise BadInput(f"template: longer than {MAX_TEMPLATE:,} characters")
    try:
        template = ENVIRONMENT.from_string(source)
    except LiquidSyntaxError as exc:
        where = exc.token.start_index if exc.token is not None else None
        raise BadInput(f"template line {_line_of(source, where)}: {exc.message}") from None
    except LiquidError as exc:
        raise BadInput(f"template: {exc}") from None
    for name, spans in template.analyze().filters.items():
        if name not in ENVIRONMENT.filters:
            line = _line_of(source, spans[0].index if spans else None)
            raise BadInput(f"template line {line}: unknown filter {name!r}")
    return template


def template_hash(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


class TemplateCache:
    """Parsed templates by (job id, hash of the text): a job's template is parsed once
    per process, and a changed text is a new entry."""

    def __init__(self, size: int = 256):
        self.size = size
        self._entries: OrderedDict[tuple[Any, str], BoundTemplate] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, job_key: Any, source: str) -> BoundTemplate:
        key = (job_key, template_hash(source))
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        template = parse_template(source)
        with self._lock:
            self._entries[key] = template
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return template

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


TEMPLATES = TemplateCache()


def render(template: BoundTemplate, task_input: Any, granter: Granter | None = None) -> str:
    """The template over `task.input`; a render error (a loop over the limit, a filter
    given the wrong argument) is a BadInput with python-liquid's message."""
    try:
        return template.render(task={"input": task_input}, **{GRANTER_KEY: granter})
    except LiquidError as exc:
        raise BadInput(f"template: {exc}") from None
