import { type DefaultTreeAdapterTypes, parseFragment } from 'parse5';
import { isTailwindClass } from './tailwind.ts';

/**
 * HTML + Tailwind safety of generated markup (the `safety_html_tailwind_compliance` metric).
 *
 * The markup is parsed as a fragment with parse5 (the WHATWG HTML parsing algorithm, so the
 * elements and attributes checked are the ones a browser would build) and is compliant when:
 * - every element is in {@link ALLOWED_TAGS} (so no script, style, iframe, object, embed, link,
 *   meta, base, form-less frames, ...);
 * - no attribute is an inline event handler (`on*`), `style` or `srcdoc`;
 * - URL attributes ({@link URL_ATTRIBUTES}) use no scheme other than http, https, mailto and
 *   tel (relative and fragment URLs have none); `data:image/{png,jpeg,gif,webp,avif}` is allowed
 *   in `src`/`srcset` only. So no `javascript:`, `vbscript:` or `data:text/html`. The scheme is
 *   read the way the URL parser does: after dropping tabs and newlines and trimming controls;
 * - every class token is a Tailwind utility class ({@link isTailwindClass}).
 */
export type SafetyVerdict = { compliant: true } | { compliant: false; reason: string };

/** Elements a generated section may contain: text, layout, media, forms and inline SVG icons. */
export const ALLOWED_TAGS: ReadonlySet<string> = new Set([
  'a',
  'abbr',
  'address',
  'article',
  'aside',
  'audio',
  'b',
  'bdi',
  'bdo',
  'blockquote',
  'br',
  'button',
  'caption',
  'cite',
  'code',
  'col',
  'colgroup',
  'data',
  'dd',
  'del',
  'details',
  'dfn',
  'div',
  'dl',
  'dt',
  'em',
  'fieldset',
  'figcaption',
  'figure',
  'footer',
  'form',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'header',
  'hgroup',
  'hr',
  'i',
  'img',
  'input',
  'ins',
  'kbd',
  'label',
  'legend',
  'li',
  'main',
  'mark',
  'menu',
  'meter',
  'nav',
  'ol',
  'optgroup',
  'option',
  'output',
  'p',
  'picture',
  'pre',
  'progress',
  'q',
  'rp',
  'rt',
  'ruby',
  's',
  'samp',
  'search',
  'section',
  'select',
  'small',
  'source',
  'span',
  'strong',
  'sub',
  'summary',
  'sup',
  'table',
  'tbody',
  'td',
  'tfoot',
  'th',
  'thead',
  'time',
  'tr',
  'track',
  'u',
  'ul',
  'var',
  'video',
  'wbr',
  // inline SVG icons
  'svg',
  'g',
  'path',
  'circle',
  'ellipse',
  'line',
  'polyline',
  'polygon',
  'rect',
  'defs',
  'lineargradient',
  'radialgradient',
  'stop',
  'clippath',
]);

/** Attributes holding a URL (checked for their scheme). */
export const URL_ATTRIBUTES: ReadonlySet<string> = new Set([
  'href',
  'xlink:href',
  'src',
  'srcset',
  'action',
  'formaction',
  'poster',
  'cite',
  'background',
  'longdesc',
  'data',
  'ping',
  'manifest',
  'itemtype',
]);

const FORBIDDEN_ATTRIBUTES = new Set(['style', 'srcdoc']);
const SAFE_SCHEMES = new Set(['http', 'https', 'mailto', 'tel']);
const SAFE_DATA_IMAGE = /^data:image\/(?:png|jpeg|jpg|gif|webp|avif)[;,]/;
const HTML_WHITESPACE = /[\t\n\f\r ]+/;

/**
 * Checks one HTML fragment. Clean markup (the common case) is proved safe by a strict scanner
 * that only accepts input whose tokenisation is unambiguous; anything else goes through parse5,
 * which has the last word. Both give the same verdict (see html-safety.test.ts).
 *
 * @example
 * checkHtmlSafety('<a href="javascript:alert(1)">x</a>');
 * // { compliant: false, reason: 'a[href] uses the javascript: scheme' }
 */
export function checkHtmlSafety(html: string): SafetyVerdict {
  if (fastPathCompliant(html)) return { compliant: true };
  return checkHtmlSafetyWithParser(html);
}

/** The reference check: parse5 builds the fragment and every element is inspected. */
export function checkHtmlSafetyWithParser(html: string): SafetyVerdict {
  const fragment = parseFragment(html);
  const stack: DefaultTreeAdapterTypes.ParentNode[] = [fragment];
  while (stack.length > 0) {
    const parent = stack.pop()!;
    for (const node of parent.childNodes) {
      if (!('tagName' in node)) continue;
      const tag = node.tagName.toLowerCase();
      if (!ALLOWED_TAGS.has(tag)) return unsafe(`<${tag}> is not an allowed element`);
      for (const attribute of node.attrs) {
        const name = (
          attribute.prefix ? `${attribute.prefix}:${attribute.name}` : attribute.name
        ).toLowerCase();
        const reason = attributeViolation(tag, name, attribute.value);
        if (reason !== undefined) return unsafe(reason);
      }
      stack.push(node);
      if (tag === 'template') stack.push((node as DefaultTreeAdapterTypes.Template).content);
    }
  }
  return { compliant: true };
}

function unsafe(reason: string): SafetyVerdict {
  return { compliant: false, reason };
}

