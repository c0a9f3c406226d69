/**
 * Tailwind utility class validation for the `safety_html_tailwind_compliance` metric.
 *
 * The rule (also in docs/evals.md): a class token is accepted when, after removing
 *   1. its variants (`md:`, `hover:`, `dark:`, `group-hover:`, `aria-checked:`, `data-[x]:`,
 *      `min-[640px]:`, `[&>p]:`, ... split at top-level colons),
 *   2. an important marker (`!` in front, Tailwind 3, or at the end, Tailwind 4),
 *   3. a leading `-` (negative values),
 * what is left is either a known static utility (`flex`, `hidden`, `sr-only`, ...), a known
 * utility prefix followed by a value of a family that prefix takes (`mt-4`, `w-1/2`,
 * `bg-indigo-600/50`, `text-lg/7`, `grid-cols-3`), an arbitrary value in brackets
 * (`w-[37rem]`, `bg-[#1da1f2]`), or an arbitrary property (`[mask-type:luminance]`).
 *
 * Arbitrary values and selectors may only use a safe character set: no quotes, backslashes,
 * semicolons, braces or angle brackets, and no `url(` (so a class cannot load a resource or
 * smuggle CSS). Anything else — `btn-primary`, `my-card`, `foo` — is not a Tailwind utility.
 */

