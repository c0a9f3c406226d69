import { html } from '../html.ts';

export interface Choice {
  value: string;
  label: string;
}

/** A labelled drop-down; `onChange` gets the chosen value. */
export function SelectField({
  id,
  label,
  value,
  choices,
  onChange,
}: {
  id: string;
  label: string;
  value: string;
  choices: readonly Choice[];
  onChange: (value: string) => void;
}) {
  return html`
    <div class="field">
      <label for=${id}>${label}</label>
      <select
        id=${id}
        value=${value}
        onChange=${(event: Event) => onChange((event.currentTarget as HTMLSelectElement).value)}
      >
        ${choices.map((choice) => html`<option key=${choice.value} value=${choice.value}>${choice.label}</option>`)}
      </select>
    </div>
  `;
}

/** The choices of a filter: "any" first, then each value as it reads. */
export function anyOf(values: readonly string[], anyLabel = 'Any'): Choice[] {
  return [
    { value: '', label: anyLabel },
    ...values.map((value) => ({ value, label: value.replaceAll('_', ' ') })),
  ];
}
