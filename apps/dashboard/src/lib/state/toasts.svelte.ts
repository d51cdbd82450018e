export type ToastTone = 'error' | 'success' | 'info' | 'warning';

export interface Toast {
  id: number;
  tone: ToastTone;
  title: string;
  message?: string;
  /** A line saying what to do about it. */
  remedy?: string;
  /** A link to the command or page with the details. */
  href?: string;
  hrefLabel?: string;
}

/** Short-lived notices. Errors stay until dismissed: a person must be able to read the reason. */
export class Toasts {
  items = $state<Toast[]>([]);
  #next = 1;
  readonly #timers = new Map<number, ReturnType<typeof setTimeout>>();

  push(t: Omit<Toast, 'id'>, timeoutMs = t.tone === 'error' ? 0 : 5000): number {
    const id = this.#next++;
    this.items = [...this.items.slice(-5), { ...t, id }];
    if (timeoutMs > 0) this.#timers.set(id, setTimeout(() => this.dismiss(id), timeoutMs));
    return id;
  }

  dismiss(id: number): void {
    clearTimeout(this.#timers.get(id));
    this.#timers.delete(id);
    this.items = this.items.filter((t) => t.id !== id);
  }
}
