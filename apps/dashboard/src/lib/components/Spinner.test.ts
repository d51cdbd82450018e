import { afterEach, expect, test } from 'vitest';
import { cleanup, render } from 'vitest-browser-svelte';
import CommandStatus from './commands/CommandStatus.svelte';
import StatusBadge from './infra/StatusBadge.svelte';
import Spinner from './Spinner.svelte';

afterEach(() => cleanup());

const spinners = () => [...document.querySelectorAll<HTMLElement>('.spinner')];

test('one spinner: hidden from assistive technology, sized as asked, turning', async () => {
  await render(Spinner, { size: 8 });
  const [s] = spinners();
  expect(s).toBeDefined();
  expect(s!.getAttribute('aria-hidden')).toBe('true');
  const css = getComputedStyle(s!);
  expect(css.width).toBe('8px');
  expect(css.height).toBe('8px');
  expect(css.animationName).not.toBe('none');
  expect(css.animationIterationCount).toBe('infinite');
});

test('the command chip and the guest badge show it while something is in progress, and only then', async () => {
  const chip = await render(CommandStatus, { status: 'running' });
  expect(spinners()).toHaveLength(1);
  await chip.rerender({ status: 'succeeded' });
  expect(spinners()).toHaveLength(0);
  cleanup();

  const guest = { status: 'running', qmpstatus: 'running', template: false } as const;
  const badge = await render(StatusBadge, { guest, pending: 'Stopping…' });
  expect(spinners()).toHaveLength(1);
  expect(getComputedStyle(spinners()[0]!).width).toBe('9px');
  await badge.rerender({ guest, pending: undefined });
  expect(spinners()).toHaveLength(0);
});