const ARBITRARY_CONTENT = /^[A-Za-z0-9#%.,_()+\-*/:!&>~=@^$|[\]]*$/;

const COLORS = new Set([
  'slate',
  'gray',
  'zinc',
  'neutral',
  'stone',
  'red',
  'orange',
  'amber',
  'yellow',
  'lime',
  'green',
  'emerald',
  'teal',
  'cyan',
  'sky',
  'blue',
  'indigo',
  'violet',
  'purple',
  'fuchsia',
  'pink',
  'rose',
  'taupe',
  'mauve',
  'mist',
  'olive',
]);
const SHADES = new Set([
  '50',
  '100',
  '200',
  '300',
  '400',
  '500',
  '600',
  '700',
  '800',
  '900',
  '950',
]);
const SPECIAL_COLORS = new Set(['inherit', 'current', 'transparent', 'black', 'white']);

const BREAKPOINTS = ['sm', 'md', 'lg', 'xl', '2xl'];
const NAMED_SIZES = [
  '3xs',
  '2xs',
  'xs',
  'sm',
  'md',
  'lg',
  'xl',
  '2xl',
  '3xl',
  '4xl',
  '5xl',
  '6xl',
  '7xl',
];

const STATIC_VARIANTS = new Set([
  ...BREAKPOINTS,
  ...BREAKPOINTS.map((bp) => `max-${bp}`),
  '@sm',
  '@md',
  '@lg',
  '@xl',
  '@2xl',
  '@3xl',
  '@4xl',
  '@5xl',
  '@6xl',
  '@7xl',
  'dark',
  'light',
  'print',
  'rtl',
  'ltr',
  'portrait',
  'landscape',
  'motion-safe',
  'motion-reduce',
  'contrast-more',
  'contrast-less',
  'forced-colors',
  'inverted-colors',
  'pointer-fine',
  'pointer-coarse',
  'pointer-none',
  'any-pointer-fine',
  'any-pointer-coarse',
  'noscript',
  'starting',
  '*',
  '**',
  ...pseudoVariants(),
]);

/** Pseudo-class and pseudo-element variants; `group-*`, `peer-*`, `not-*`, ... compose them. */
function pseudoVariants(): string[] {
  return [
    'hover',
    'focus',
    'focus-within',
    'focus-visible',
    'active',
    'visited',
    'target',
    'first',
    'last',
    'only',
    'odd',
    'even',
    'first-of-type',
    'last-of-type',
    'only-of-type',
    'empty',
    'disabled',
    'enabled',
    'checked',
    'indeterminate',
    'default',
    'required',
    'valid',
    'invalid',
    'user-valid',
    'user-invalid',
    'in-range',
    'out-of-range',
    'placeholder-shown',
    'autofill',
    'read-only',
    'open',
    'inert',
    'details-content',
    'before',
    'after',
    'placeholder',
    'file',
    'marker',
    'selection',
    'first-line',
    'first-letter',
    'backdrop',
  ];
}
const PSEUDO_VARIANTS = new Set(pseudoVariants());

const STATIC_UTILITIES = new Set([
  'container',
  'block',
  'inline-block',
  'inline',
  'flex',
  'inline-flex',
  'grid',
  'inline-grid',
  'contents',
  'table',
  'inline-table',
  'table-caption',
  'table-cell',
  'table-column',
  'table-column-group',
  'table-footer-group',
  'table-header-group',
  'table-row-group',
  'table-row',
  'flow-root',
  'list-item',
  'hidden',
  'sr-only',
  'not-sr-only',
  'static',
  'fixed',
  'absolute',
  'relative',
  'sticky',
  'visible',
  'invisible',
  'collapse',
  'isolate',
  'truncate',
  'italic',
  'not-italic',
  'underline',
  'overline',
  'line-through',
  'no-underline',
  'uppercase',
  'lowercase',
  'capitalize',
  'normal-case',
  'antialiased',
  'subpixel-antialiased',
  'ordinal',
  'slashed-zero',
  'lining-nums',
  'oldstyle-nums',
  'proportional-nums',
  'tabular-nums',
  'diagonal-fractions',
  'stacked-fractions',
  'normal-nums',
  'grow',
  'shrink',
  'transform',
  'transform-gpu',
  'transform-cpu',
  'transform-none',
  'transition',
  'border',
  'rounded',
  'shadow',
  'ring',
  'ring-inset',
  'outline',
  'blur',
  'grayscale',
  'invert',
  'sepia',
  'drop-shadow',
  'filter',
  'backdrop-filter',
  'backdrop-blur',
  'backdrop-grayscale',
  'backdrop-invert',
  'backdrop-sepia',
  'resize',
  'box-border',
  'box-content',
  'break-normal',
  'break-words',
  'break-all',
  'break-keep',
  'prose',
  'group',
  'peer',
  'divide-x',
  'divide-y',
  'divide-x-reverse',
  'divide-y-reverse',
  'space-x-reverse',
  'space-y-reverse',
  'border-x',
  'border-y',
  'border-s',
  'border-e',
  'border-t',
  'border-r',
  'border-b',
  'border-l',
  'rounded-s',
  'rounded-e',
  'rounded-t',
  'rounded-r',
  'rounded-b',
  'rounded-l',
  'rounded-tl',
  'rounded-tr',
  'rounded-br',
  'rounded-bl',
  'rounded-ss',
  'rounded-se',
  'rounded-ee',
  'rounded-es',
  'bg-clip-text',
  'bg-clip-border',
  'bg-clip-padding',
  'bg-clip-content',
  'appearance-none',
  'appearance-auto',
  'pointer-events-none',
  'pointer-events-auto',
  'select-none',
  'select-text',
  'select-all',
  'select-auto',
  'scroll-smooth',
  'scroll-auto',
  'snap-start',
  'snap-end',
  'snap-center',
  'snap-align-none',
  'snap-normal',
  'snap-always',
  'snap-none',
  'snap-x',
  'snap-y',
  'snap-both',
  'snap-mandatory',
  'snap-proximity',
  'touch-auto',
  'touch-none',
  'touch-manipulation',
  'touch-pan-x',
  'touch-pan-y',
  'will-change-auto',
  'will-change-scroll',
  'will-change-contents',
  'will-change-transform',
  'text-balance',
  'text-pretty',
  'text-wrap',
  'text-nowrap',
  'text-ellipsis',
  'text-clip',
  'bg-fixed',
  'bg-local',
  'bg-scroll',
  'bg-repeat',
  'bg-no-repeat',
  'bg-repeat-x',
  'bg-repeat-y',
  'bg-repeat-round',
  'bg-repeat-space',
  'bg-none',
  'decoration-solid',
  'decoration-double',
  'decoration-dotted',
  'decoration-dashed',
  'decoration-wavy',
  'decoration-slice',
  'decoration-clone',
  'box-decoration-slice',
  'box-decoration-clone',
  'mix-blend-normal',
  'mix-blend-multiply',
  'mix-blend-screen',
  'mix-blend-overlay',
  'mix-blend-darken',
  'mix-blend-lighten',
  'bg-blend-normal',
  'bg-blend-multiply',
  'bg-blend-overlay',
  'border-solid',
  'border-dashed',
  'border-dotted',
  'border-double',
  'border-hidden',
  'border-none',
  'border-collapse',
  'border-separate',
  'outline-none',
  'outline-hidden',
  'outline-dashed',
  'outline-dotted',
  'outline-double',
  'forced-color-adjust-auto',
  'forced-color-adjust-none',
  'field-sizing-content',
  'field-sizing-fixed',
  'not-prose',
  '@container',
  'bg-radial',
  'bg-conic',
  'size-full',
]);

/** Values that are not a family: a prefix takes one of these words as its value. */
const KEYWORDS: Record<string, string[]> = {
  float: ['left', 'right', 'start', 'end', 'none'],
  clear: ['left', 'right', 'both', 'none', 'start', 'end'],
  object: [
    'contain',
    'cover',
    'fill',
    'none',
    'scale-down',
    'bottom',
    'center',
    'left',
    'left-bottom',
    'left-top',
    'right',
    'right-bottom',
    'right-top',
    'top',
  ],
  overflow: ['auto', 'hidden', 'clip', 'visible', 'scroll'],
  overscroll: ['auto', 'contain', 'none'],
  flexDirection: ['row', 'row-reverse', 'col', 'col-reverse', 'wrap', 'wrap-reverse', 'nowrap'],
  flexShorthand: ['1', 'auto', 'initial', 'none'],
  justify: [
    'normal',
    'start',
    'end',
    'center',
    'between',
    'around',
    'evenly',
    'stretch',
    'baseline',
    'center-safe',
    'end-safe',
  ],
  items: ['start', 'end', 'center', 'baseline', 'stretch', 'center-safe', 'end-safe'],
  content: [
    'normal',
    'center',
    'start',
    'end',
    'between',
    'around',
    'evenly',
    'baseline',
    'stretch',
    'none',
  ],
  self: ['auto', 'start', 'end', 'center', 'stretch', 'baseline'],
  place: ['start', 'end', 'center', 'between', 'around', 'evenly', 'baseline', 'stretch', 'auto'],
  gridFlow: ['row', 'col', 'dense', 'row-dense', 'col-dense'],
  span: ['auto', 'full'],
  auto: ['auto', 'min', 'max', 'fr'],
  size: [
    'auto',
    'full',
    'screen',
    'svw',
    'lvw',
    'dvw',
    'svh',
    'lvh',
    'dvh',
    'min',
    'max',
    'fit',
    'px',
    'none',
    'prose',
    'lh',
    ...NAMED_SIZES,
    ...BREAKPOINTS.map((bp) => `screen-${bp}`),
  ],
  fontSize: ['base', ...NAMED_SIZES, '8xl', '9xl'],
  fontWeight: [
    'thin',
    'extralight',
    'light',
    'normal',
    'medium',
    'semibold',
    'bold',
    'extrabold',
    'black',
  ],
  fontFamily: ['sans', 'serif', 'mono'],
  textAlign: ['left', 'center', 'right', 'justify', 'start', 'end'],
  tracking: ['tighter', 'tight', 'normal', 'wide', 'wider', 'widest'],
  leading: ['none', 'tight', 'snug', 'normal', 'relaxed', 'loose'],
  list: ['none', 'disc', 'decimal', 'inside', 'outside'],
  decoration: ['auto', 'from-font'],
  whitespace: ['normal', 'nowrap', 'pre', 'pre-line', 'pre-wrap', 'break-spaces'],
  align: ['baseline', 'top', 'middle', 'bottom', 'text-top', 'text-bottom', 'sub', 'super'],
  bgPosition: [
    'bottom',
    'center',
    'left',
    'left-bottom',
    'left-top',
    'right',
    'right-bottom',
    'right-top',
    'top',
    'bottom-left',
    'bottom-right',
    'top-left',
    'top-right',
  ],
  bgSize: ['auto', 'cover', 'contain'],
  direction: ['to-t', 'to-tr', 'to-r', 'to-br', 'to-b', 'to-bl', 'to-l', 'to-tl'],
  radius: ['none', 'full', ...NAMED_SIZES],
  shadow: ['none', 'inner', ...NAMED_SIZES],
  ease: ['linear', 'in', 'out', 'in-out', 'initial'],
  transition: ['none', 'all', 'colors', 'opacity', 'shadow', 'transform', 'discrete'],
  animate: ['none', 'spin', 'ping', 'pulse', 'bounce'],
  cursor: [
    'auto',
    'default',
    'pointer',
    'wait',
    'text',
    'move',
    'help',
    'not-allowed',
    'none',
    'progress',
    'cell',
    'crosshair',
    'grab',
    'grabbing',
    'zoom-in',
    'zoom-out',
    'col-resize',
    'row-resize',
  ],
  origin: [
    'center',
    'top',
    'top-right',
    'right',
    'bottom-right',
    'bottom',
    'bottom-left',
    'left',
    'top-left',
  ],
  aspect: ['auto', 'square', 'video'],
  columns: ['auto', ...NAMED_SIZES],
  blur: ['none', ...NAMED_SIZES],
  line: ['clamp-none'],
  borderWidth: ['px'],
  outlineStyle: ['none', 'dashed', 'dotted', 'double', 'solid', 'hidden'],
  zIndex: ['auto'],
  order: ['first', 'last', 'none'],
  basis: ['auto', 'full', 'px', ...NAMED_SIZES],
  textShadow: ['none', ...NAMED_SIZES],
  inset: ['auto', 'full', 'px'],
  break: ['auto', 'avoid', 'all', 'avoid-page', 'page', 'left', 'right', 'column'],
  accent: ['auto'],
  fill: ['none'],
  stroke: ['none'],
  contentNone: ['none'],
  marginAuto: ['auto'],
  fillNone: ['none', 'subgrid'],
  prose: ['sm', 'base', 'lg', 'xl', '2xl', 'invert', 'slate', 'gray', 'zinc', 'neutral', 'stone'],
  isolation: ['auto'],
  hyphens: ['none', 'manual', 'auto'],
  indent: ['px'],
  lineClamp: ['none'],
  table: ['auto', 'fixed'],
  caption: ['top', 'bottom'],
  underlineOffset: ['auto'],
  mask: ['none'],
  perspective: ['dramatic', 'near', 'normal', 'midrange', 'distant', 'none'],
};

type Family =
  | 'number'
  | 'fraction'
  | 'spacing'
  | 'color'
  | 'integer'
  | 'percent'
  | 'arbitrary'
  | `keywords:${string}`;

interface PrefixRule {
  families: readonly Family[];
  /** A `-` in front is allowed (margins, inset, translate, rotate, z-index, ...). */
  negative?: boolean;
  /** A `/modifier` is allowed (color opacity, font-size line height). */
  modifier?: boolean;
}

const SPACING: readonly Family[] = ['spacing', 'arbitrary'];
const SIZING: readonly Family[] = ['spacing', 'fraction', 'keywords:size', 'arbitrary'];
const COLOR: readonly Family[] = ['color', 'arbitrary'];

const rule = (families: readonly Family[], extra: Omit<PrefixRule, 'families'> = {}) => ({
  families,
  ...extra,
});

/** Functional utilities: prefix → the value families it accepts. */
const PREFIXES = new Map<string, PrefixRule>([
  // spacing
  ...['m', 'mx', 'my', 'mt', 'mr', 'mb', 'ml', 'ms', 'me'].map(
    (prefix) => [prefix, rule([...SPACING, 'keywords:marginAuto'], { negative: true })] as const,
  ),
  ...['p', 'px', 'py', 'pt', 'pr', 'pb', 'pl', 'ps', 'pe'].map(
    (prefix) => [prefix, rule(SPACING)] as const,
  ),
  ...['space-x', 'space-y'].map((prefix) => [prefix, rule(SPACING, { negative: true })] as const),
  ...['gap', 'gap-x', 'gap-y'].map((prefix) => [prefix, rule(SPACING)] as const),
  // sizing
  ...['w', 'h', 'min-w', 'min-h', 'max-w', 'max-h', 'size'].map(
    (prefix) => [prefix, rule(SIZING)] as const,
  ),
  ['basis', rule(['spacing', 'fraction', 'keywords:basis', 'arbitrary'])],
  // layout
  ...['inset', 'inset-x', 'inset-y', 'top', 'right', 'bottom', 'left', 'start', 'end'].map(
    (prefix) =>
      [
        prefix,
        rule(['spacing', 'fraction', 'keywords:inset', 'arbitrary'], { negative: true }),
      ] as const,
  ),
  ['z', rule(['integer', 'keywords:zIndex', 'arbitrary'], { negative: true })],
  ['order', rule(['integer', 'keywords:order', 'arbitrary'], { negative: true })],
  ['float', rule(['keywords:float'])],
  ['clear', rule(['keywords:clear'])],
  ['object', rule(['keywords:object', 'arbitrary'])],
  ['overflow', rule(['keywords:overflow'])],
  ['overflow-x', rule(['keywords:overflow'])],
  ['overflow-y', rule(['keywords:overflow'])],
  ['overscroll', rule(['keywords:overscroll'])],
  ['overscroll-x', rule(['keywords:overscroll'])],
  ['overscroll-y', rule(['keywords:overscroll'])],
  ['aspect', rule(['keywords:aspect', 'fraction', 'arbitrary'])],
  ['columns', rule(['integer', 'keywords:columns', 'arbitrary'])],
  ['break-before', rule(['keywords:break'])],
  ['break-after', rule(['keywords:break'])],
  ['break-inside', rule(['keywords:break'])],
  ['isolation', rule(['keywords:isolation'])],
  // flexbox and grid
  ['flex', rule(['keywords:flexDirection', 'keywords:flexShorthand', 'fraction', 'arbitrary'])],
  ['grow', rule(['integer', 'arbitrary'])],
  ['shrink', rule(['integer', 'arbitrary'])],
  ['grid-cols', rule(['integer', 'keywords:fillNone', 'arbitrary'])],
  ['grid-rows', rule(['integer', 'keywords:fillNone', 'arbitrary'])],
  ['col-span', rule(['integer', 'keywords:span', 'arbitrary'])],
  ['row-span', rule(['integer', 'keywords:span', 'arbitrary'])],
  ['col-start', rule(['integer', 'keywords:zIndex', 'arbitrary'], { negative: true })],
  ['col-end', rule(['integer', 'keywords:zIndex', 'arbitrary'], { negative: true })],
  ['row-start', rule(['integer', 'keywords:zIndex', 'arbitrary'], { negative: true })],
  ['row-end', rule(['integer', 'keywords:zIndex', 'arbitrary'], { negative: true })],
  ['col', rule(['keywords:zIndex', 'arbitrary'])],
  ['row', rule(['keywords:zIndex', 'arbitrary'])],
  ['grid-flow', rule(['keywords:gridFlow'])],
  ['auto-cols', rule(['keywords:auto', 'arbitrary'])],
  ['auto-rows', rule(['keywords:auto', 'arbitrary'])],
  ['justify', rule(['keywords:justify'])],
  ['justify-items', rule(['keywords:items', 'keywords:self'])],
  ['justify-self', rule(['keywords:self'])],
  ['items', rule(['keywords:items'])],
  ['content', rule(['keywords:content', 'keywords:contentNone', 'arbitrary'])],
  ['self', rule(['keywords:self'])],
  ['place-content', rule(['keywords:place'])],
  ['place-items', rule(['keywords:place'])],
  ['place-self', rule(['keywords:place'])],
  // typography
  [
    'text',
    rule(['color', 'keywords:fontSize', 'keywords:textAlign', 'arbitrary'], { modifier: true }),
  ],
  ['font', rule(['keywords:fontWeight', 'keywords:fontFamily', 'arbitrary'])],
  ['tracking', rule(['keywords:tracking', 'arbitrary'], { negative: true })],
  ['leading', rule(['spacing', 'keywords:leading', 'arbitrary'])],
  ['line-clamp', rule(['integer', 'keywords:lineClamp', 'arbitrary'])],
  ['list', rule(['keywords:list', 'arbitrary'])],
  ['list-image', rule(['keywords:fill'])],
  ['decoration', rule(['color', 'integer', 'keywords:decoration', 'arbitrary'])],
  ['underline-offset', rule(['integer', 'keywords:underlineOffset', 'arbitrary'])],
  ['indent', rule(['spacing', 'arbitrary'], { negative: true })],
  ['align', rule(['keywords:align', 'arbitrary'])],
  ['whitespace', rule(['keywords:whitespace'])],
  ['hyphens', rule(['keywords:hyphens'])],
  ['placeholder', rule(COLOR, { modifier: true })],
  ['caret', rule(COLOR, { modifier: true })],
  ['accent', rule(['color', 'keywords:accent', 'arbitrary'], { modifier: true })],
  ['text-shadow', rule(['color', 'keywords:textShadow', 'arbitrary'], { modifier: true })],
  // backgrounds
  [
    'bg',
    rule(['color', 'keywords:bgPosition', 'keywords:bgSize', 'arbitrary'], { modifier: true }),
  ],
  ['bg-linear', rule(['keywords:direction', 'integer', 'arbitrary'], { negative: true })],
  ['bg-radial', rule(['arbitrary'])],
  ['bg-conic', rule(['integer', 'arbitrary'], { negative: true })],
  ['bg-gradient', rule(['keywords:direction'])],
  ...[
    'bg-opacity',
    'text-opacity',
    'border-opacity',
    'ring-opacity',
    'divide-opacity',
    'placeholder-opacity',
  ].map((prefix) => [prefix, rule(['integer', 'arbitrary'])] as const),
  ['prose', rule(['keywords:prose'])],
  ['from', rule(['color', 'percent', 'arbitrary'], { modifier: true })],
  ['via', rule(['color', 'percent', 'arbitrary'], { modifier: true })],
  ['to', rule(['color', 'percent', 'arbitrary'], { modifier: true })],
  // borders
  ...[
    'rounded',
    'rounded-s',
    'rounded-e',
    'rounded-t',
    'rounded-r',
    'rounded-b',
    'rounded-l',
    'rounded-ss',
    'rounded-se',
    'rounded-ee',
    'rounded-es',
    'rounded-tl',
    'rounded-tr',
    'rounded-br',
    'rounded-bl',
  ].map((prefix) => [prefix, rule(['keywords:radius', 'arbitrary'])] as const),
  ...[
    'border',
    'border-x',
    'border-y',
    'border-s',
    'border-e',
    'border-t',
    'border-r',
    'border-b',
    'border-l',
  ].map(
    (prefix) =>
      [
        prefix,
        rule(['integer', 'color', 'keywords:borderWidth', 'arbitrary'], { modifier: true }),
      ] as const,
  ),
  ['divide', rule(COLOR, { modifier: true })],
  ['divide-x', rule(['integer', 'arbitrary'])],
  ['divide-y', rule(['integer', 'arbitrary'])],
  ['outline', rule(['integer', 'color', 'keywords:outlineStyle', 'arbitrary'], { modifier: true })],
  ['outline-offset', rule(['integer', 'arbitrary'], { negative: true })],
  ['ring', rule(['integer', 'color', 'arbitrary'], { modifier: true })],
  ['ring-offset', rule(['integer', 'color', 'arbitrary'], { modifier: true })],
  ['inset-ring', rule(['integer', 'color', 'arbitrary'], { modifier: true })],
  // effects and filters
  ['shadow', rule(['keywords:shadow', 'color', 'arbitrary'], { modifier: true })],
  ['inset-shadow', rule(['keywords:shadow', 'color', 'arbitrary'], { modifier: true })],
  ['opacity', rule(['integer', 'arbitrary'])],
  ['mix-blend', rule(['arbitrary'])],
  ['blur', rule(['keywords:blur', 'arbitrary'])],
  ['backdrop-blur', rule(['keywords:blur', 'arbitrary'])],
  ['brightness', rule(['integer', 'arbitrary'])],
  ['backdrop-brightness', rule(['integer', 'arbitrary'])],
  ['contrast', rule(['integer', 'arbitrary'])],
  ['saturate', rule(['integer', 'arbitrary'])],
  ['grayscale', rule(['integer', 'arbitrary'])],
  ['invert', rule(['integer', 'arbitrary'])],
  ['sepia', rule(['integer', 'arbitrary'])],
  ['hue-rotate', rule(['integer', 'arbitrary'], { negative: true })],
  ['drop-shadow', rule(['keywords:shadow', 'color', 'arbitrary'], { modifier: true })],
  ['backdrop-opacity', rule(['integer', 'arbitrary'])],
  // transitions, animation, transforms
  ['transition', rule(['keywords:transition', 'arbitrary'])],
  ['duration', rule(['integer', 'arbitrary'])],
  ['delay', rule(['integer', 'arbitrary'])],
  ['ease', rule(['keywords:ease', 'arbitrary'])],
  ['animate', rule(['keywords:animate', 'arbitrary'])],
  ...['scale', 'scale-x', 'scale-y'].map(
    (prefix) => [prefix, rule(['integer', 'arbitrary'], { negative: true })] as const,
  ),
  ...['rotate', 'rotate-x', 'rotate-y', 'skew-x', 'skew-y'].map(
    (prefix) => [prefix, rule(['integer', 'arbitrary'], { negative: true })] as const,
  ),
  ...['translate-x', 'translate-y'].map(
    (prefix) =>
      [
        prefix,
        rule(['spacing', 'fraction', 'keywords:inset', 'arbitrary'], { negative: true }),
      ] as const,
  ),
  ['origin', rule(['keywords:origin', 'arbitrary'])],
  ['perspective', rule(['keywords:perspective', 'arbitrary'])],
  // interactivity, svg, tables, misc
  ['cursor', rule(['keywords:cursor', 'arbitrary'])],
  ['scroll-m', rule(SPACING, { negative: true })],
  ['scroll-mt', rule(SPACING, { negative: true })],
  ['scroll-mb', rule(SPACING, { negative: true })],
  ['scroll-p', rule(SPACING)],
  ['scroll-pt', rule(SPACING)],
  ['fill', rule(['color', 'keywords:fill', 'arbitrary'], { modifier: true })],
  ['stroke', rule(['color', 'integer', 'keywords:stroke', 'arbitrary'], { modifier: true })],
  ['table', rule(['keywords:table'])],
  ['caption', rule(['keywords:caption'])],
  ['border-spacing', rule(SPACING)],
  ['border-spacing-x', rule(SPACING)],
  ['border-spacing-y', rule(SPACING)],
  ['will-change', rule(['arbitrary'])],
  ['mask', rule(['keywords:mask', 'arbitrary'])],
  ['line', rule(['keywords:line'])],
]);

const NUMBER = /^\d+(?:\.\d+)?$/;
const INTEGER = /^\d+$/;
const FRACTION = /^\d+\/\d+$/;
const PERCENT = /^\d+(?:\.\d+)?%$/;

/** Lower bound on cached verdicts before the cache is cleared (keeps memory constant). */
const CACHE_LIMIT = 20_000;
const cache = new Map<string, boolean>();

/**
 * True when `token` is a Tailwind utility class (with any variants). Verdicts are cached, since
 * generated sites reuse a small vocabulary of classes.
 *
 * @example
 * isTailwindClass('md:hover:bg-indigo-600/90'); // true
 * isTailwindClass('btn-primary');               // false
 */
export function isTailwindClass(token: string): boolean {
  const cached = cache.get(token);
  if (cached !== undefined) return cached;
  const verdict = checkToken(token);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(token, verdict);
  return verdict;
}

function checkToken(token: string): boolean {
  if (token.length === 0 || token.length > 200) return false;
  const parts = splitTopLevel(token, ':');
  if (parts === undefined) return false;
  const utility = parts.pop()!;
  for (const variant of parts) if (!isVariant(variant)) return false;
  return isUtility(utility);
}

/** Splits at `separator` outside brackets and parentheses; undefined when they do not balance. */
function splitTopLevel(text: string, separator: string): string[] | undefined {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '[' || char === '(') depth++;
    else if (char === ']' || char === ')') {
      depth--;
      if (depth < 0) return undefined;
    } else if (char === separator && depth === 0) {
      parts.push(text.slice(start, index));
      start = index + 1;
    }
  }
  if (depth !== 0) return undefined;
  parts.push(text.slice(start));
  return parts;
}

