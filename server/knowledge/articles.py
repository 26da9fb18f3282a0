"""One knowledge article per Markdown file: optional YAML front matter, `# Title`, then the answer.

    ---
    keywords: [opening hours, open, close]
    url: https://help.acmeshop.example/hours
    private: false
    ---
    # Opening hours
    Our care team answers every day from 8am to 10pm UK time.

The body is facts an agent may state in public (unless `private: true`, an answer for a DM only). Parsing is pure
(the pack store hands over the text) and every problem names the line, so the console can point at it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import yaml

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,60}$")
FRONT_KEYS = frozenset({"keywords", "url", "private", "lang", "title"})
MAX_ARTICLE_CHARS = 20_000
MAX_ARTICLES = 2_000


class ArticleError(ValueError):
    """An article that cannot be used: what is wrong, and on which line of its file."""

    def __init__(self, problem: str, line: int | None = None, key: str | None = None) -> None:
        self.problem, self.line, self.key = problem, line, key
        super().__init__(problem)


@dataclass(frozen=True)
class Article:
    """A parsed article: `id` is its file name without `.md`."""

    id: str
    title: str
    body: str
    keywords: tuple[str, ...] = ()
    url: str | None = None
    private: bool = False
    lang: str | None = None
    facts: tuple[str, ...] = field(default=(), compare=False)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "title": self.title, "body": self.body,
                               "keywords": list(self.keywords), "private": self.private}
        if self.url:
            out["url"] = self.url
        if self.lang:
            out["lang"] = self.lang
        return out


def article_id(fname: str) -> str:
    """`knowledge/opening-hours.md` -> `opening-hours`; raises ArticleError for any other kind of name."""
    base = fname.split("/", 1)[1] if fname.startswith("knowledge/") else fname
    if not base.endswith(".md") or not ID_RE.match(base[:-3]):
        raise ArticleError("an article file is 'knowledge/<id>.md', the id lower-case letters, digits, '-', '_'")
    return base[:-3]


def _front(text: str) -> tuple[dict[str, Any], str, int]:
    """The front matter (a mapping), the rest of the text, and the line the rest starts on."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text, 1
    for no in range(1, len(lines)):
        if lines[no].strip() == "---":
            raw = "\n".join(lines[1:no])
            try:
                meta = yaml.safe_load(raw) if raw.strip() else {}
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                raise ArticleError(f"front matter is not valid YAML: {getattr(exc, 'problem', exc)}",
                                   line=(mark.line + 2) if mark else 2) from None
            if not isinstance(meta, dict):
                raise ArticleError("front matter must be 'key: value' lines", line=2)
            return meta, "\n".join(lines[no + 1:]), no + 2
    raise ArticleError("front matter opened with '---' is never closed", line=1)


def _line_of(text: str, key: str) -> int | None:
    for no, line in enumerate(text.split("\n"), 1):
        if re.match(rf"^{re.escape(key)}\s*:", line):
            return no
    return None


def _check_meta(meta: dict[str, Any], text: str, allowed_domains: tuple[str, ...]) -> dict[str, Any]:
    for key in meta:
        if key not in FRONT_KEYS:
            raise ArticleError(f"unknown front-matter key '{key}' (known: {', '.join(sorted(FRONT_KEYS))})",
                               line=_line_of(text, str(key)), key=str(key))
    kws = meta.get("keywords", [])
    if isinstance(kws, str):
        kws = [k.strip() for k in kws.split(",") if k.strip()]
    if not isinstance(kws, list) or not all(isinstance(k, str | int | float) and str(k).strip() for k in kws):
        raise ArticleError("keywords is a list of words or phrases", line=_line_of(text, "keywords"), key="keywords")
    private = meta.get("private", False)
    if not isinstance(private, bool):
        raise ArticleError("private is true or false", line=_line_of(text, "private"), key="private")
    url = meta.get("url")
    if url is not None:
        if not isinstance(url, str):
            raise ArticleError("url is a text", line=_line_of(text, "url"), key="url")
        check_url(url, allowed_domains, _line_of(text, "url"))
    lang = meta.get("lang")
    if lang is not None and not (isinstance(lang, str) and re.match(r"^[a-z]{2}$", lang)):
        raise ArticleError("lang is a two-letter ISO 639-1 code", line=_line_of(text, "lang"), key="lang")
    return {"keywords": tuple(str(k).strip() for k in kws), "private": private, "url": url, "lang": lang}


def check_url(url: str, allowed_domains: tuple[str, ...], line: int | None = None) -> None:
    """An https link on one of the pack's allowed domains (or a sub-domain of one): a reply may cite it."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise ArticleError(f"url '{url}' is not an http(s) link", line=line, key="url")
    ok = any(host == d.lower() or host.endswith("." + d.lower()) for d in allowed_domains if d)
    if not ok:
        listed = ", ".join(allowed_domains) or "none"
        raise ArticleError(f"url '{url}' is not on the pack's allowed domains ({listed}: [tone] allowed_domains)",
                           line=line, key="url")


def split_facts(body: str) -> tuple[str, ...]:
    """The body as sentences an agent may state one by one (list items and prose alike)."""
    text = re.sub(r"^\s*[-*]\s+", "", body, flags=re.M)
    text = re.sub(r"\*\*|__|`", "", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    out: list[str] = []
    for para in re.split(r"\n\s*\n|\n(?=\S)", text):
        para = " ".join(para.split())
        if not para or para.startswith("#"):
            continue
        for sent in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9¿¡])", para):
            sent = sent.strip()
            if sent:
                out.append(sent if sent[-1] in ".!?" else sent + ".")
    return tuple(out)


def parse_article(fname: str, text: str, allowed_domains: tuple[str, ...] = ()) -> Article:
    """An Article from its file name and text; raises ArticleError naming the line."""
    aid = article_id(fname)
    if len(text) > MAX_ARTICLE_CHARS:
        raise ArticleError(f"an article holds at most {MAX_ARTICLE_CHARS} characters")
    text = text.replace("\r\n", "\n")
    meta, rest, start = _front(text)
    checked = _check_meta(meta, text, allowed_domains)
    lines = rest.split("\n")
    title, body_from = None, 0
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        m = re.match(r"^#\s+(.+?)\s*#*\s*$", line)
        if not m:
            raise ArticleError("an article starts with '# Title' (after the front matter)", line=start + i)
        title, body_from = m.group(1).strip(), i + 1
        break
    if not title:
        raise ArticleError("an article needs a '# Title' line", line=start)
    if isinstance(meta.get("title"), str) and meta["title"].strip():
        title = meta["title"].strip()
    body = "\n".join(lines[body_from:]).strip()
    if not body:
        raise ArticleError("the article has a title but no answer under it", line=start + body_from)
    return Article(id=aid, title=title, body=body, keywords=checked["keywords"], url=checked["url"],
                   private=checked["private"], lang=checked["lang"], facts=split_facts(body))


def article_from_dict(data: Any) -> Article:
    """The Article of a parsed pack's `knowledge` entry (as_dict's output)."""
    return Article(id=str(data["id"]), title=str(data["title"]), body=str(data["body"]),
                   keywords=tuple(data.get("keywords") or ()), url=data.get("url"),
                   private=bool(data.get("private")), lang=data.get("lang"),
                   facts=split_facts(str(data["body"])))
