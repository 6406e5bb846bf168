/**
 * Small helpers of the status page for building elements: always with textContent, never HTML,
 * so names and event values from the PBX are shown as text. Numbers and times: format.ts.
 */

export interface ElOptions {
  readonly className?: string;
  readonly text?: string;
  readonly title?: string;
  readonly attrs?: Readonly<Record<string, string>>;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, options: ElOptions = {}, ...children: Node[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (options.className !== undefined) node.className = options.className;
  if (options.text !== undefined) node.textContent = options.text;
  if (options.title !== undefined) node.title = options.title;
  for (const [name, value] of Object.entries(options.attrs ?? {})) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

/** The element with this id; a missing one is a bug in status.html. */
export function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`status.html has no #${id}`);
  return node as T;
}

/** Sets text only when it changed (no needless repaints every refresh). */
export function setText(node: Node, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}
