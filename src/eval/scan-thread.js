// Entry of the worker threads of a parallel eval run (src/eval/parallel.ts). genloop's sources
// are TypeScript loaded through tsx, and a worker thread starts without the main thread's loader,
// so it registers tsx itself before loading the scanner.
import { register } from 'tsx/esm/api';

register();
const { runScanThread } = await import('./parallel.ts');
await runScanThread();
