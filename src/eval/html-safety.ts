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

const TOKEN_CACHE_LIMIT = 10_000;
/** Tailwind verdicts per class token: a few hundred distinct tokens make up generated markup. */
const tokenVerdicts = new Map<string, boolean>();

/** HTML whitespace other than the space, which rarely separates class tokens. */
const OTHER_WHITESPACE = /[\t\n\f\r]/;
const HTML_WHITESPACE = /[\t\n\f\r ]+/;

/**
 * The first token of a class attribute that is not a Tailwind class. Tokens are cut at spaces
 * with indexOf (a native scan) when the list has no other whitespace, the usual case.
 */
function firstNonTailwindClass(value: string): string | undefined {
  if (OTHER_WHITESPACE.test(value)) {
    return value.split(HTML_WHITESPACE).find((token) => token !== '' && !isTailwindToken(token));
  }
  const end = value.length;
  let at = 0;
  while (at < end) {
    let next = value.indexOf(' ', at);
    if (next === -1) next = end;
    if (next > at) {
      const token = value.slice(at, next);
      if (!isTailwindToken(token)) return token;
    }
    at = next + 1;
  }
  return undefined;
}

/** {@link isTailwindClass}, cached per token. */
function isTailwindToken(token: string): boolean {
  let verdict = tokenVerdicts.get(token);
  if (verdict === undefined) {
    verdict = isTailwindClass(token);
    if (tokenVerdicts.size >= TOKEN_CACHE_LIMIT) tokenVerdicts.clear();
    tokenVerdicts.set(token, verdict);
  }
  return verdict;
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

// The scanner reads character codes rather than running regular expressions: it is the inner
// loop of `genloop eval run` (several sections per generated site), and sparing a match object
// per tag and attribute took about a fifth off the whole check on generated sites (bench/eval).
// The grammar it accepts, in regex terms:
//   start tag  <([A-Za-z][A-Za-z0-9-]*)  then attributes, then  [\t\n\f ]*\/?>
//   attribute  [\t\n\f ]+([A-Za-z_:][A-Za-z0-9_:.-]*)
//              (?:[\t\n\f ]*=[\t\n\f ]*(?:"([^"&]*)"|'([^'&]*)'|([^\t\n\f "'=<>`&]+)))?
//   end tag    <\/([A-Za-z][A-Za-z0-9-]*)[\t\n\f ]*>

const TAB = 9;
const LINE_FEED = 10;
const FORM_FEED = 12;
const SPACE = 32;
const DOUBLE_QUOTE = 34;
const AMPERSAND = 38;
const SINGLE_QUOTE = 39;
const HYPHEN = 45;
const DOT = 46;
const SLASH = 47;
const COLON = 58;
const LESS_THAN = 60;
const EQUALS = 61;
const GREATER_THAN = 62;
const UNDERSCORE = 95;
const BACKTICK = 96;

function isSpace(code: number): boolean {
  return code === SPACE || code === LINE_FEED || code === TAB || code === FORM_FEED;
}

function isLetter(code: number): boolean {
  const lower = code | 32;
  return lower >= 97 && lower <= 122;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isTagNameChar(code: number): boolean {
  return isLetter(code) || isDigit(code) || code === HYPHEN;
}

function isAttributeNameStart(code: number): boolean {
  return isLetter(code) || code === UNDERSCORE || code === COLON;
}

function isAttributeNameChar(code: number): boolean {
  return isAttributeNameStart(code) || isDigit(code) || code === DOT || code === HYPHEN;
}

function isUnquotedValueChar(code: number): boolean {
  return !(
    Number.isNaN(code) ||
    isSpace(code) ||
    code === DOUBLE_QUOTE ||
    code === SINGLE_QUOTE ||
    code === EQUALS ||
    code === LESS_THAN ||
    code === GREATER_THAN ||
    code === BACKTICK ||
    code === AMPERSAND
  );
}

/** The index after the name that starts at `from`, or -1 when no tag name starts there. */
function tagNameEnd(html: string, from: number): number {
  if (!isLetter(html.charCodeAt(from))) return -1;
  let end = from + 1;
  while (isTagNameChar(html.charCodeAt(end))) end++;
  return end;
}

function skipSpaces(html: string, from: number): number {
  let at = from;
  while (isSpace(html.charCodeAt(at))) at++;
  return at;
}

function fastPathCompliant(html: string): boolean {
  if (html.includes('\u0000') || html.includes('\r')) return false;
  let position = 0;
  for (;;) {
    const open = html.indexOf('<', position);
    if (open === -1) return true;
    if (html.charCodeAt(open + 1) === SLASH) {
      const nameEnd = tagNameEnd(html, open + 2);
      if (nameEnd === -1) return false;
      const close = skipSpaces(html, nameEnd);
      if (html.charCodeAt(close) !== GREATER_THAN) return false;
      position = close + 1;
      continue;
    }
    const nameEnd = tagNameEnd(html, open + 1);
    if (nameEnd === -1) return false;
    const tag = html.slice(open + 1, nameEnd).toLowerCase();
    if (!ALLOWED_TAGS.has(tag) || RAW_TEXT_TAGS.has(tag)) return false;
    const end = attributesEnd(html, nameEnd, tag);
    if (end === -1) return false;
    position = end;
  }
}

/**
 * Reads the attributes of a start tag from `from` (just after its name) through its closing `>`
 * or `/>`, checking each one; the index after the tag, or -1 when the tag is outside the fast
 * path's grammar or an attribute breaks the rules.
 */
function attributesEnd(html: string, from: number, tag: string): number {
  let cursor = from;
  for (;;) {
    // The end of the tag: spaces, an optional '/', then '>'.
    let at = skipSpaces(html, cursor);
    if (html.charCodeAt(at) === SLASH) at++;
    if (html.charCodeAt(at) === GREATER_THAN) return at + 1;
    // Otherwise an attribute: at least one space, then its name.
    const nameStart = skipSpaces(html, cursor);
    if (nameStart === cursor || !isAttributeNameStart(html.charCodeAt(nameStart))) return -1;
    let nameEnd = nameStart + 1;
    while (isAttributeNameChar(html.charCodeAt(nameEnd))) nameEnd++;
    let value = '';
    cursor = nameEnd;
    const equals = skipSpaces(html, nameEnd);
    if (html.charCodeAt(equals) === EQUALS) {
      const valueStart = skipSpaces(html, equals + 1);
      const quote = html.charCodeAt(valueStart);
      if (quote === DOUBLE_QUOTE || quote === SINGLE_QUOTE) {
        const closing = html.indexOf(quote === DOUBLE_QUOTE ? '"' : "'", valueStart + 1);
        if (closing === -1) return -1;
        value = html.slice(valueStart + 1, closing);
        if (value.includes('&')) return -1;
        cursor = closing + 1;
      } else {
        let valueEnd = valueStart;
        while (isUnquotedValueChar(html.charCodeAt(valueEnd))) valueEnd++;
        // No value after '=': the '=' is left where the next attribute must start, which fails.
        if (valueEnd === valueStart) return -1;
        value = html.slice(valueStart, valueEnd);
        cursor = valueEnd;
      }
    }
    const name = html.slice(nameStart, nameEnd).toLowerCase();
    if (attributeViolation(tag, name, value) !== undefined) return -1;
  }
}
