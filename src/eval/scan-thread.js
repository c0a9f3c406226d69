// Entry of the worker threads of a parallel eval run when genloop runs from its TypeScript
// sources (tsx, vitest): a worker thread starts without the main thread's loader, so it
// registers tsx itself before loading the scanner. The CLI bundle (bin/load-cli.js) starts
// scan-thread.ts's bundled form instead.
import { register } from 'tsx/esm/api';

register();
await import('./scan-thread.ts');
