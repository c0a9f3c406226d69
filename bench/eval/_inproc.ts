import { runEval } from '../../src/eval/run.ts';

const input = process.argv[2]!;
const t = performance.now();
const cpu = process.cpuUsage();
const report = await runEval({
  input,
  gates: {},
  minSamples: 30,
  runType: 'bench',
  triggeredBy: null,
  gitSha: null,
});
const used = process.cpuUsage(cpu);
console.log(
  report.sample_count,
  'wall',
  Math.round(performance.now() - t),
  'ms cpu',
  Math.round((used.user + used.system) / 1000),
  'ms',
  'maxrss',
  Math.round(process.resourceUsage().maxRSS / 1e3),
  'MB',
);
