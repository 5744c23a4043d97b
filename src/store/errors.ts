// The store's error: every failure of the evidence store reaches callers as a StoreError with the reason.
import { SvdeError } from '../model/errors.ts';

export class StoreError extends SvdeError {
  readonly code = 'STORE';
  override name = 'StoreError';
}