/** Why an attribute breaks the rules, or undefined when it is fine. */
function attributeViolation(tag: string, name: string, value: string): string | undefined {
  if (name.startsWith('on')) return `${tag}[${name}] is an inline event handler`;
  if (FORBIDDEN_ATTRIBUTES.has(name))
    return `${tag}[${name}] is not allowed (Tailwind classes only)`;
  if (name === 'class') {
    const token = firstNonTailwindClass(value);
    return token === undefined
      ? undefined
      : `${tag}[class] "${token.slice(0, 80)}" is not a Tailwind utility class`;
  }
  if (URL_ATTRIBUTES.has(name)) {
    const urls = name === 'srcset' ? srcsetUrls(value) : [value];
    for (const url of urls) {
      const scheme = urlScheme(url);
      if (scheme === undefined || SAFE_SCHEMES.has(scheme)) continue;
      if (
        scheme === 'data' &&
        (name === 'src' || name === 'srcset') &&
        SAFE_DATA_IMAGE.test(normalizeUrl(url).toLowerCase())
      )
        continue;
      return `${tag}[${name}] uses the ${scheme}: scheme`;
    }
  }
  return undefined;
}

const CLASS_CACHE_LIMIT = 20_000;
const classCache = new Map<string, string | null>();

/**
 * The first token of a class attribute that is not a Tailwind class. Whole attribute values are
 * cached (bounded), since generated markup repeats the same class lists.
 */
function firstNonTailwindClass(value: string): string | undefined {
  const cached = classCache.get(value);
  if (cached !== undefined) return cached ?? undefined;
  let found: string | null = null;
  for (const token of value.split(HTML_WHITESPACE)) {
    if (token !== '' && !isTailwindClass(token)) {
      found = token;
      break;
    }
  }
  if (classCache.size >= CLASS_CACHE_LIMIT) classCache.clear();
  classCache.set(value, found);
  return found ?? undefined;
}

/** The URL parser's view: controls and spaces trimmed, tabs and newlines removed anywhere. */
function normalizeUrl(url: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: C0 controls are what the URL parser trims.
  return url.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '').replace(/[\t\n\r]/g, '');
}

function urlScheme(url: string): string | undefined {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(normalizeUrl(url));
  return match ? match[1]!.toLowerCase() : undefined;
}

function srcsetUrls(value: string): string[] {
  return value
    .split(',')
    .map((candidate) => candidate.trim().split(/[\t\n\f\r ]+/)[0] ?? '')
    .filter((url) => url !== '');
}

// ------------------------------------------------------------------------------------------
// Fast path. It answers "compliant" only for markup in a strict subset where the HTML
// tokenizer's output is evident: text without '<' (except tags) and without NUL or CR; start
// tags `<name attr="v" attr='v' attr=v attr>` with lower-case-able ASCII names and attribute
// values free of '&' (no character references to decode); plain end tags; no comments,
// doctypes, CDATA or processing instructions; no element whose content the tokenizer reads as
// raw text (script, style, textarea, title, ...). Within that subset parse5 builds exactly
// these elements and attributes (plus implied tbody/tr/colgroup, which are allowed), so a
// "compliant" here is parse5's "compliant". Everything else returns false and parse5 decides.
// ------------------------------------------------------------------------------------------

const START_TAG = /<([A-Za-z][A-Za-z0-9-]*)/y;
const ATTRIBUTE =
  /[\t\n\f ]+([A-Za-z_:][A-Za-z0-9_:.-]*)(?:[\t\n\f ]*=[\t\n\f ]*(?:"([^"&]*)"|'([^'&]*)'|([^\t\n\f "'=<>`&]+)))?/y;
const TAG_END = /[\t\n\f ]*\/?>/y;
const END_TAG = /<\/([A-Za-z][A-Za-z0-9-]*)[\t\n\f ]*>/y;
const RAW_TEXT_TAGS = new Set([
  'script',
  'style',
  'textarea',
  'title',
  'xmp',
  'iframe',
  'noembed',
  'noframes',
  'noscript',
  'plaintext',
]);

function fastPathCompliant(html: string): boolean {
  if (html.includes('\u0000') || html.includes('\r')) return false;
  let position = 0;
  for (;;) {
    const open = html.indexOf('<', position);
    if (open === -1) return true;
    if (html.charCodeAt(open + 1) === 47 /* / */) {
      END_TAG.lastIndex = open;
      if (END_TAG.exec(html) === null) return false;
      position = END_TAG.lastIndex;
      continue;
    }
    START_TAG.lastIndex = open;
    const start = START_TAG.exec(html);
    if (start === null) return false;
    const tag = start[1]!.toLowerCase();
    if (!ALLOWED_TAGS.has(tag) || RAW_TEXT_TAGS.has(tag)) return false;
    let cursor = START_TAG.lastIndex;
    for (;;) {
      TAG_END.lastIndex = cursor;
      if (TAG_END.exec(html) !== null) {
        cursor = TAG_END.lastIndex;
        break;
      }
      ATTRIBUTE.lastIndex = cursor;
      const attribute = ATTRIBUTE.exec(html);
      if (attribute === null) return false;
      const value = attribute[2] ?? attribute[3] ?? attribute[4] ?? '';
      if (attributeViolation(tag, attribute[1]!.toLowerCase(), value) !== undefined) return false;
      cursor = ATTRIBUTE.lastIndex;
    }
    position = cursor;
  }
}
