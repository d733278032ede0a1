"""Liquid rendering with Ground Truth's filters (issue 13, item 1)."""

from __future__ import annotations

import time

import pytest

from truthset.errors import BadInput, Forbidden
from truthset.media.storage import AllowedRoots
from truthset.templates import rendering
from truthset.templates.rendering import TemplateCache, parse_template, render, to_json
from truthset.templates.service import render_page
from truthset.templates.signing import check_grant, grant_expiry, grant_url, signature

HOSTILE = "<script>alert(1)</script>"
KEY = b"k" * 32


def _render(source: str, task_input: object, granter=None) -> str:
    return render(parse_template(source), task_input, granter)


def test_values_are_escaped_by_default():
    out = _render("<p>{{ task.input.text }}</p>", {"text": HOSTILE})
    assert out == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    assert "<script>" not in out


def test_skip_autoescape_passes_raw_only_where_the_template_says():
    out = _render(
        "<p>{{ task.input.text }}</p><div>{{ task.input.text | skip_autoescape }}</div>",
        {"text": HOSTILE},
    )
    assert out == f"<p>&lt;script&gt;alert(1)&lt;/script&gt;</p><div>{HOSTILE}</div>"


def test_escape_and_escape_once():
    out = _render(
        "{{ task.input.t | escape }}|{{ task.input.e | escape_once }}|"
        "{{ task.input.t | escape_once }}",
        {"t": "a & <b>", "e": "a &amp; &lt;b&gt;"},
    )
    # escape then autoescape does not escape twice; escape_once leaves entities alone
    assert out == "a &amp; &lt;b&gt;|a &amp; &lt;b&gt;|a &amp; &lt;b&gt;"


def test_to_json_in_an_attribute_and_in_a_script():
    labels = ["it's", "</script><script>alert(1)</script>", 'say "hi"']
    out = _render(
        '<crowd-classifier categories="{{ task.input.labels | to_json }}"></crowd-classifier>'
        '<crowd-x v="{{ task.input.labels | to_json | escape }}"></crowd-x>'
        "<script>var labels = {{ task.input.labels | to_json | skip_autoescape }};</script>",
        {"labels": labels},
    )
    attr = out.split('categories="')[1].split('"')[0]
    assert "&#34;" in attr and "<" not in attr and "'" not in attr
    assert out.split('v="')[1].split('"')[0] == attr  # `| escape` after it changes nothing
    script = out.split("var labels = ")[1].split(";</script>")[0]
    assert "</script" not in script and "<" not in script
    import json

    assert json.loads(script) == labels
    assert to_json({"a": [1, None, True]}) == '{"a":[1,null,true]}'


def test_grant_read_access_signs_refs_inside_the_roots_only(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x")
    roots = AllowedRoots([str(tmp_path), "s3://bucket/photos"])
    html = (
        '<crowd-form></crowd-form><img src="{{ task.input.a | grant_read_access }}">'
        '<img src="{{ task.input.b | grant_read_access }}">'
        '<img src="{{ task.input.c | grant_read_access }}">'
        '<img src="{{ task.input.d | grant_read_access }}">'
    )
    now = time.time()
    page = render_page(
        job_id=1,
        html=html,
        task_input={
            "a": str(tmp_path / "a.png"),
            "b": "s3://bucket/photos/x.jpg",
            "c": "/etc/passwd",
            "d": "s3://other/x.jpg",
        },
        roots=roots,
        grant_key=KEY,
        origin="http://h",
        now=now,
    )
    srcs = [part.split('"')[0] for part in page.split('<img src="')[1:]]
    expires = grant_expiry(now)
    assert srcs[0] == grant_url(KEY, str(tmp_path / "a.png"), expires, "http://h").replace(
        "&", "&amp;"
    )
    assert srcs[1].startswith("http://h/api/media/grant?ref=s3%3A%2F%2Fbucket%2Fphotos%2Fx.jpg")
    assert srcs[2] == "" and srcs[3] == ""  # outside the roots: never signed
    assert page.index('src="http://h/static/crowd/crowd-elements.js"') < page.index("<crowd-form")


def test_grants_expire_and_resist_tampering():
    expires = int(time.time()) + 60
    good = signature(KEY, "s3://b/k.png", expires)
    check_grant(KEY, "s3://b/k.png", str(expires), good)
    for ref, when, sig in (
        ("s3://b/other.png", str(expires), good),
        ("s3://b/k.png", str(expires + 1), good),
        ("s3://b/k.png", str(expires), "0" * 64),
        ("s3://b/k.png", "soon", good),
    ):
        with pytest.raises(Forbidden):
            check_grant(KEY, ref, when, sig)
    past = int(time.time()) - 1
    with pytest.raises(Forbidden, match="expired"):
        check_grant(KEY, "s3://b/k.png", str(past), signature(KEY, "s3://b/k.png", past))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("<crowd-form>\n\n{% if %}\n</crowd-form>", "template line 3: missing expression"),
        ("<p>\n{{ task.input | nope }}</p>", "template line 2: unknown filter 'nope'"),
        ("{% for x in task.input %}\n\n{% endif %}", "template line 3"),
        ("   ", "empty"),
    ],
)
def test_template_errors_name_the_line(source, message):
    with pytest.raises(BadInput, match=message):
        parse_template(source)


def test_hostile_loops_are_bounded():
    with pytest.raises(BadInput, match="limit"):
        _render("{% for i in (1..1000000) %}x{% endfor %}", {})


def test_a_template_is_parsed_once_per_job_and_text(monkeypatch):
    calls = []
    real = rendering.parse_template
    monkeypatch.setattr(rendering, "parse_template", lambda s: calls.append(s) or real(s))
    cache = TemplateCache()
    first = cache.get(1, "<p>{{ task.input.x }}</p>")
    assert cache.get(1, "<p>{{ task.input.x }}</p>") is first
    cache.get(2, "<p>{{ task.input.x }}</p>")
    cache.get(1, "<p>{{ task.input.y }}</p>")
    assert len(calls) == 3
