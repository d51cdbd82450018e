import { afterEach, describe, expect, test } from 'vitest';
import { page } from 'vitest/browser';
import { cleanup, render } from 'vitest-browser-svelte';
import type { Tool } from '$lib/api/types';
import ToolForm from './ToolForm.svelte';

const tool: Tool = {
  name: 'start_container',
  description: 'Starts a container',
  inputSchema: {
    type: 'object',
    properties: {
      name: { type: 'string', description: 'Container name or id' },
      timeout: { type: 'integer', minimum: 1, default: 10 },
      force: { type: 'boolean', default: false },
      signal: { type: 'string', enum: ['SIGTERM', 'SIGKILL'] },
      env: { type: 'array', items: { type: 'string' } },
      limits: { type: 'object', properties: { cpus: { type: 'number' } } },
    },
    required: ['name'],
  },
};

afterEach(() => cleanup());

describe('schema-driven tool form', () => {
  test('renders a field per property, with required marks, descriptions and defaults', async () => {
    await render(ToolForm, { tool, onsubmit: () => {} });
    const name = page.getByRole('textbox', { name: 'Name' });
    await expect.element(name).toHaveAttribute('aria-required', 'true');
    await expect.element(name).toHaveAccessibleDescription('Container name or id');
    await expect.element(page.getByRole('textbox', { name: 'Timeout' })).toHaveValue('10');
    await expect.element(page.getByRole('checkbox', { name: 'Force' })).not.toBeChecked();
    await expect.element(page.getByRole('combobox', { name: 'Signal' })).toBeVisible();
    await expect.element(page.getByRole('group', { name: /Limits/ })).toBeVisible();
    await expect.element(page.getByRole('textbox', { name: 'Cpus' })).toBeVisible();
    await expect.element(page.getByRole('button', { name: 'Add env' })).toBeVisible();
  });

  test('submits typed arguments', async () => {
    const sent: unknown[] = [];
    await render(ToolForm, { tool, onsubmit: (a: unknown) => sent.push(a) });
    await page.getByRole('textbox', { name: 'Name' }).fill('web');
    await page.getByRole('combobox', { name: 'Signal' }).selectOptions('SIGKILL');
    await page.getByRole('checkbox', { name: 'Force' }).click();
    await page.getByRole('button', { name: 'Add env' }).click();
    await page.getByRole('textbox', { name: 'Env 1' }).fill('A=1');
    await page.getByRole('textbox', { name: 'Cpus' }).fill('1.5');
    await page.getByRole('button', { name: 'Call start_container' }).click();
    expect(sent).toEqual([{ name: 'web', timeout: 10, force: true, signal: 'SIGKILL', env: ['A=1'], limits: { cpus: 1.5 } }]);
  });

  test('a missing required field or a bad number is shown on the field, and nothing is sent', async () => {
    const sent: unknown[] = [];
    await render(ToolForm, { tool, onsubmit: (a: unknown) => sent.push(a) });
    await page.getByRole('textbox', { name: 'Timeout' }).fill('0');
    await page.getByRole('button', { name: 'Call start_container' }).click();
    expect(sent).toEqual([]);
    await expect.element(page.getByRole('textbox', { name: 'Name' })).toHaveAttribute('aria-invalid', 'true');
    await expect.element(page.getByRole('textbox', { name: 'Name' })).toHaveAccessibleDescription(/required/);
    await expect.element(page.getByRole('textbox', { name: 'Timeout' })).toHaveAccessibleDescription(/at least 1/);
  });

  test('the server’s 400 field errors appear on their fields', async () => {
    await render(ToolForm, { tool, onsubmit: () => {}, serverErrors: { name: 'no container named "web"', 'limits.cpus': 'must be <= 4' } });
    await expect.element(page.getByRole('textbox', { name: 'Name' })).toHaveAccessibleDescription(/no container named "web"/);
    await expect.element(page.getByRole('textbox', { name: 'Cpus' })).toHaveAttribute('aria-invalid', 'true');
  });

  test('a tool without arguments says so and can still be called', async () => {
    const sent: unknown[] = [];
    await render(ToolForm, { tool: { name: 'list_containers', description: '', inputSchema: { type: 'object', properties: {} } }, onsubmit: (a: unknown) => sent.push(a) });
    await expect.element(page.getByText('This tool takes no arguments.')).toBeVisible();
    await page.getByRole('button', { name: 'Call list_containers' }).click();
    expect(sent).toEqual([{}]);
  });
});
