import type { Environments } from '../contract.ts';
import { ADMIN } from './api.ts';
import type { Choice } from './components/fields.ts';
import { useResource } from './use-resource.ts';

/**
 * The environments that have provider configs, and the server's own (the default of every
 * environment selector). While they load, the page's own choice is offered alone.
 */
export function useEnvironments(chosen: string | null): { value: string; choices: Choice[] } {
  const { data } = useResource<Environments>(`${ADMIN}/environments`);
  const value = chosen ?? data?.current ?? '';
  const names = new Set(data?.environments.map((entry) => entry.environment) ?? []);
  if (data) names.add(data.current);
  if (value) names.add(value);
  const choices = [...names].sort().map((name) => ({
    value: name,
    label: name === data?.current ? `${name} (this server)` : name,
  }));
  if (choices.length === 0) choices.push({ value: '', label: 'Loading…' });
  return { value, choices };
}
