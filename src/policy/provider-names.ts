/**
 * Provider names a policy may use without a config (CONTRACT §6: without `--config`, a provider's name is its
 * only description): the platforms whose claim shapes the broker knows. Any other name without a config is a
 * typo until a config says otherwise.
 */
export const WELL_KNOWN_PROVIDER_NAMES: readonly string[] = [
  "github",
  "gitlab",
  "google",
  "gcp",
  "terraform",
  "kubernetes",
  "azure",
];
