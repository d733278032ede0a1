// @ts-check
/**
 * A small, safe Markdown renderer for job instructions. It builds DOM nodes directly:
 * the source is never parsed as HTML, so any markup in it shows as text. Links go only to
 * http(s) or same-site URLs; images load only from this site or from allowed origins.
 * Images whose alt text starts with "good:" or "bad:" are framed as good / bad examples.
 *
 * Supported: # headings, paragraphs, - / * / 1. lists, > quotes, ``` code blocks, `code`,
 * **bold**, *italic*, [links](url), ![images](url), --- rules.
 */
import { h } from "./dom.js";
import { sitePath } from "./urls.js";

/**
 * @typedef {{allowedImageOrigins?: string[]}} MarkdownOptions
 */

/**
 * @param {string} url
 * @param {MarkdownOptions} opts
 * @param {boolean} image
 */
function safeUrl(url, opts, image) {
  url = url.trim();
  if (sitePath(url) !== null) return url;
  let parsed;
  try {
    parsed = new URL(url, location.href);
  } catch {
    return null;
  }
  if (parsed.origin === location.origin) return parsed.href;
  if (image) return (opts.allowedImageOrigins || []).includes(parsed.origin) ? parsed.href : null;
  return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
}

const INLINE = /(`[^`]+`)|(!\[[^\]]*\]\([^)\s]+\))|(\[[^\]]+\]\([^)\s]+\))|(\*\*[^*]+\*\*)|(\*[^*\s][^*]*\*|(?<![\p{L}\p{N}_])_[^_\s][^_]*_(?![\p{L}\p{N}_]))/gu;

/**
 * @param {string} text
 * @param {MarkdownOptions} opts
 * @returns {Node[]}
 */
function inline(text, opts) {
  /** @type {Node[]} */
  const out = [];
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    const i = m.index || 0;
    if (i > last) out.push(document.createTextNode(text.slice(last, i)));
    const tok = m[0];
    if (m[1]) out.push(h("code", null, tok.slice(1, -1)));
    else if (m[2]) {
      const mm = /^!\[([^\]]*)\]\(([^)\s]+)\)$/.exec(tok);
      const alt = mm ? mm[1] : "";
      const src = mm ? safeUrl(mm[2], opts, true) : null;
      if (src) {
        const kind = /^good\s*:/i.test(alt) ? "good" : /^bad\s*:/i.test(alt) ? "bad" : "";
        const caption = alt.replace(/^(good|bad)\s*:\s*/i, "");
        out.push(h("figure", { class: `md-image ${kind}` },
          h("img", { src, alt: caption, loading: "lazy" }),
          h("figcaption", null, kind ? `${kind === "good" ? "✓ Good" : "✗ Bad"}: ${caption}` : caption)));
      } else out.push(document.createTextNode(`[image not shown: ${alt}]`));
    } else if (m[3]) {
      const mm = /^\[([^\]]+)\]\(([^)\s]+)\)$/.exec(tok);
      const href = mm ? safeUrl(mm[2], opts, false) : null;
      if (mm && href) out.push(h("a", { href, target: "_blank", rel: "noopener noreferrer" }, ...inline(mm[1], opts)));
      else out.push(document.createTextNode(mm ? mm[1] : tok));
    } else if (m[4]) out.push(h("strong", null, ...inline(tok.slice(2, -2), opts)));
    else if (m[5]) out.push(h("em", null, ...inline(tok.slice(1, -1), opts)));
    last = i + tok.length;
  }
  if (last < text.length) out.push(document.createTextNode(text.slice(last)));
  return out;
}

/**
 * Render Markdown into a fragment of safe DOM nodes.
 * @param {string} source
 * @param {MarkdownOptions} [opts]
 * @returns {DocumentFragment}
 */
export function renderMarkdown(source, opts = {}) {
  const frag = document.createDocumentFragment();
  const lines = String(source || "").replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  /** @type {string[]} */
  let para = [];
  const flush = () => {
    if (para.length) frag.appendChild(h("p", null, ...inline(para.join(" "), opts)));
    para = [];
  };
  while (i < lines.length) {
    const line = lines[i];
    if (/^```/.test(line)) {
      flush();
      const code = [];
      i++;
      while (i < lines.length && !/^```/.test(lines[i])) code.push(lines[i++]);
      i++;
      frag.appendChild(h("pre", null, h("code", null, code.join("\n"))));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      const level = Math.min(6, heading[1].length + 1); // the page keeps h1 for itself
      frag.appendChild(h(/** @type {"h2"} */ (`h${level}`), null, ...inline(heading[2], opts)));
      i++;
      continue;
    }
    if (/^\s*(---|\*\*\*)\s*$/.test(line)) {
      flush();
      frag.appendChild(h("hr"));
      i++;
      continue;
    }
    const bullet = /^\s*([-*+]|\d+[.)])\s+/.exec(line);
    if (bullet) {
      flush();
      const ordered = /\d/.test(bullet[1]);
      const list = h(ordered ? "ol" : "ul");
      while (i < lines.length) {
        const m = /^\s*([-*+]|\d+[.)])\s+(.*)$/.exec(lines[i]);
        if (!m) break;
        list.appendChild(h("li", null, ...inline(m[2], opts)));
        i++;
      }
      frag.appendChild(list);
      continue;
    }
    if (/^>\s?/.test(line)) {
      flush();
      const quote = [];
      while (i < lines.length && /^>\s?/.test(lines[i])) quote.push(lines[i++].replace(/^>\s?/, ""));
      frag.appendChild(h("blockquote", null, ...inline(quote.join(" "), opts)));
      continue;
    }
    if (!line.trim()) flush();
    else para.push(line.trim());
    i++;
  }
  flush();
  return frag;
}
