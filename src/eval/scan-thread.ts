// Entry of a worker thread of a parallel eval run (src/eval/parallel.ts): scans chunks until
// none is left. The CLI bundle starts it as is; under tsx, scan-thread.js loads it.
import { runScanThread } from './parallel.ts';

await runScanThread();
