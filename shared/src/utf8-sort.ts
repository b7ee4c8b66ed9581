/**
 * Sorting by the UTF-8 bytes of a string key (the order of tar entries and manifests: JS string
 * order differs for characters past U+FFFF). Each key is encoded once, not twice per comparison:
 * a layer or a workspace can have tens of thousands of paths.
 */
export function sortByUtf8<T>(items: T[], key: (item: T) => string): T[] {
  const keyed = items.map((item) => ({ item, bytes: Buffer.from(key(item)) }));
  keyed.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  return keyed.map((k) => k.item);
}
