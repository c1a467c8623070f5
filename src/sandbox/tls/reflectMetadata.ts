/**
 * @peculiar/x509 resolves its algorithm providers through tsyringe, which refuses to load unless a
 * `Reflect.getMetadata` polyfill is present (normally the `reflect-metadata` package, which is not a
 * dependency of this project). tsyringe only calls getMetadata/getOwnMetadata/defineMetadata, and
 * @peculiar/x509 registers its providers by token, so this minimal WeakMap store is enough.
 * Replace with `import "reflect-metadata"` if that package is ever added.
 */
type MetadataStore = WeakMap<object, Map<string | symbol | undefined, Map<unknown, unknown>>>;

interface ReflectWithMetadata {
  getMetadata?: (key: unknown, target: object, property?: string | symbol) => unknown;
  getOwnMetadata?: (key: unknown, target: object, property?: string | symbol) => unknown;
  defineMetadata?: (key: unknown, value: unknown, target: object, property?: string | symbol) => void;
}

const reflect = Reflect as unknown as ReflectWithMetadata;

if (typeof reflect.getMetadata !== "function") {
  const store: MetadataStore = new WeakMap();
  const own = (key: unknown, target: object, property?: string | symbol): unknown =>
    store.get(target)?.get(property)?.get(key);
  reflect.getOwnMetadata = own;
  reflect.getMetadata = (key, target, property) => {
    for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t) as object | null) {
      const value = own(key, t, property);
      if (value !== undefined) return value;
    }
    return undefined;
  };
  reflect.defineMetadata = (key, value, target, property) => {
    let byProperty = store.get(target);
    if (byProperty === undefined) store.set(target, (byProperty = new Map<string | symbol | undefined, Map<unknown, unknown>>()));
    let byKey = byProperty.get(property);
    if (byKey === undefined) byProperty.set(property, (byKey = new Map<unknown, unknown>()));
    byKey.set(key, value);
  };
}

export {};
