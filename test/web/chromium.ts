import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { testChromiumPath } from "../helpers/test-services.ts";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A fresh profile in its own temp dir (the test's screenshots go there too). */
export async function launchChromium(): Promise<{ context: BrowserContext; dir: string }> {
  // Debian's Chromium (scripts/test.sh installs it; WIF_TEST_CHROMIUM names another).
  const executablePath = testChromiumPath();
  const dir = mkdtempSync(join(tmpdir(), "wif-chromium-"));
  const context = await chromium.launchPersistentContext(join(dir, "profile"), {
    executablePath,
    args: ARGS,
    headless: true,
    timeout: 60_000,
  });
  return { context, dir };
}
