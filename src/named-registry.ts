/**
 * A registry of modules by name, looked up without case, refusing a second module of a name:
 * what the output formats (src/formats.ts) and the input formats (src/inputs.ts) are kept in.
 */
export class NamedRegistry<T extends { readonly name: string }> {
  private readonly items = new Map<string, T>();

  /** `duplicate` makes the error thrown for a name registered twice. */
  constructor(private readonly duplicate: (name: string) => Error) {}

  register(item: T): this {
    const key = item.name.toLowerCase();
    if (this.items.has(key)) throw this.duplicate(item.name);
    this.items.set(key, item);
    return this;
  }

  get(name: string): T | undefined {
    return this.items.get(name.toLowerCase());
  }

  /** The names, in the order they were registered. */
  names(): string[] {
    return [...this.items.values()].map((i) => i.name);
  }
}