function isArbitrary(value: string): boolean {
  if (value.length < 3) return false;
  const open = value[0];
  const close = value[value.length - 1];
  if (!((open === '[' && close === ']') || (open === '(' && close === ')'))) return false;
  const inner = value.slice(1, -1);
  if (inner.length === 0 || !ARBITRARY_CONTENT.test(inner)) return false;
  if (/url\(/i.test(inner) || /expression\(/i.test(inner)) return false;
  // `(--brand)` is Tailwind 4's shorthand for var(--brand).
  if (open === '(') return /^--[A-Za-z0-9_-]+$/.test(inner);
  return true;
}

function isVariant(variant: string): boolean {
  if (STATIC_VARIANTS.has(variant)) return true;
  if (isArbitrary(variant)) return variant.includes('&') || variant.startsWith('[@');
  const named = /^(group|peer)(?:-(.+?))?(?:\/[A-Za-z0-9_-]+)?$/.exec(variant);
  if (named) {
    const inner = named[2];
    return (
      inner === undefined || PSEUDO_VARIANTS.has(inner) || isDataOrAria(inner) || isArbitrary(inner)
    );
  }
  for (const prefix of ['not-', 'has-', 'in-']) {
    if (variant.startsWith(prefix)) {
      const inner = variant.slice(prefix.length);
      return PSEUDO_VARIANTS.has(inner) || isDataOrAria(inner) || isArbitrary(inner);
    }
  }
  if (isDataOrAria(variant)) return true;
  const bounded =
    /^(min|max|supports|nth|nth-last|nth-of-type|nth-last-of-type|@min|@max|@container)-(.+)$/.exec(
      variant,
    );
  if (bounded) return isArbitrary(bounded[2]!) || INTEGER.test(bounded[2]!);
  return false;
}

function isDataOrAria(variant: string): boolean {
  const match = /^(aria|data)-(.+)$/.exec(variant);
  if (!match) return false;
  return /^[a-z][a-z0-9-]*$/.test(match[2]!) || isArbitrary(match[2]!);
}

function isUtility(raw: string): boolean {
  let utility = raw;
  if (utility.startsWith('!')) utility = utility.slice(1);
  else if (utility.endsWith('!')) utility = utility.slice(0, -1);
  if (utility.length === 0) return false;
  // Arbitrary property: [mask-type:luminance].
  if (utility.startsWith('[') && utility.endsWith(']')) {
    return isArbitrary(utility) && /^\[[a-z-]+:[^:]/.test(utility);
  }
  const negative = utility.startsWith('-');
  if (negative) utility = utility.slice(1);
  if (!negative && STATIC_UTILITIES.has(utility)) return true;
  // Try every split point from the longest prefix, since prefixes contain dashes.
  for (
    let index = utility.lastIndexOf('-');
    index > 0;
    index = utility.lastIndexOf('-', index - 1)
  ) {
    const prefix = utility.slice(0, index);
    const prefixRule = PREFIXES.get(prefix);
    if (prefixRule === undefined) continue;
    if (negative && !prefixRule.negative) continue;
    if (matchesValue(prefixRule, utility.slice(index + 1))) return true;
  }
  return false;
}

function matchesValue(prefixRule: PrefixRule, rawValue: string): boolean {
  if (rawValue.length === 0) return false;
  let value = rawValue;
  if (prefixRule.modifier) {
    const parts = splitTopLevel(rawValue, '/');
    if (parts === undefined || parts.length > 2) return false;
    if (parts.length === 2) {
      const modifier = parts[1]!;
      if (!(NUMBER.test(modifier) || isArbitrary(modifier) || KEYWORDS.leading!.includes(modifier)))
        return false;
      value = parts[0]!;
    }
  }
  for (const family of prefixRule.families) {
    if (matchesFamily(family, value)) return true;
  }
  return false;
}

function matchesFamily(family: Family, value: string): boolean {
  switch (family) {
    case 'number':
      return NUMBER.test(value);
    case 'integer':
      return INTEGER.test(value);
    case 'fraction':
      return FRACTION.test(value);
    case 'percent':
      return PERCENT.test(value);
    case 'spacing':
      return NUMBER.test(value) || value === 'px';
    case 'color':
      return isColor(value);
    case 'arbitrary':
      return isArbitrary(value);
    default:
      return KEYWORDS[family.slice('keywords:'.length)]?.includes(value) ?? false;
  }
}

function isColor(value: string): boolean {
  if (SPECIAL_COLORS.has(value)) return true;
  const dash = value.lastIndexOf('-');
  if (dash <= 0) return false;
  return COLORS.has(value.slice(0, dash)) && SHADES.has(value.slice(dash + 1));
}
