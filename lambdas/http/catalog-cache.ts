import { FstoreError } from '../../lib/errors.js';
import type { Registry } from '../../lib/registry/registry.js';
import { repoFromRegistry } from '../../lib/registry/repo-from-registry.js';
import { servingCatalog, viewVersionHistories } from '../../lib/services/serving-catalog.js';
import type { LoadedCatalog } from './serve-dependencies.js';

/** The registry could not be read (or rebuilt) and no earlier catalog is cached to fall back on. */
export class RegistryUnavailableError extends FstoreError {
  override readonly name = 'RegistryUnavailableError';
}

export interface RegistryCatalogLoaderOptions {
  /**
   * How long a loaded catalog is served before the registry is read again, so a new `fstore apply` reaches
   * running servers within this time and without a redeploy.
   * @default 30_000
   */
  readonly refreshMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * Told about a reload that failed while a cached catalog kept being served.
   * @default console.warn
   */
  readonly onReloadError?: (error: unknown) => void;
}

/**
 * A `loadCatalog` for `ServeDependencies` that reads the registry's current revision at most once per
 * `refreshMs` and prepares it for serving only when the revision changed. Concurrent callers share one
 * reload. A failed reload keeps serving the cached catalog (and tries again after another `refreshMs`);
 * with nothing cached it fails with `RegistryUnavailableError` (503). Before the first apply it answers
 * undefined, also cached for `refreshMs`. With `changeLog`, a new revision also reads the change log once,
 * which numbers each view's versions (v0, v1, ...) for versioned references such as `view@v2:feature`.
 * @example
 * const loadCatalog = registryCatalogLoader(new Registry({ store, project: 'fraud' }), { refreshMs: 10_000 });
 */
export function registryCatalogLoader(
  registry: Pick<Registry, 'current'> & Partial<Pick<Registry, 'changeLog'>>,
  options: RegistryCatalogLoaderOptions = {},
): () => Promise<LoadedCatalog | undefined> {
  const refreshMs = options.refreshMs ?? 30_000;
  const now = options.now ?? Date.now;
  const onReloadError =
    options.onReloadError ??
    ((error: unknown) =>
      console.warn('[fstore serve] registry reload failed; serving the cached catalog:', error));
  let cached: { readonly loaded: LoadedCatalog | undefined; readonly loadedAt: number } | undefined;
  let reloading: Promise<LoadedCatalog | undefined> | undefined;

  const reload = async (): Promise<LoadedCatalog | undefined> => {
    const startedAt = now();
    try {
      const current = await registry.current();
      const previous = cached?.loaded;
      // Revisions are never rewritten: the same number means the same objects, so no rebuild.
      const loaded =
        current === undefined
          ? undefined
          : previous?.revision === current.revision
            ? previous
            : {
                catalog: servingCatalog(
                  repoFromRegistry(current.objects),
                  registry.changeLog ? viewVersionHistories(await registry.changeLog()) : undefined,
                ),
                objects: current.objects,
                revision: current.revision,
              };
      cached = { loaded, loadedAt: startedAt };
      return loaded;
    } catch (error) {
      const fallback = cached?.loaded;
      if (fallback === undefined) {
        throw new RegistryUnavailableError(
          'the feature registry could not be read, so the server has no definitions to answer with; retry shortly',
          { cause: error },
        );
      }
      onReloadError(error);
      cached = { loaded: fallback, loadedAt: startedAt };
      return fallback;
    }
  };

  return () => {
    if (cached !== undefined && now() - cached.loadedAt < refreshMs) return Promise.resolve(cached.loaded);
    reloading ??= reload().finally(() => {
      reloading = undefined;
    });
    return reloading;
  };
}
