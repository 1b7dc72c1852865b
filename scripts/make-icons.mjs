#!/usr/bin/env node
/**
 * Renders web/icon.svg to the PNG icons the web app manifest and iOS need
 * (192, 512, and 180 for apple-touch-icon), with Debian's chromium driven by
 * playwright-core. Run after changing the SVG: node scripts/make-icons.mjs
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..');
const svg = readFileSync(resolve(root, 'web/icon.svg'), 'utf8');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  for (const size of [192, 512, 180]) {
    const page = await browser.newPage({ viewport: { width: size, height: size } });
    // Maskable icons need the artwork inside the central 80 %: the full-bleed background covers the rest.
    await page.setContent(`<html><body style="margin:0;background:#c2410c">${svg.replace('<svg ', `<svg width="${size}" height="${size}" `)}</body></html>`);
    await page.screenshot({ path: resolve(root, `web/icon-${size}.png`), omitBackground: false });
    await page.close();
  }
} finally {
  await browser.close();
}
console.log('wrote web/icon-192.png, web/icon-512.png, web/icon-180.png');
