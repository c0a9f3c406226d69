import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkHtmlSafety, checkHtmlSafetyWithParser } from './html-safety.ts';

const SAFE_SECTION =
  '<section class="bg-gradient-to-br from-slate-900 to-slate-700 px-6 py-24 text-center text-white"><h1 class="text-4xl font-bold tracking-tight sm:text-6xl">Bakery &amp; Co</h1><p class="mx-auto mt-6 max-w-2xl text-lg">Fresh bread © 2026</p><a href="#contact" class="mt-10 inline-block rounded-md bg-white px-6 py-3 hover:bg-slate-100">Get started</a><img src="https://cdn.example/a.webp" alt="" class="h-10 w-10"><form action="/subscribe" class="grid gap-4"><input type="email" class="rounded border px-3 py-2" required><button type="submit" class="rounded bg-slate-900 px-4 py-2 text-white">Send</button></form><svg class="h-6 w-6" fill="none" viewBox="0 0 24 24" stroke="currentColor"><path stroke-linecap="round" d="M5 13l4 4L19 7"/></svg></section>';

describe('checkHtmlSafety', () => {
  it('accepts a typical generated section', () => {
    expect(checkHtmlSafety(SAFE_SECTION)).toEqual({ compliant: true });
  });

  it.each([
    ['<script>alert(1)</script>', '<script> is not an allowed element'],
    [
      '<div class="p-4"><SCRIPT src="https://x/y.js"></SCRIPT></div>',
      '<script> is not an allowed element',
    ],
    ['<iframe src="https://example.com"></iframe>', '<iframe> is not an allowed element'],
    ['<object data="x.swf"></object>', '<object> is not an allowed element'],
    ['<embed src="x.swf">', '<embed> is not an allowed element'],
    ['<style>body{}</style>', '<style> is not an allowed element'],
    ['<link rel="stylesheet" href="x.css">', '<link> is not an allowed element'],
    ['<marquee>hi</marquee>', '<marquee> is not an allowed element'],
    ['<img src="x" onerror="alert(1)">', 'img[onerror] is an inline event handler'],
    ['<button ONCLICK="go()">x</button>', 'button[onclick] is an inline event handler'],
    ['<svg onload="alert(1)"></svg>', 'svg[onload] is an inline event handler'],
    ['<a href="javascript:alert(1)">x</a>', 'a[href] uses the javascript: scheme'],
    ['<a href=" JaVaScRiPt:alert(1)">x</a>', 'a[href] uses the javascript: scheme'],
    ['<a href="java\tscript:alert(1)">x</a>', 'a[href] uses the javascript: scheme'],
    ['<a href="&#106;avascript:alert(1)">x</a>', 'a[href] uses the javascript: scheme'],
    ['<a href="jav&#x09;ascript:alert(1)">x</a>', 'a[href] uses the javascript: scheme'],
    ['<form action="javascript:steal()"></form>', 'form[action] uses the javascript: scheme'],
    [
      '<button formaction="javascript:x()">x</button>',
      'button[formaction] uses the javascript: scheme',
    ],
    ['<a href="vbscript:msgbox(1)">x</a>', 'a[href] uses the vbscript: scheme'],
    ['<a href="data:text/html,<script>alert(1)</script>">x</a>', 'a[href] uses the data: scheme'],
    ['<img src="data:image/svg+xml;base64,PHN2Zz4=">', 'img[src] uses the data: scheme'],
    ['<img srcset="a.png 1x, javascript:alert(1) 2x">', 'img[srcset] uses the javascript: scheme'],
    [
      '<svg><a xlink:href="javascript:alert(1)">x</a></svg>',
      'a[xlink:href] uses the javascript: scheme',
    ],
    ['<div style="color:red">x</div>', 'div[style] is not allowed (Tailwind classes only)'],
    [
      '<div class="p-4 btn-primary">x</div>',
      'div[class] "btn-primary" is not a Tailwind utility class',
    ],
    [
      '<p class="bg-[url(https://evil.example/t.gif)]">x</p>',
      'p[class] "bg-[url(https://evil.example/t.gif)]" is not a Tailwind utility class',
    ],
  ])('rejects %s', (html, reason) => {
    expect(checkHtmlSafety(html)).toEqual({ compliant: false, reason });
  });

  it('accepts safe URLs, data images and markup only the parser can read', () => {
    for (const html of [
      '<a href="mailto:hi@example.com">mail</a><a href="tel:+123">call</a><a href="/about">about</a>',
      '<img src="data:image/png;base64,iVBORw0KGgo=">',
      '<!-- a comment --><p class="mt-2">a &lt; b</p>',
      '<p>1 < 2 and 3 > 2</p>',
      '<table class="w-full"><tr><td>cell</td></tr></table>',
      '<a href="https://example.com/?a=1&amp;b=2" class="underline">link</a>',
    ]) {
      expect(checkHtmlSafety(html), html).toEqual({ compliant: true });
    }
  });

  it('reads text that only looks like markup as text, as a browser does', () => {
    // Inside a comment the script is inert, so it is no violation.
    expect(checkHtmlSafety('<!-- <script>alert(1)</script> --><p>ok</p>')).toEqual({
      compliant: true,
    });
    // An attribute value holding "<script>" is just a value.
    expect(checkHtmlSafety('<span title="<script>alert(1)</script>">x</span>')).toEqual({
      compliant: true,
    });
  });

  it('gives the parser’s verdict whatever the fast path decides (random markup)', () => {
    const tag = fc.constantFrom(
      'div',
      'p',
      'a',
      'img',
      'span',
      'script',
      'svg',
      'path',
      'table',
      'tr',
      'td',
      'textarea',
      'iframe',
      'DIV',
      'title',
      'select',
      'option',
      'image',
      'body',
    );
    const name = fc.constantFrom(
      'class',
      'href',
      'src',
      'onclick',
      'onerror',
      'style',
      'title',
      'xlink:href',
      'srcset',
      'id',
      'CLASS',
      'action',
      'data-x',
    );
    const value = fc.constantFrom(
      'p-4 text-sm',
      'btn',
      'javascript:alert(1)',
      ' java\nscript:x',
      '&#106;avascript:x',
      'https://example.com',
      '#top',
      'a &amp; b',
      '<script>',
      'hover:bg-red-500',
      '',
      'data:image/png;base64,AA',
      '"',
      "'",
    );
    const attribute = fc
      .tuple(
        name,
        value,
        fc.constantFrom('"', "'", '', 'none'),
        fc.constantFrom(' ', '\n', '  ', '\t', ''),
      )
      .map(([attributeName, attributeValue, quote, space]) =>
        quote === 'none'
          ? `${space}${attributeName}`
          : `${space}${attributeName}=${quote}${attributeValue}${quote}`,
      );
    const text = fc.constantFrom(
      'hello',
      'a < b',
      '1 > 0',
      '&amp;',
      '<!-- c -->',
      '<!-- <script>x</script> -->',
      '<![CDATA[<img onerror=x>]]>',
      '</p>',
      '<',
      '\u0000',
      '\r\n',
      '<?php ?>',
      '</br>',
    );
    const element = fc
      .tuple(
        tag,
        fc.array(attribute, { maxLength: 3 }),
        fc.constantFrom('>', '/>', ' >', ''),
        text,
        fc.boolean(),
      )
      .map(
        ([tagName, attributes, end, inner, close]) =>
          `<${tagName}${attributes.join('')}${end}${inner}${close ? `</${tagName}>` : ''}`,
      );
    fc.assert(
      fc.property(fc.array(fc.oneof(element, text), { minLength: 1, maxLength: 6 }), (parts) => {
        const html = parts.join('');
        expect(checkHtmlSafety(html)).toEqual(checkHtmlSafetyWithParser(html));
      }),
      { numRuns: 2_000 },
    );
  });
});
