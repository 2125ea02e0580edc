import { ApiError } from './api-error.js';
import type { LoadedCatalog } from './serve-dependencies.js';

/** The loaded catalog, or 503 `NOT_APPLIED` before the first apply. */
export async function appliedCatalog(
  loadCatalog: () => Promise<LoadedCatalog | undefined>,
): Promise<LoadedCatalog> {
  const loaded = await loadCatalog();
  if (loaded === undefined) {
    throw new ApiError(
      503,
      'NOT_APPLIED',
      'no feature definitions have been applied to this project yet; run `fstore apply`, then retry',
    );
  }
  return loaded;
}
