import { writeRecords } from './records.ts';

const [path, n, share] = process.argv.slice(2);
const t = performance.now();
console.log(
  await writeRecords(path!, {
    records: Number(n),
    outputShare: Number(share),
    sections: 3,
    unsafeShare: 0.02,
  }),
  performance.now() - t,
);
