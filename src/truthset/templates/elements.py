"""The elements a template declares: what a worker's answer may name.

The template's text is read with `html.parser` (Liquid tags are plain text to it): every
crowd element that takes an answer and has a `name`, and the plain named `<input>`,
`<select>` and `<textarea>` fields inside `<crowd-form>`, each as `{"tag", "name",
"attributes"}`. Radio inputs that share a name are one field, as in an HTML form
(with `"options"`: their values). A
template without `<crowd-form>` has nothing to submit, and two elements of one name
would overwrite each other's answer: both are refused, naming the line.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from truthset.errors import BadInput
from truthset.tasktypes.crowd_answers import ANSWER_TAGS

PLAIN_FIELDS = frozenset({"input", "select", "textarea"})
# Inputs that submit nothing of their own.
_NOT_ANSWERS = frozenset({"submit", "button", "reset", "image", "file"})


class _ElementParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.form_depth = 0
        self.saw_form = False
        self.elements: list[dict[str, Any]] = []
        self.lines: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "crowd-form":
            self.form_depth += 1
            self.saw_form = True
            return
        attributes = {k: ("" if v is None else v) for k, v in attrs}
        name = attributes.get("name")
        if not name or tag not in ANSWER_TAGS:
            return
        if tag in PLAIN_FIELDS:
            if self.form_depth == 0:
                return
            if tag == "input" and attributes.get("type", "text").lower() in _NOT_ANSWERS:
                return
        line = self.getpos()[0]
        if name in self.lines:
            earlier = next(e for e in self.elements if e["name"] == name)
            if tag == "input" and earlier["tag"] == "input" and _both_radio(earlier, attributes):
                earlier["options"].append(attributes.get("value") or "on")
                return
            raise BadInput(
                f"template line {line}: a second element named {name!r} (the first is on line"
                f" {self.lines[name]}); each answer is keyed by its element's name"
            )
        self.lines[name] = line
        element: dict[str, Any] = {"tag": tag, "name": name, "attributes": attributes}
        if tag == "input" and attributes.get("type", "").lower() == "radio":
            element["options"] = [attributes.get("value") or "on"]
        self.elements.append(element)

    def handle_endtag(self, tag: str) -> None:
        if tag == "crowd-form" and self.form_depth:
            self.form_depth -= 1


def _both_radio(earlier: dict[str, Any], attributes: dict[str, str]) -> bool:
    return (
        earlier["attributes"].get("type", "").lower() == "radio"
        and attributes.get("type", "").lower() == "radio"
    )


def declared_elements(source: str) -> list[dict[str, Any]]:
    parser = _ElementParser()
    parser.feed(source)
    parser.close()
    if not parser.saw_form:
        raise BadInput(
            "template: no <crowd-form> element (it holds the answer's elements and submits them)"
        )
    return parser.elements
