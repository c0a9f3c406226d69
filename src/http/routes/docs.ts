import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';
import { PACKAGE_ROOT } from '../../lib/package-root.ts';

const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>genloop API reference</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="reference"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/init.js"></script>
</body>
</html>`;

const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#reference', deepLinking: true, persistAuthorization: true });`;

/**
 * The folder of the Swagger UI assets: swagger-ui-dist in a clone (a devDependency), else the
 * copy the package build puts in dist/swagger-ui. An installed package does not depend on
 * swagger-ui-dist because it pulls in @scarf/scarf, whose install script reports to scarf.sh.
 */
function assetsFolder(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  } catch {
    return join(PACKAGE_ROOT, 'dist', 'swagger-ui');
  }
}

/**
 * The API reference at `/docs`: Swagger UI over `/openapi.json`, served from files of the
 * package (no CDN, works offline).
 */
export function docsRoutes() {
  const root = assetsFolder();
  const cache = new Map<string, string>();
  const app = new Hono();
  const csp =
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'";
  app.get('/docs', (c) => c.html(PAGE, 200, { 'content-security-policy': csp }));
  app.get('/docs/assets/init.js', (c) =>
    c.body(INIT, 200, { 'content-type': 'text/javascript; charset=utf-8' }),
  );
  app.get('/docs/assets/:file', (c) => {
    const file = c.req.param('file');
    const type = ASSETS[file];
    if (type === undefined) return c.notFound();
    let body = cache.get(file);
    if (body === undefined) {
      body = readFileSync(join(root, file), 'utf8');
      cache.set(file, body);
    }
    return c.body(body, 200, { 'content-type': type, 'cache-control': 'public, max-age=86400' });
  });
  return app;
}
