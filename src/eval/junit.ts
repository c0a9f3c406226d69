import type { EvalReport } from './report.ts';

/**
 * The report as JUnit XML for CI test views: one test case per gate (a failure when the gate
 * failed, skipped when the run is inconclusive) and one for the sample count; the metrics are
 * suite properties.
 */
export function junitXml(report: EvalReport): string {
  const inconclusive = report.status === 'inconclusive';
  const cases: string[] = [];
  const sampleCase = `    <testcase classname="genloop.eval.${report.schema_variant}" name="sample_count &gt;= ${report.min_samples}" time="0">`;
  cases.push(
    inconclusive
      ? `${sampleCase}\n      <skipped message="${xml(report.note ?? '')}"/>\n    </testcase>`
      : `${sampleCase}</testcase>`,
  );
  for (const gate of report.gates) {
    const head = `    <testcase classname="genloop.eval.${report.schema_variant}" name="${xml(gate.name)}" time="0">`;
    const detail = `${gate.metric} = ${gate.value ?? 'null'} (${gate.kind} ${gate.threshold})`;
    if (gate.passed)
      cases.push(`${head}\n      <system-out>${xml(detail)}</system-out>\n    </testcase>`);
    else if (inconclusive)
      cases.push(
        `${head}\n      <skipped message="${xml(`${gate.reason}; not enforced: ${report.note}`)}"/>\n    </testcase>`,
      );
    else
      cases.push(
        `${head}\n      <failure message="${xml(gate.reason ?? 'failed')}" type="gate">${xml(detail)}</failure>\n    </testcase>`,
      );
  }
  const failures = inconclusive ? 0 : report.gates.filter((gate) => !gate.passed).length;
  const skipped = inconclusive ? 1 + report.gates.filter((gate) => !gate.passed).length : 0;
  const properties = Object.entries(report.metrics)
    .map(([name, value]) => `      <property name="${xml(name)}" value="${value ?? 'null'}"/>`)
    .join('\n');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="genloop eval" tests="${cases.length}" failures="${failures}" skipped="${skipped}">`,
    `  <testsuite name="genloop eval ${xml(report.schema_variant)}" tests="${cases.length}" failures="${failures}" skipped="${skipped}" errors="0" timestamp="${xml(report.finished_at)}">`,
    '    <properties>',
    properties,
    `      <property name="sample_count" value="${report.sample_count}"/>`,
    `      <property name="status" value="${report.status}"/>`,
    '    </properties>',
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

/** Escapes text for XML attributes and content; drops characters XML 1.0 cannot hold. */
export function xml(text: string): string {
  return (
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters XML 1.0 forbids.
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
      .replaceAll('&', '&amp;')
      .replaceAll('<', '&lt;')
      .replaceAll('>', '&gt;')
      .replaceAll('"', '&quot;')
      .replaceAll("'", '&apos;')
  );
}
