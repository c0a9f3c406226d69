import htm from 'htm';
import { h } from 'preact';

/**
 * Tagged templates for Preact elements: the pages are written as `html\`<p>${text}</p>\``, so
 * the console needs no JSX step and no second JSX runtime beside hono/jsx.
 */
export const html = htm.bind(h);
